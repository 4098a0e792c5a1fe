/**
 * A minimal pickle *writer* for the two pickle-based formats we write (torch.save's data.pkl,
 * protocol 2, and paddle.save's .pdparams, protocol 4). It emits exactly the opcodes CPython's
 * pickler emits for the same objects, memo and (protocol 4) framing included, so a file written
 * here is byte-identical to one Python writes when the object graph is the same.
 *
 * Values are described with a small vocabulary instead of being guessed from JS types:
 * - null -> None, boolean -> bool, number (integer) or bigint -> int, `pyFloat(x)` -> float,
 *   string -> str, Uint8Array -> bytes, a (readonly) array -> tuple, Map or `pyDict` -> dict;
 * - `pyGlobal(module, name)`: a class or function reference (memoized per qualified name, as
 *   Python memoizes the class object);
 * - `pyReduce(func, args, {state, dictItems})`: `func(*args)`, then `dictItems` set on it, then
 *   `__setstate__(state)` (what `__reduce__` returns);
 * - `pyPersistent(id)`: a persistent id (torch storages);
 * - `pyShared(key, value)`: one Python object that occurs several times (an interned string, a
 *   cached bytes object, a dtype singleton): pickled once and fetched from the memo afterwards.
 *   Everything else is a fresh object each time it appears, as it would be in Python.
 */

export class PyFloat {
  constructor(readonly value: number) {}
}

export class PyGlobalRef {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}
}

export class PyReduce {
  constructor(
    readonly func: PickleValue,
    readonly args: readonly PickleValue[],
    readonly state: PickleValue | undefined,
    readonly dictItems: Iterable<readonly [PickleValue, PickleValue]> | undefined,
  ) {}
}

export class PyPersistent {
  constructor(readonly id: PickleValue) {}
}

export class PyShared {
  constructor(
    readonly key: string,
    readonly value: PickleValue,
  ) {}
}

export class PyDict {
  constructor(readonly entries: Iterable<readonly [PickleValue, PickleValue]>) {}
}

export type PickleValue =
  | null | boolean | number | bigint | string | Uint8Array
  | readonly PickleValue[]
  | ReadonlyMap<PickleValue, PickleValue>
  | PyFloat | PyGlobalRef | PyReduce | PyPersistent | PyShared | PyDict;

export const pyFloat = (x: number): PyFloat => new PyFloat(x);
export const pyGlobal = (module: string, name: string): PyGlobalRef => new PyGlobalRef(module, name);
export const pyPersistent = (id: PickleValue): PyPersistent => new PyPersistent(id);
export const pyShared = (key: string, value: PickleValue): PyShared => new PyShared(key, value);
export const pyDict = (entries: Iterable<readonly [PickleValue, PickleValue]>): PyDict => new PyDict(entries);
export function pyReduce(
  func: PickleValue, args: readonly PickleValue[],
  options: { state?: PickleValue; dictItems?: Iterable<readonly [PickleValue, PickleValue]> } = {},
): PyReduce {
  return new PyReduce(func, args, options.state, options.dictItems);
}

/** Opcodes (pickletools names). */
const OP = {
  MARK: 0x28, STOP: 0x2e, NONE: 0x4e, NEWTRUE: 0x88, NEWFALSE: 0x89,
  BININT: 0x4a, BININT1: 0x4b, BININT2: 0x4d, LONG1: 0x8a, LONG4: 0x8b, BINFLOAT: 0x47,
  BINUNICODE: 0x58, SHORT_BINUNICODE: 0x8c, BINUNICODE8: 0x8d,
  SHORT_BINBYTES: 0x43, BINBYTES: 0x42, BINBYTES8: 0x8e,
  EMPTY_TUPLE: 0x29, TUPLE: 0x74, TUPLE1: 0x85, TUPLE2: 0x86, TUPLE3: 0x87,
  EMPTY_DICT: 0x7d, SETITEM: 0x73, SETITEMS: 0x75,
  GLOBAL: 0x63, STACK_GLOBAL: 0x93, REDUCE: 0x52, BUILD: 0x62, BINPERSID: 0x51,
  BINPUT: 0x71, LONG_BINPUT: 0x72, MEMOIZE: 0x94, BINGET: 0x68, LONG_BINGET: 0x6a,
  PROTO: 0x80, FRAME: 0x95,
} as const;

/** CPython's pickle: dict items are written in SETITEMS batches of this many. */
const BATCH_SIZE = 1000;
/** CPython's framer (protocol 4): a frame is closed once it reaches 64 KiB; bigger payloads bypass frames. */
const FRAME_SIZE_TARGET = 64 * 1024;
const FRAME_SIZE_MIN = 4;

const utf8 = new TextEncoder();

/** Bytes written in order; small writes are packed into blocks, big payloads kept by reference (no copy). */
class ByteSink {
  readonly parts: Uint8Array[] = [];
  private block = new Uint8Array(4096);
  private used = 0;
  length = 0;

  write(bytes: ArrayLike<number>): void {
    if (this.used + bytes.length > this.block.length) this.grow(bytes.length);
    this.block.set(bytes, this.used);
    this.used += bytes.length;
    this.length += bytes.length;
  }

  /** Appends `bytes` without copying them (the caller must not change them afterwards). */
  append(bytes: Uint8Array): void {
    this.seal();
    this.parts.push(bytes);
    this.length += bytes.length;
  }

  /** Everything written so far, as parts; the sink is left empty. */
  take(): Uint8Array[] {
    this.seal();
    const out = this.parts.splice(0);
    this.length = 0;
    return out;
  }

  private seal(): void {
    if (this.used > 0) this.parts.push(this.block.subarray(0, this.used));
    this.block = new Uint8Array(Math.max(4096, this.block.length));
    this.used = 0;
  }

  private grow(extra: number): void {
    if (this.used === 0 || extra > 1 << 20) {
      this.seal();
      if (extra > this.block.length) this.block = new Uint8Array(extra);
      return;
    }
    const bigger = new Uint8Array(Math.max(this.block.length * 2, this.used + extra));
    bigger.set(this.block.subarray(0, this.used));
    this.block = bigger;
  }
}

const le32 = (n: number): number[] => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
function le64(n: number): number[] {
  return [...le32(n % 2 ** 32), ...le32(Math.floor(n / 2 ** 32))];
}

export class PickleWriter {
  private readonly out = new ByteSink();
  /** The open frame (protocol 4), or undefined when not framing. */
  private frame: ByteSink | undefined;
  private memoSize = 0;
  private readonly shared = new Map<string, number>();

  constructor(readonly protocol: 2 | 4) {
    if (protocol !== 2 && protocol !== 4) throw new Error(`Only pickle protocols 2 and 4 are written; got ${protocol}.`);
    this.out.write([OP.PROTO, protocol]);
    if (protocol >= 4) this.frame = new ByteSink();
  }

  /** Pickles `value` as the root object, then STOP; returns the pickle as parts (see `concatParts`). */
  static dump(value: PickleValue, protocol: 2 | 4): Uint8Array[] {
    const w = new PickleWriter(protocol);
    w.save(value);
    return w.finish();
  }

  /** Pickles one value; returns the memo index of the object it made (undefined for None, bools, ints, floats). */
  save(v: PickleValue): number | undefined {
    this.opcodeBoundary();
    if (v === null) return this.write([OP.NONE]);
    if (typeof v === 'boolean') return this.write([v ? OP.NEWTRUE : OP.NEWFALSE]);
    if (typeof v === 'number') {
      if (!Number.isInteger(v)) throw new Error(`Cannot pickle ${v} as an int; wrap floats in pyFloat().`);
      return this.saveInt(v);
    }
    if (typeof v === 'bigint') return this.saveInt(v);
    if (typeof v === 'string') return this.saveStr(v);
    if (v instanceof Uint8Array) return this.saveBytes(v);
    if (v instanceof PyFloat) {
      const b = new DataView(new ArrayBuffer(8));
      b.setFloat64(0, v.value, false);
      return this.write([OP.BINFLOAT, ...new Uint8Array(b.buffer)]);
    }
    if (v instanceof PyShared) return this.once(v.key, () => this.save(v.value));
    // Python memoizes the class object itself, so a global is written once and fetched afterwards.
    if (v instanceof PyGlobalRef) return this.once(`global:${v.module}.${v.name}`, () => this.saveGlobal(v));
    if (v instanceof PyPersistent) {
      this.save(v.id);
      return this.write([OP.BINPERSID]);
    }
    if (v instanceof PyReduce) return this.saveReduce(v);
    if (v instanceof PyDict) return this.saveDict(v.entries);
    if (v instanceof Map) return this.saveDict(v.entries());
    if (Array.isArray(v)) return this.saveTuple(v);
    throw new Error(`Cannot pickle a ${(v as object).constructor?.name ?? typeof v}.`);
  }

  /** STOP, then the last frame; the pickle as parts, in order. */
  finish(): Uint8Array[] {
    this.write([OP.STOP]);
    this.commitFrame(true);
    this.frame = undefined;
    return this.out.take();
  }

  /** Writes into the open frame (or straight out); returns undefined so value-less saves can `return this.write(...)`. */
  private write(bytes: ArrayLike<number>): undefined {
    (this.frame ?? this.out).write(bytes);
    return undefined;
  }

  /** CPython's `save()` starts by closing the current frame once it has reached 64 KiB. */
  private opcodeBoundary(): void {
    if (this.frame && this.frame.length >= FRAME_SIZE_TARGET) this.commitFrame(false);
  }

  private commitFrame(force: boolean): void {
    const f = this.frame;
    if (!f || f.length === 0 || (!force && f.length < FRAME_SIZE_TARGET)) return;
    const n = f.length;
    if (n >= FRAME_SIZE_MIN) this.out.write([OP.FRAME, ...le64(n)]);
    for (const p of f.take()) this.out.append(p);
  }

  /** A payload of 64 KiB or more: the open frame is closed and the payload written outside any frame. */
  private writeLarge(header: number[], payload: Uint8Array): void {
    if (this.frame) this.commitFrame(true);
    this.out.write(header);
    this.out.append(payload);
  }

  private memoize(): number {
    const index = this.memoSize++;
    if (this.protocol >= 4) this.write([OP.MEMOIZE]);
    else if (index < 256) this.write([OP.BINPUT, index]);
    else this.write([OP.LONG_BINPUT, ...le32(index)]);
    return index;
  }

  private get(index: number): void {
    this.write(index < 256 ? [OP.BINGET, index] : [OP.LONG_BINGET, ...le32(index)]);
  }

  /** The object known as `key`: written by `emit` the first time, fetched from the memo afterwards. */
  private once(key: string, emit: () => number | undefined): number {
    const known = this.shared.get(key);
    if (known !== undefined) {
      this.get(known);
      return known;
    }
    const index = emit();
    if (index === undefined) {
      throw new Error(`Shared value '${key}' is not memoized by pickle (None, bools and ints never are); share only objects.`);
    }
    this.shared.set(key, index);
    return index;
  }

  private saveInt(n: number | bigint): undefined {
    if (typeof n === 'number' && n >= 0 && n < 256) return this.write([OP.BININT1, n]);
    if (typeof n === 'number' && n >= 0 && n < 65536) return this.write([OP.BININT2, n & 0xff, n >> 8]);
    if (n >= -(2 ** 31) && n < 2 ** 31) return this.write([OP.BININT, ...le32(Number(n) >>> 0)]);
    // LONG1: little-endian two's complement, as short as it can be.
    let v = BigInt(n);
    const bytes: number[] = [];
    for (;;) {
      bytes.push(Number(v & 0xffn));
      v >>= 8n;
      const sign = bytes[bytes.length - 1] & 0x80;
      if ((v === 0n && !sign) || (v === -1n && sign)) break;
    }
    if (bytes.length > 255) throw new Error('Integers over 255 bytes are not pickled here.');
    this.write([OP.LONG1, bytes.length, ...bytes]);
  }

  private saveStr(s: string): number {
    const b = utf8.encode(s);
    if (this.protocol >= 4 && b.length < 256) {
      this.write([OP.SHORT_BINUNICODE, b.length]);
      this.write(b);
    } else if (this.protocol >= 4 && b.length > 0xffffffff) {
      this.writeLarge([OP.BINUNICODE8, ...le64(b.length)], b);
    } else if (b.length >= FRAME_SIZE_TARGET) {
      this.writeLarge([OP.BINUNICODE, ...le32(b.length)], b);
    } else {
      this.write([OP.BINUNICODE, ...le32(b.length)]);
      this.write(b);
    }
    return this.memoize();
  }

  private saveBytes(b: Uint8Array): number {
    // Protocol 2 has no bytes opcodes (Python 3 writes _codecs.encode(str, 'latin1')); not needed here.
    if (this.protocol < 3) throw new Error('Pickle protocol 2 cannot hold bytes; write protocol 4.');
    if (b.length < 256) this.write([OP.SHORT_BINBYTES, b.length, ...b]);
    else if (b.length > 0xffffffff) this.writeLarge([OP.BINBYTES8, ...le64(b.length)], b);
    else if (b.length >= FRAME_SIZE_TARGET) this.writeLarge([OP.BINBYTES, ...le32(b.length)], b);
    else {
      this.write([OP.BINBYTES, ...le32(b.length)]);
      this.write(b);
    }
    return this.memoize();
  }

  private saveGlobal(g: PyGlobalRef): number {
    if (this.protocol >= 4) {
      // Module and name strings are the class's own attributes: the same objects every time.
      this.save(pyShared(`str:${g.module}`, g.module));
      this.save(pyShared(`str:${g.name}`, g.name));
      this.write([OP.STACK_GLOBAL]);
    } else {
      this.write([OP.GLOBAL, ...utf8.encode(`${g.module}\n${g.name}\n`)]);
    }
    return this.memoize();
  }

  private saveTuple(items: readonly PickleValue[]): number | undefined {
    if (items.length === 0) return this.write([OP.EMPTY_TUPLE]);
    if (items.length <= 3) {
      for (const x of items) this.save(x);
      this.write([[OP.TUPLE1, OP.TUPLE2, OP.TUPLE3][items.length - 1]]);
    } else {
      this.write([OP.MARK]);
      for (const x of items) this.save(x);
      this.write([OP.TUPLE]);
    }
    return this.memoize();
  }

  /**
   * An exact dict, as CPython's C pickler (`batch_dict_exact`) writes it: a dict of one item as
   * SETITEM, otherwise MARK ... SETITEMS per 1000 items, a last batch of one included.
   */
  private saveDict(entries: Iterable<readonly [PickleValue, PickleValue]>): number {
    this.write([OP.EMPTY_DICT]);
    const index = this.memoize();
    const items = [...entries];
    if (items.length === 1) this.setItems(items);
    else this.setItems(items, true);
    return index;
  }

  /**
   * Items set on an object (`__reduce__`'s dict items; CPython's `batch_dict`): MARK ... SETITEMS
   * per 1000, a lone last item as SETITEM unless `exact` (see saveDict).
   */
  private setItems(entries: Iterable<readonly [PickleValue, PickleValue]>, exact = false): void {
    let batch: (readonly [PickleValue, PickleValue])[] = [];
    const flush = (): void => {
      if (batch.length === 1 && !exact) {
        this.save(batch[0][0]);
        this.save(batch[0][1]);
        this.write([OP.SETITEM]);
      } else if (batch.length > 0) {
        this.write([OP.MARK]);
        for (const [k, v] of batch) {
          this.save(k);
          this.save(v);
        }
        this.write([OP.SETITEMS]);
      }
      batch = [];
    };
    for (const e of entries) {
      batch.push(e);
      if (batch.length === BATCH_SIZE) flush();
    }
    flush();
  }

  private saveReduce(r: PyReduce): number {
    this.save(r.func);
    this.save(r.args);
    this.write([OP.REDUCE]);
    const index = this.memoize();
    if (r.dictItems) this.setItems(r.dictItems);
    if (r.state !== undefined) {
      this.save(r.state);
      this.write([OP.BUILD]);
    }
    return index;
  }
}

/** The parts as one array (one copy). */
export function concatParts(parts: readonly Uint8Array[]): Uint8Array {
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
