import { FormatError } from '../errors';
import { BinaryReader, latin1, utf8 } from './binaryReader';

/**
 * One pickle interpreter (protocols 0-5 as torch.save, paddle.save and np.save write them) for every
 * format that embeds one. It only *interprets*: opcodes build inert JS values and nothing from the
 * file is ever executed. A global (class or function reference) is resolved through an allow-list
 * the caller passes in; each handler builds a plain value from its arguments. A global that is not
 * on the list is refused by name before anything else happens to it.
 *
 * Values: None -> null, bool -> boolean, int -> number (bigint beyond 2^53), float -> number,
 * str -> string, bytes -> Uint8Array (a view into the pickle bytes, never a copy), list -> array,
 * tuple -> frozen array, dict -> Map, set -> Set, anything else -> what a handler returned.
 */

/** What a handler gets besides the arguments: where it was called from, and a way to fail there. */
export interface PickleContext {
  readonly file: string;
  /** File offset of the opcode being executed. */
  readonly offset: number;
  fail(detail: string): never;
}

/**
 * Builds a value for `global(*args)` (REDUCE) or `global.__new__(global, *args)` (NEWOBJ).
 * Globals that only appear as values (a storage class passed as an argument) still need an entry,
 * typically `valueOnly`.
 */
export type GlobalHandler = (args: readonly unknown[], ctx: PickleContext) => unknown;

export type AllowList = ReadonlyMap<string, GlobalHandler>;

/** Objects that accept BUILD (`__setstate__`) implement this method. */
export const SETSTATE = Symbol('pickle.setstate');
export interface Buildable {
  [SETSTATE](state: unknown, ctx: PickleContext): void;
}

/** A reference to an allowed global, as it sits on the stack before it is called. */
export class PyGlobal {
  constructor(
    readonly qualifiedName: string,
    readonly handler: GlobalHandler,
  ) {}
}

/** An inert stand-in for an allowed plain-data class (argparse.Namespace, ...): args and state kept. */
export class PyObject implements Buildable {
  state: unknown = undefined;
  constructor(
    readonly className: string,
    readonly args: readonly unknown[],
  ) {}
  [SETSTATE](state: unknown): void {
    this.state = state;
  }
}

/** Handler for a global that may be referenced but never called. */
export function valueOnly(name: string): GlobalHandler {
  return (_args, ctx) => ctx.fail(`The pickle calls '${name}', which is only expected as an argument, not as a function.`);
}

/** Handler that records the call as an inert PyObject. */
export function inertObject(name: string): GlobalHandler {
  return (args) => new PyObject(name, args);
}

export interface PickleOptions {
  readonly file: string;
  /** File offset of bytes[0], so errors inside a zip entry or after an npy header report file offsets. */
  readonly base?: number;
  readonly globals: AllowList;
  /** What the allow-list is for, in the refusal message ("PyTorch checkpoints"). */
  readonly purpose: string;
  /** A sentence appended to the refusal, saying what the user can do about it. */
  readonly refusalHint?: string;
  /** Resolves BINPERSID / PERSID ids (torch storages). Without it, persistent ids are an error. */
  readonly persistentLoad?: (pid: unknown, ctx: PickleContext) => unknown;
}

/** Result of interpreting one pickle: the root value and where the STOP opcode ended. */
export interface PickleResult {
  readonly value: unknown;
  /** Offset just past STOP, relative to the bytes given. */
  readonly end: number;
}

/** LONG4 integers this long are not numbers a checkpoint holds (and BigInts stop at 2^30 bits). */
const MAX_LONG_BYTES = 1 << 16;
/** Python's limit on decimal digits in int() (3.11+), which pickle's text INT and LONG go through. */
const MAX_INT_DIGITS = 4300;
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export function unpickle(bytes: Uint8Array, options: PickleOptions): unknown {
  return new Unpickler(bytes, options).run().value;
}

export function unpickleWithEnd(bytes: Uint8Array, options: PickleOptions): PickleResult {
  return new Unpickler(bytes, options).run();
}

/** True when `head` starts with a protocol 2+ pickle PROTO opcode. */
export function looksLikePickle(head: Uint8Array): boolean {
  return head.length >= 2 && head[0] === 0x80 && head[1] >= 2 && head[1] <= 5;
}

class Unpickler {
  private readonly r: BinaryReader;
  private readonly stack: unknown[] = [];
  /** Stack lengths at each MARK; items above the top mark belong to the innermost MARK. */
  private readonly marks: number[] = [];
  private readonly memo = new Map<number, unknown>();
  private opOffset = 0;
  private readonly ctx: PickleContext;

  constructor(
    bytes: Uint8Array,
    private readonly options: PickleOptions,
  ) {
    this.r = new BinaryReader(bytes, options.file, options.base ?? 0);
    const self = this;
    this.ctx = {
      file: options.file,
      get offset() {
        return self.r.base + self.opOffset;
      },
      fail: (detail: string) => this.fail(detail),
    };
  }

  private fail(detail: string): never {
    throw new FormatError(this.options.file, detail, this.r.base + this.opOffset);
  }

  private get floor(): number {
    return this.marks.length > 0 ? this.marks[this.marks.length - 1] : 0;
  }

  private push(v: unknown): void {
    this.stack.push(v);
  }

  private pop(): unknown {
    if (this.stack.length <= this.floor) this.fail('Pickle stack underflow: an opcode needs a value but the stack (above the last MARK) is empty.');
    return this.stack.pop();
  }

  private top(): unknown {
    if (this.stack.length <= this.floor) this.fail('Pickle stack underflow: an opcode needs a value on the stack but it is empty.');
    return this.stack[this.stack.length - 1];
  }

  /** Pops everything above the innermost MARK, and the MARK. */
  private popMark(): unknown[] {
    const mark = this.marks.pop();
    if (mark === undefined) this.fail('Pickle opcode needs a MARK but none is on the stack.');
    return this.stack.splice(mark);
  }

  private memoGet(index: number): unknown {
    if (!this.memo.has(index)) this.fail(`Pickle memo index ${index} is read before anything was stored there.`);
    return this.memo.get(index);
  }

  private memoPut(index: number): void {
    this.memo.set(index, this.top());
  }

  private int(v: bigint): number | bigint {
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  }

  /** Two's complement little-endian integer of LONG1/LONG4. */
  private long(bytes: Uint8Array): number | bigint {
    if (bytes.length === 0) return 0;
    if (bytes.length <= 6) {
      let v = 0;
      for (let i = bytes.length - 1; i >= 0; i--) v = v * 256 + bytes[i];
      if (bytes[bytes.length - 1] & 0x80) v -= 2 ** (8 * bytes.length);
      return v;
    }
    // One hex parse, linear in the length (shifting a BigInt byte by byte is quadratic).
    let hex = '';
    for (let i = bytes.length - 1; i >= 0; i--) hex += HEX[bytes[i]];
    let v = BigInt(`0x${hex}`);
    if (bytes[bytes.length - 1] & 0x80) v -= 1n << BigInt(8 * bytes.length);
    return this.int(v);
  }

  /** A length field checked against what is left, so a forged length fails here, not in read(). */
  private length(n: number, what: string): number {
    if (n > this.r.remaining) {
      this.fail(`Pickle ${what} declares ${n} bytes but only ${this.r.remaining} remain. The data might be truncated or corrupted.`);
    }
    return n;
  }

  private textLine(): string {
    return latin1.decode(this.r.readUntil(0x0a));
  }

  private global(module: string, name: string): PyGlobal {
    const qualified = `${module}.${name}`;
    const handler = this.options.globals.get(qualified);
    if (!handler) {
      this.fail(
        `DLA Lens refuses to load global '${qualified}': it is not on the allow-list for ${this.options.purpose}. ` +
          `Nothing in the file was executed; only plain tensors, arrays and containers can be read.` +
          (this.options.refusalHint ? ` ${this.options.refusalHint}` : ''),
      );
    }
    return new PyGlobal(qualified, handler);
  }

  private call(callable: unknown, args: unknown, how: string): unknown {
    if (!(callable instanceof PyGlobal)) this.fail(`Pickle ${how} expects a global to call but found ${describe(callable)}.`);
    if (!Array.isArray(args)) this.fail(`Pickle ${how} of '${callable.qualifiedName}' expects an argument tuple but found ${describe(args)}.`);
    return callable.handler(args, this.ctx);
  }

  private setItems(target: unknown, items: unknown[]): void {
    if (!(target instanceof Map)) this.fail(`Pickle SETITEM(S) expects a dict but found ${describe(target)}.`);
    if (items.length % 2 !== 0) this.fail(`Pickle SETITEMS expects key/value pairs but found an odd count (${items.length}).`);
    for (let i = 0; i < items.length; i += 2) target.set(items[i], items[i + 1]);
  }

  private append(target: unknown, items: unknown[]): void {
    if (!Array.isArray(target) || Object.isFrozen(target)) this.fail(`Pickle APPEND(S) expects a list but found ${describe(target)}.`);
    for (const item of items) target.push(item);
  }

  private addItems(target: unknown, items: unknown[]): void {
    if (!(target instanceof Set)) this.fail(`Pickle ADDITEMS expects a set but found ${describe(target)}.`);
    for (const item of items) target.add(item);
  }

  private build(target: unknown, state: unknown): void {
    if (target !== null && typeof target === 'object' && SETSTATE in target) {
      (target as Buildable)[SETSTATE](state, this.ctx);
    } else if (target instanceof Map) {
      // OrderedDict carries attributes (torch's `_metadata`) as BUILD state; they are not tensors.
    } else {
      this.fail(`Pickle BUILD cannot set state on ${describe(target)}.`);
    }
  }

  private persistent(pid: unknown): unknown {
    if (!this.options.persistentLoad) this.fail('The pickle refers to external data (a persistent id), which this format does not use.');
    return this.options.persistentLoad(pid, this.ctx);
  }

  /** Each opcode consumes at least one byte, so the loop ends within bytes.length iterations. */
  run(): PickleResult {
    const r = this.r;
    while (r.remaining > 0) {
      this.opOffset = r.position;
      const op = r.u8();
      switch (op) {
        case 0x80: { // PROTO
          const proto = r.u8();
          if (proto > 5) this.fail(`Pickle protocol ${proto} is newer than the highest known (5).`);
          break;
        }
        case 0x95: // FRAME: a length hint for buffered readers; the opcodes inside are read as usual.
          this.length(r.u64(), 'FRAME');
          break;
        case 0x2e: { // STOP
          const value = this.pop();
          return { value, end: r.position };
        }
        case 0x28: this.marks.push(this.stack.length); break; // MARK
        case 0x30: this.pop(); break; // POP
        case 0x31: this.popMark(); break; // POP_MARK
        case 0x32: this.push(this.top()); break; // DUP
        case 0x4e: this.push(null); break; // NONE
        case 0x88: this.push(true); break; // NEWTRUE
        case 0x89: this.push(false); break; // NEWFALSE
        case 0x4a: this.push(r.i32()); break; // BININT
        case 0x4b: this.push(r.u8()); break; // BININT1
        case 0x4d: this.push(r.u16()); break; // BININT2
        case 0x8a: this.push(this.long(r.read(r.u8()))); break; // LONG1
        case 0x8b: { // LONG4
          const n = r.i32();
          if (n < 0) this.fail(`Pickle LONG4 has a negative length ${n}.`);
          if (n > MAX_LONG_BYTES) this.fail(`Pickle LONG4 holds a ${n}-byte integer; integers in a checkpoint are never beyond ${MAX_LONG_BYTES} bytes.`);
          this.push(this.long(r.read(this.length(n, 'LONG4'))));
          break;
        }
        case 0x47: this.push(r.f64be()); break; // BINFLOAT
        case 0x49: this.push(this.textInt(this.textLine())); break; // INT
        case 0x4c: this.push(this.textInt(this.textLine().replace(/L$/, ''))); break; // LONG
        case 0x46: { // FLOAT
          const line = this.textLine();
          const v = Number(line);
          if (line.trim() === '' || Number.isNaN(v) && !/nan/i.test(line)) this.fail(`Pickle FLOAT holds '${line}', which is not a number.`);
          this.push(v);
          break;
        }
        case 0x58: this.push(utf8.decode(r.read(this.length(r.u32(), 'BINUNICODE')))); break;
        case 0x8c: this.push(utf8.decode(r.read(r.u8()))); break; // SHORT_BINUNICODE
        case 0x8d: this.push(utf8.decode(r.read(this.length(r.u64(), 'BINUNICODE8')))); break;
        // Python 2 str: text or binary alike; kept as a latin1 string (one char per byte), as
        // Python 3 does with encoding='latin1'. Consumers that need bytes convert back.
        case 0x55: this.push(latin1.decode(r.read(r.u8()))); break; // SHORT_BINSTRING
        case 0x54: { // BINSTRING
          const n = r.i32();
          if (n < 0) this.fail(`Pickle BINSTRING has a negative length ${n}.`);
          this.push(latin1.decode(r.read(this.length(n, 'BINSTRING'))));
          break;
        }
        case 0x43: this.push(r.read(r.u8())); break; // SHORT_BINBYTES
        case 0x42: this.push(r.read(this.length(r.u32(), 'BINBYTES'))); break;
        case 0x8e: this.push(r.read(this.length(r.u64(), 'BINBYTES8'))); break;
        case 0x96: this.push(r.read(this.length(r.u64(), 'BYTEARRAY8'))); break;
        case 0x7d: this.push(new Map()); break; // EMPTY_DICT
        case 0x5d: this.push([]); break; // EMPTY_LIST
        case 0x29: this.push(Object.freeze([])); break; // EMPTY_TUPLE
        case 0x8f: this.push(new Set()); break; // EMPTY_SET
        case 0x85: this.push(Object.freeze([this.pop()])); break; // TUPLE1
        case 0x86: { // TUPLE2
          const b = this.pop();
          const a = this.pop();
          this.push(Object.freeze([a, b]));
          break;
        }
        case 0x87: { // TUPLE3
          const c = this.pop();
          const b = this.pop();
          const a = this.pop();
          this.push(Object.freeze([a, b, c]));
          break;
        }
        case 0x74: this.push(Object.freeze(this.popMark())); break; // TUPLE
        case 0x6c: this.push(this.popMark()); break; // LIST
        case 0x91: this.push(new Set(this.popMark())); break; // FROZENSET
        case 0x64: { // DICT
          const d = new Map();
          this.setItems(d, this.popMark());
          this.push(d);
          break;
        }
        case 0x61: { // APPEND
          const v = this.pop();
          this.append(this.top(), [v]);
          break;
        }
        case 0x65: { // APPENDS
          const items = this.popMark();
          this.append(this.top(), items);
          break;
        }
        case 0x73: { // SETITEM
          const v = this.pop();
          const k = this.pop();
          this.setItems(this.top(), [k, v]);
          break;
        }
        case 0x75: { // SETITEMS
          const items = this.popMark();
          this.setItems(this.top(), items);
          break;
        }
        case 0x90: { // ADDITEMS
          const items = this.popMark();
          this.addItems(this.top(), items);
          break;
        }
        case 0x63: { // GLOBAL
          const module = this.textLine();
          const name = this.textLine();
          this.push(this.global(module, name));
          break;
        }
        case 0x93: { // STACK_GLOBAL
          const name = this.pop();
          const module = this.pop();
          if (typeof module !== 'string' || typeof name !== 'string') {
            this.fail(`Pickle STACK_GLOBAL expects two strings but found ${describe(module)} and ${describe(name)}.`);
          }
          this.push(this.global(module, name));
          break;
        }
        case 0x52: { // REDUCE
          const args = this.pop();
          const callable = this.pop();
          this.push(this.call(callable, args, 'REDUCE'));
          break;
        }
        case 0x81: { // NEWOBJ
          const args = this.pop();
          const cls = this.pop();
          this.push(this.call(cls, args, 'NEWOBJ'));
          break;
        }
        case 0x92: { // NEWOBJ_EX
          const kwargs = this.pop();
          const args = this.pop();
          const cls = this.pop();
          if (!(kwargs instanceof Map) || kwargs.size > 0) this.fail('Pickle NEWOBJ_EX with keyword arguments is not supported.');
          this.push(this.call(cls, args, 'NEWOBJ_EX'));
          break;
        }
        case 0x62: { // BUILD
          const state = this.pop();
          this.build(this.top(), state);
          break;
        }
        case 0x51: this.push(this.persistent(this.pop())); break; // BINPERSID
        case 0x50: this.push(this.persistent(this.textLine())); break; // PERSID
        case 0x71: this.memoPut(r.u8()); break; // BINPUT
        case 0x72: this.memoPut(r.u32()); break; // LONG_BINPUT
        case 0x70: this.memoPut(this.textIndex(this.textLine())); break; // PUT
        case 0x94: this.memoPut(this.memo.size); break; // MEMOIZE
        case 0x68: this.push(this.memoGet(r.u8())); break; // BINGET
        case 0x6a: this.push(this.memoGet(r.u32())); break; // LONG_BINGET
        case 0x67: this.push(this.memoGet(this.textIndex(this.textLine()))); break; // GET
        case 0x82: case 0x83: case 0x84:
          this.fail(`Pickle opcode EXT (0x${op.toString(16)}) refers to the copyreg extension registry, which is not supported.`);
          break;
        case 0x97: case 0x98:
          this.fail('Pickle protocol 5 out-of-band buffers (NEXT_BUFFER/READONLY_BUFFER) are not supported.');
          break;
        default:
          this.fail(`Unknown or unsupported pickle opcode 0x${op.toString(16).padStart(2, '0')}.`);
      }
    }
    this.opOffset = r.position;
    return this.fail('The pickle ends without a STOP opcode. The data might be truncated.');
  }

  private textInt(line: string): number | bigint | boolean {
    // Protocol 0 spells booleans as INT 01 / 00.
    if (line === '01') return true;
    if (line === '00') return false;
    // Python itself refuses to convert longer digit strings (sys.int_info.default_max_str_digits);
    // the parse of a huge one would be quadratic.
    if (line.length > MAX_INT_DIGITS) this.fail(`Pickle INT/LONG holds ${line.length} digits; Python reads at most ${MAX_INT_DIGITS}.`);
    if (!/^[+-]?\d+$/.test(line)) this.fail(`Pickle INT/LONG holds '${line}', which is not an integer.`);
    return this.int(BigInt(line));
  }

  private textIndex(line: string): number {
    if (!/^\d+$/.test(line)) this.fail(`Pickle memo index '${line}' is not a non-negative integer.`);
    return Number(line);
  }
}

/** A number as text; a huge integer by its size (its decimal digits take quadratic time to print). */
export function numberText(v: number | bigint): string {
  if (typeof v === 'bigint' && (v > 2n ** 256n || v < -(2n ** 256n))) return `with ${v.toString(16).replace('-', '').length * 4} bits`;
  return String(v);
}

/** A short description of a pickle value for error messages. */
export function describe(v: unknown): string {
  if (v === null) return 'None';
  if (v === undefined) return 'nothing';
  if (typeof v === 'string') return `the string '${v.length > 40 ? v.slice(0, 40) + '...' : v}'`;
  if (typeof v === 'number' || typeof v === 'bigint') return `the number ${numberText(v)}`;
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (v instanceof Uint8Array) return `${v.length} bytes`;
  if (Array.isArray(v)) return Object.isFrozen(v) ? `a ${v.length}-tuple` : `a list of ${v.length}`;
  if (v instanceof Map) return `a dict of ${v.size}`;
  if (v instanceof Set) return `a set of ${v.size}`;
  if (v instanceof PyGlobal) return `the global '${v.qualifiedName}'`;
  if (v instanceof PyObject) return `a '${v.className}' object`;
  if (typeof v === 'object' && 'dtype' in v && 'shape' in v) return 'a tensor';
  return `a ${(v as object).constructor?.name ?? 'value'}`;
}

/**
 * A dict key as text for messages and metadata: strings and scalars as they are, anything else
 * described. Never String() of a pickled value: a tuple key made of memo references to itself,
 * ten wide and forty deep, is a few hundred bytes of pickle and 10^40 characters of text.
 */
export function keyText(k: unknown): string {
  if (typeof k === 'string') return k.length > 200 ? `${k.slice(0, 200)}...` : k;
  if (typeof k === 'number' || typeof k === 'bigint') return numberText(k);
  return describe(k);
}

/** Python truthiness-free helpers for handlers: checked accessors that fail with a sentence. */
export function expectInt(v: unknown, what: string, ctx: PickleContext): number {
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  return ctx.fail(`Expected ${what} to be an integer but found ${describe(v)}.`);
}

export function expectIntTuple(v: unknown, what: string, ctx: PickleContext): number[] {
  if (!Array.isArray(v)) ctx.fail(`Expected ${what} to be a tuple of integers but found ${describe(v)}.`);
  return v.map((x, i) => expectInt(x, `${what}[${i}]`, ctx));
}

export function expectString(v: unknown, what: string, ctx: PickleContext): string {
  if (typeof v === 'string') return v;
  return ctx.fail(`Expected ${what} to be a string but found ${describe(v)}.`);
}

/** Bytes from BINBYTES (Uint8Array) or a Python 2 / latin1 str (one char per byte). */
export function expectBytes(v: unknown, what: string, ctx: PickleContext): Uint8Array {
  if (v instanceof Uint8Array) return v;
  if (typeof v === 'string') return latin1Bytes(v, what, ctx);
  return ctx.fail(`Expected ${what} to be bytes but found ${describe(v)}.`);
}

export function latin1Bytes(s: string, what: string, ctx: PickleContext): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff) ctx.fail(`Expected ${what} to hold latin1 text (one byte per character) but found character U+${c.toString(16)}.`);
    out[i] = c;
  }
  return out;
}
