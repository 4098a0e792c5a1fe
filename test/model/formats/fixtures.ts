/**
 * Hand-built fixtures for the format tests: a tiny pickle writer (opcode by opcode, so tests can
 * write exactly the bytes torch.save / paddle.save would, or hostile ones), and builders for torch
 * zip checkpoints and numpy-array pickles.
 */
import * as os from 'os';
import * as path from 'path';
import { writeStoredZip } from '../../../src/model/formats/write/zipWriter';

const enc = new TextEncoder();

export class PickleWriter {
  private readonly out: number[] = [];

  raw(...bytes: number[]): this {
    this.out.push(...bytes);
    return this;
  }

  private u32(n: number): this {
    return this.raw(n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff);
  }

  private u64(n: number): this {
    return this.u32(n % 2 ** 32).u32(Math.floor(n / 2 ** 32));
  }

  /** Bytes appended as they are (any length; `raw` spreads its arguments onto the call stack). */
  rawBytes(b: Uint8Array): this {
    return this.bytesOf(b);
  }

  private bytesOf(b: Uint8Array): this {
    for (const x of b) this.out.push(x);
    return this;
  }

  proto(n = 2): this {
    return this.raw(0x80, n);
  }

  frame(length: number): this {
    return this.raw(0x95).u64(length);
  }

  mark(): this {
    return this.raw(0x28);
  }

  stop(): this {
    return this.raw(0x2e);
  }

  none(): this {
    return this.raw(0x4e);
  }

  bool(v: boolean): this {
    return this.raw(v ? 0x88 : 0x89);
  }

  /** BININT1 / BININT2 / BININT / LONG1 by range, as pickle does. */
  int(n: number | bigint): this {
    if (typeof n === 'number' && Number.isInteger(n) && n >= 0 && n < 256) return this.raw(0x4b, n);
    if (typeof n === 'number' && Number.isInteger(n) && n >= 0 && n < 65536) return this.raw(0x4d, n & 0xff, n >> 8);
    if (typeof n === 'number' && n >= -(2 ** 31) && n < 2 ** 31) return this.raw(0x4a).u32(n >>> 0);
    let v = BigInt(n);
    const bytes: number[] = [];
    for (;;) {
      bytes.push(Number(v & 0xffn));
      v >>= 8n;
      const sign = bytes[bytes.length - 1] & 0x80;
      if ((v === 0n && !sign) || (v === -1n && sign)) break;
    }
    return this.raw(0x8a, bytes.length, ...bytes);
  }

  float(f: number): this {
    const b = new DataView(new ArrayBuffer(8));
    b.setFloat64(0, f, false);
    return this.raw(0x47, ...new Uint8Array(b.buffer));
  }

  /** BINUNICODE (protocol 2 style). */
  str(s: string): this {
    const b = enc.encode(s);
    return this.raw(0x58).u32(b.length).bytesOf(b);
  }

  /** SHORT_BINUNICODE (protocol 4 style). */
  shortStr(s: string): this {
    const b = enc.encode(s);
    return this.raw(0x8c, b.length).bytesOf(b);
  }

  /** BINBYTES, or BINBYTES8 when `long`. */
  bytes(b: Uint8Array, long = false): this {
    return long ? this.raw(0x8e).u64(b.length).bytesOf(b) : this.raw(0x42).u32(b.length).bytesOf(b);
  }

  /** SHORT_BINSTRING: a Python 2 str. */
  binstring(s: string): this {
    return this.raw(0x55, s.length, ...[...s].map((c) => c.charCodeAt(0)));
  }

  global(module: string, name: string): this {
    return this.raw(0x63).bytesOf(enc.encode(`${module}\n${name}\n`));
  }

  stackGlobal(module: string, name: string): this {
    return this.shortStr(module).shortStr(name).raw(0x93);
  }

  emptyDict(): this {
    return this.raw(0x7d);
  }

  emptyList(): this {
    return this.raw(0x5d);
  }

  emptyTuple(): this {
    return this.raw(0x29);
  }

  /** TUPLE (after a MARK) when n is omitted, else TUPLE1..3. */
  tuple(n?: 1 | 2 | 3): this {
    return this.raw(n === undefined ? 0x74 : 0x84 + n);
  }

  setitem(): this {
    return this.raw(0x73);
  }

  setitems(): this {
    return this.raw(0x75);
  }

  append(): this {
    return this.raw(0x61);
  }

  appends(): this {
    return this.raw(0x65);
  }

  reduce(): this {
    return this.raw(0x52);
  }

  build(): this {
    return this.raw(0x62);
  }

  newobj(): this {
    return this.raw(0x81);
  }

  binpersid(): this {
    return this.raw(0x51);
  }

  binput(i: number): this {
    return this.raw(0x71, i);
  }

  binget(i: number): this {
    return this.raw(0x68, i);
  }

  memoize(): this {
    return this.raw(0x94);
  }

  /** A tuple of ints (MARK ... TUPLE). */
  intTuple(values: readonly number[]): this {
    this.mark();
    for (const v of values) this.int(v);
    return this.tuple();
  }

  get length(): number {
    return this.out.length;
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.out);
  }
}

/** A tensor as torch.save pickles it: `_rebuild_tensor_v2(persistent storage, offset, size, stride, False, OrderedDict())`. */
export interface TensorRef {
  storageType: string; // 'FloatStorage', 'LongStorage', ...
  storageKey: string;
  storageNumel: number;
  offset?: number;
  size: readonly number[];
  stride?: readonly number[];
  /** Wrap in torch._utils._rebuild_parameter, as nn.Parameter pickles. */
  parameter?: boolean;
  /**
   * Legacy torch.save's sixth persistent-id item: undefined writes the zip format's five items,
   * null writes None (what torch >= 1.0 writes), a triple writes old torch's storage view (key, offset, size).
   */
  view?: null | readonly [string, number, number];
}

function contiguousStride(size: readonly number[]): number[] {
  const stride = new Array<number>(size.length);
  let s = 1;
  for (let i = size.length - 1; i >= 0; i--) {
    stride[i] = s;
    s *= size[i];
  }
  return stride;
}

export function writeTensor(w: PickleWriter, t: TensorRef): PickleWriter {
  if (t.parameter) w.global('torch._utils', '_rebuild_parameter').mark();
  w.global('torch._utils', '_rebuild_tensor_v2').mark();
  w.mark().str('storage').global('torch', t.storageType).str(t.storageKey).str('cpu').int(t.storageNumel);
  if (t.view === null) w.none();
  else if (t.view) w.str(t.view[0]).int(t.view[1]).int(t.view[2]).tuple(3);
  w.tuple().binpersid();
  w.int(t.offset ?? 0).intTuple(t.size).intTuple(t.stride ?? contiguousStride(t.size)).bool(false);
  w.global('collections', 'OrderedDict').emptyTuple().reduce();
  w.tuple().reduce();
  if (t.parameter) w.bool(true).global('collections', 'OrderedDict').emptyTuple().reduce().tuple().reduce();
  return w;
}

/** An OrderedDict of name -> tensor, the way torch.save(model.state_dict()) writes it. */
export function writeStateDict(w: PickleWriter, tensors: readonly (readonly [string, TensorRef])[]): PickleWriter {
  w.global('collections', 'OrderedDict').emptyTuple().reduce().mark();
  for (const [name, t] of tensors) writeTensor(w.str(name), t);
  return w.setitems();
}

/** A torch.save zip: `<prefix>/data.pkl`, `<prefix>/data/<key>` per storage, `<prefix>/version`. */
export function torchZip(prefix: string, pickle: Uint8Array, storages: Iterable<readonly [string, Uint8Array]> = []): Uint8Array {
  const files: [string, Uint8Array][] = [[`${prefix}/data.pkl`, pickle]];
  for (const [key, bytes] of storages) files.push([`${prefix}/data/${key}`, bytes]);
  files.push([`${prefix}/version`, enc.encode('3\n')]);
  return writeStoredZip(files);
}

export function bytesOf(a: ArrayBufferView): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** A numpy array as numpy 1.x pickles it: `_reconstruct(ndarray, (0,), b'b')` + BUILD (1, shape, dtype, False, data). */
export function writeNumpyArray(w: PickleWriter, typeString: string, shape: readonly number[], data: Uint8Array, protocol2Bytes = false): PickleWriter {
  w.global('numpy.core.multiarray', '_reconstruct').global('numpy', 'ndarray').int(0).tuple(1);
  if (protocol2Bytes) w.global('_codecs', 'encode').str('b').str('latin1').tuple(2).reduce();
  else w.bytes(Uint8Array.of(0x62));
  w.tuple(3).reduce();
  w.mark().int(1).intTuple(shape);
  w.global('numpy', 'dtype').str(typeString).bool(false).bool(true).tuple(3).reduce();
  w.mark().int(3).str('<').none().none().none().int(-1).int(-1).int(0).tuple().build();
  w.bool(false);
  if (protocol2Bytes) w.global('_codecs', 'encode').str(String.fromCharCode(...data)).str('latin1').tuple(2).reduce();
  else w.bytes(data);
  return w.tuple().build();
}

/** A path under the OS temp folder that a hostile pickle would create if anything ran it. */
export function sentinelPath(name: string): string {
  return path.join(os.tmpdir(), `dla-lens-pwned-${name}-${process.pid}`);
}

/** torch's legacy sys_info pickle, as torch 1.13 writes it (struct's standard sizes). */
export function sysInfoPickle(info: { littleEndian?: boolean | null; short?: number; int?: number; long?: number } = {}): Uint8Array {
  const w = new PickleWriter().proto(2).emptyDict().mark();
  w.str('protocol_version').int(1001);
  if (info.littleEndian !== null) w.str('little_endian').bool(info.littleEndian ?? true);
  w.str('type_sizes').emptyDict().mark().str('short').int(info.short ?? 2).str('int').int(info.int ?? 4).str('long').int(info.long ?? 4).setitems();
  return w.setitems().stop().finish();
}

export interface LegacyStorage {
  readonly key: string;
  readonly bytes: Uint8Array;
  /** The element count written before the bytes (the declared numel unless a test lies). */
  readonly count: number | bigint;
}

/**
 * A legacy torch.save file (torch/serialization.py `_legacy_save`): magic number, protocol version
 * and sys_info pickles, the main pickle, the pickled key list, then each storage as an int64
 * element count and its raw bytes.
 */
export function legacyTorchFile(
  main: Uint8Array,
  storages: readonly LegacyStorage[],
  opts: { keys?: readonly string[]; sysInfo?: Uint8Array; magic?: bigint; version?: number } = {},
): Uint8Array {
  const parts: Uint8Array[] = [
    new PickleWriter().proto(2).int(opts.magic ?? 0x1950a86a20f9469cfc6cn).stop().finish(),
    new PickleWriter().proto(2).int(opts.version ?? 1001).stop().finish(),
    opts.sysInfo ?? sysInfoPickle(),
    main,
  ];
  const keys = new PickleWriter().proto(2).emptyList().mark();
  for (const k of opts.keys ?? storages.map((s) => s.key)) keys.str(k);
  parts.push(keys.appends().stop().finish());
  for (const s of storages) {
    const count = new Uint8Array(8);
    new DataView(count.buffer).setBigInt64(0, BigInt(s.count), true);
    parts.push(count, s.bytes);
  }
  return Uint8Array.from(Buffer.concat(parts));
}
