import * as zlib from 'zlib';
import type { DType, Tensor } from '../tensor';
import { DTYPE_BYTES, numel } from '../tensor';

/**
 * Writes an uncompressed .npz (what `np.savez` writes): a stored zip of `<key>.npy` v1.0 entries that
 * `np.load` reads. Each array's data starts on a 64-byte boundary of the file (the local header is
 * padded with an extra field, the npy header to a multiple of 64) so reading the file back gives
 * typed-array views, not copies.
 */

const NPY_DESCR: Record<DType, string | undefined> = {
  float16: '<f2', float32: '<f4', float64: '<f8',
  int8: '|i1', uint8: '|u1', int16: '<i2', int32: '<i4', int64: '<i8', bool: '|b1',
  bfloat16: undefined, // numpy has no bfloat16
};

const ALIGN = 64;
const LOCAL_HEADER_SIZE = 30;
const CENTRAL_HEADER_SIZE = 46;
const EOCD_SIZE = 22;
/** A private extra-field id for the alignment padding; readers skip extra fields they do not know. */
const PADDING_EXTRA_ID = 0xd1a0;
const UTF8_NAMES = 0x0800;
/** 1980-01-01 00:00, the zip epoch: a fixed timestamp keeps the output byte-for-byte reproducible. */
const DOS_DATE = (0 << 9) | (1 << 5) | 1;

/** The .npy v1.0 header for a tensor, padded with spaces so header + magic is a multiple of 64. */
export function npyHeader(t: Tensor): Uint8Array {
  const descr = NPY_DESCR[t.dtype];
  if (!descr) throw new Error(`Cannot write a ${t.dtype} tensor to .npy: numpy has no ${t.dtype} dtype. Convert it to float32 first.`);
  const shape = t.shape.length === 1 ? `(${t.shape[0]},)` : `(${t.shape.join(', ')})`;
  let dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  const preamble = 10; // magic (6) + version (2) + u16 header length
  const total = Math.ceil((preamble + dict.length + 1) / ALIGN) * ALIGN;
  dict = dict.padEnd(total - preamble - 1, ' ') + '\n';
  if (dict.length > 0xffff) throw new Error(`The .npy header for shape ${shape} is too long for format 1.0.`);
  const out = new Uint8Array(total);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, dict.length & 0xff, dict.length >> 8]);
  for (let i = 0; i < dict.length; i++) out[preamble + i] = dict.charCodeAt(i);
  return out;
}

interface Pending {
  name: Uint8Array;
  parts: readonly Uint8Array[];
  size: number;
  crc: number;
  localOffset: number;
  padding: number;
}

export function writeNpz(entries: Iterable<[string, Tensor]>): Uint8Array {
  const files: [string, Uint8Array[]][] = [];
  for (const [key, t] of entries) {
    if (t.data.length !== numel(t.shape)) {
      throw new Error(`Tensor '${key}' has shape [${t.shape.join(', ')}] but ${t.data.length} values.`);
    }
    const data = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.length * DTYPE_BYTES[t.dtype]);
    files.push([`${key}.npy`, [npyHeader(t), data]]);
  }
  return writeStoredZip(files);
}

/**
 * A stored (uncompressed) zip of the given files, each given as one or more byte parts written back
 * to back (so an npy header and its array need no concatenation). Each file's data starts on a
 * 64-byte boundary.
 */
export function writeStoredZip(files: Iterable<readonly [string, Uint8Array | readonly Uint8Array[]]>): Uint8Array {
  const pending: Pending[] = [];
  let offset = 0;
  for (const [fileName, content] of files) {
    const parts = content instanceof Uint8Array ? [content] : content;
    const name = new TextEncoder().encode(fileName);
    const size = parts.reduce((n, p) => n + p.length, 0);
    const fixed = offset + LOCAL_HEADER_SIZE + name.length + 4;
    const padding = (ALIGN - (fixed % ALIGN)) % ALIGN;
    const crc = parts.reduce((c, p) => crc32(p, c), 0);
    pending.push({ name, parts, size, crc, localOffset: offset, padding });
    offset = fixed + padding + size;
  }
  const centralOffset = offset;
  const centralSize = pending.reduce((n, p) => n + CENTRAL_HEADER_SIZE + p.name.length, 0);
  const total = centralOffset + centralSize + EOCD_SIZE;
  if (total > 0xffffffff || pending.length > 0xffff) {
    throw new Error(`The zip would be ${total} bytes with ${pending.length} entries; writing zip64 archives is not supported.`);
  }
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  for (const p of pending) {
    let at = p.localOffset;
    view.setUint32(at, 0x04034b50, true);
    view.setUint16(at + 4, 20, true);
    view.setUint16(at + 6, UTF8_NAMES, true);
    view.setUint16(at + 8, 0, true); // stored
    view.setUint16(at + 10, 0, true);
    view.setUint16(at + 12, DOS_DATE, true);
    view.setUint32(at + 14, p.crc, true);
    view.setUint32(at + 18, p.size, true);
    view.setUint32(at + 22, p.size, true);
    view.setUint16(at + 26, p.name.length, true);
    view.setUint16(at + 28, 4 + p.padding, true);
    out.set(p.name, at + LOCAL_HEADER_SIZE);
    at += LOCAL_HEADER_SIZE + p.name.length;
    view.setUint16(at, PADDING_EXTRA_ID, true);
    view.setUint16(at + 2, p.padding, true);
    at += 4 + p.padding;
    for (const part of p.parts) {
      out.set(part, at);
      at += part.length;
    }
  }
  let at = centralOffset;
  for (const p of pending) {
    view.setUint32(at, 0x02014b50, true);
    view.setUint16(at + 4, 20, true);
    view.setUint16(at + 6, 20, true);
    view.setUint16(at + 8, UTF8_NAMES, true);
    view.setUint16(at + 10, 0, true);
    view.setUint16(at + 12, 0, true);
    view.setUint16(at + 14, DOS_DATE, true);
    view.setUint32(at + 16, p.crc, true);
    view.setUint32(at + 20, p.size, true);
    view.setUint32(at + 24, p.size, true);
    view.setUint16(at + 28, p.name.length, true);
    // extra, comment, disk, internal attributes, external attributes: all zero
    view.setUint32(at + 42, p.localOffset, true);
    out.set(p.name, at + CENTRAL_HEADER_SIZE);
    at += CENTRAL_HEADER_SIZE + p.name.length;
  }
  view.setUint32(at, 0x06054b50, true);
  view.setUint16(at + 8, pending.length, true);
  view.setUint16(at + 10, pending.length, true);
  view.setUint32(at + 12, centralSize, true);
  view.setUint32(at + 16, centralOffset, true);
  return out;
}

let crcTable: Uint32Array | undefined;

/** CRC-32 (zip's polynomial). zlib.crc32 exists from Node 20.15; older Node 20 uses the table. */
export function crc32(bytes: Uint8Array, previous = 0): number {
  if (bytes.length === 0) return previous >>> 0; // zlib.crc32 answers 0 here instead of `previous`
  if (typeof zlib.crc32 === 'function') return zlib.crc32(bytes, previous) >>> 0;
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = ~previous >>> 0;
  for (let i = 0; i < bytes.length; i++) c = crcTable[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}
