import { FormatError } from '../errors';

/**
 * A bounds-checked little-endian cursor over bytes. Every read checks the remaining length first,
 * so a truncated or corrupted file fails with the offset instead of reading past the end.
 * `base` is the absolute file offset of bytes[0], so errors inside a zip entry report file offsets.
 */
export class BinaryReader {
  private readonly view: DataView;
  position = 0;

  constructor(
    readonly bytes: Uint8Array,
    readonly file: string,
    readonly base = 0,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get length(): number {
    return this.bytes.length;
  }

  get remaining(): number {
    return this.bytes.length - this.position;
  }

  fail(detail: string, at = this.position): never {
    throw new FormatError(this.file, detail, this.base + at);
  }

  ensure(n: number): void {
    if (n < 0 || this.position + n > this.bytes.length) {
      this.fail(`Expected ${n} more bytes but only ${this.remaining} remain. The file might be truncated or corrupted.`);
    }
  }

  seek(position: number): void {
    if (position < 0 || position > this.bytes.length) {
      this.fail(`Offset ${position} is outside the ${this.bytes.length}-byte data. The file might be corrupted.`);
    }
    this.position = position;
  }

  skip(n: number): void {
    this.ensure(n);
    this.position += n;
  }

  u8(): number {
    this.ensure(1);
    return this.bytes[this.position++];
  }

  u16(): number {
    this.ensure(2);
    const v = this.view.getUint16(this.position, true);
    this.position += 2;
    return v;
  }

  i32(): number {
    this.ensure(4);
    const v = this.view.getInt32(this.position, true);
    this.position += 4;
    return v;
  }

  u32(): number {
    this.ensure(4);
    const v = this.view.getUint32(this.position, true);
    this.position += 4;
    return v;
  }

  /** A u64 as a JS number; values beyond 2^53 cannot be real sizes here and are refused. */
  u64(): number {
    this.ensure(8);
    const v = this.view.getBigUint64(this.position, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(`A 64-bit size field holds ${v}, larger than any real file.`);
    this.position += 8;
    return Number(v);
  }

  i64(): bigint {
    this.ensure(8);
    const v = this.view.getBigInt64(this.position, true);
    this.position += 8;
    return v;
  }

  f64be(): number {
    this.ensure(8);
    const v = this.view.getFloat64(this.position, false);
    this.position += 8;
    return v;
  }

  /** A subarray view (no copy). */
  read(n: number): Uint8Array {
    this.ensure(n);
    const v = this.bytes.subarray(this.position, this.position + n);
    this.position += n;
    return v;
  }

  /** Bytes up to (not including) the next `byte`, which is consumed. */
  readUntil(byte: number): Uint8Array {
    const end = this.bytes.indexOf(byte, this.position);
    if (end < 0) this.fail(`Expected a terminating byte 0x${byte.toString(16)} before the end of the data.`);
    const v = this.bytes.subarray(this.position, end);
    this.position = end + 1;
    return v;
  }
}

export const utf8 = new TextDecoder('utf-8', { fatal: false });
export const latin1 = new TextDecoder('latin1');
