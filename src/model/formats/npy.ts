import * as path from 'path';
import { FormatError } from '../errors';
import { DTYPE_BYTES, numel, typedView, type Checkpoint, type Tensor } from '../tensor';
import { BinaryReader, latin1, utf8 } from './binaryReader';
import { NumpyArray, dtypeFromDescr, numpyGlobals, numpyToTensor } from './numpyPickle';
import { describe, unpickleWithEnd } from './pickle';
import type { FormatReader } from './reader';

/**
 * numpy's .npy: magic `\x93NUMPY`, version (1.0, 2.0 or 3.0), a little-endian header length (u16 for
 * 1.0, u32 after), then a Python dict literal `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}`
 * and the raw C-order data. A `'|O'` descr means the data is a pickle (reprod_log's dict dump).
 */

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];
/** numpy itself refuses headers above 10 KB unless told otherwise; anything far larger is corrupt. */
const MAX_HEADER = 1 << 20;

export interface NpyHeader {
  readonly descr: string;
  readonly fortranOrder: boolean;
  readonly shape: number[];
  /** Offset of the data, relative to the bytes given. */
  readonly dataOffset: number;
}

export function looksLikeNpy(head: Uint8Array): boolean {
  return head.length >= 8 && MAGIC.every((b, i) => head[i] === b);
}

/** Parse the magic, version and header dict. `base` is the file offset of bytes[0] (inside an npz). */
export function readNpyHeader(bytes: Uint8Array, file: string, base = 0, key?: string): NpyHeader {
  const r = new BinaryReader(bytes, file, base);
  const fail: (detail: string, at: number) => never = (detail, at) => {
    throw new FormatError(file, detail, base + at, key);
  };
  if (!looksLikeNpy(bytes)) fail('Expected the .npy magic \\x93NUMPY at the start but found other bytes.', 0);
  r.skip(6);
  const major = r.u8();
  const minor = r.u8();
  if (major < 1 || major > 3 || minor !== 0) fail(`Unsupported .npy format version ${major}.${minor}; expected 1.0, 2.0 or 3.0.`, 6);
  const headerLength = major === 1 ? r.u16() : r.u32();
  if (headerLength > MAX_HEADER || headerLength > r.remaining) {
    fail(`The .npy header declares ${headerLength} bytes but only ${r.remaining} follow.`, major === 1 ? 8 : 8);
  }
  const headerStart = r.position;
  const text = (major === 3 ? utf8 : latin1).decode(r.read(headerLength));
  const dict = new LiteralParser(text, (detail, at) => fail(`The .npy header is not a valid Python literal: ${detail}`, headerStart + at)).parseWhole();
  if (!(dict instanceof Map)) fail(`Expected the .npy header to be a dict but found ${describe(dict)}.`, headerStart);
  const descr = dict.get('descr');
  const fortran = dict.get('fortran_order');
  const shape = dict.get('shape');
  if (typeof descr !== 'string') {
    fail(`Expected 'descr' in the .npy header to be a type string such as '<f4' but found ${describe(descr)}.`, headerStart);
  }
  if (typeof fortran !== 'boolean') fail(`Expected 'fortran_order' in the .npy header to be True or False but found ${describe(fortran)}.`, headerStart);
  if (!Array.isArray(shape) || !shape.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0)) {
    fail(`Expected 'shape' in the .npy header to be a tuple of non-negative integers but found ${describe(shape)}.`, headerStart);
  }
  return { descr, fortranOrder: fortran, shape: shape as number[], dataOffset: r.position };
}

/** A plain numeric .npy (or an npz entry) as a Tensor viewing `bytes` (copied only if misaligned). */
export function readNpy(bytes: Uint8Array, file: string, base = 0, key?: string): Tensor {
  const h = readNpyHeader(bytes, file, base, key);
  const fail: (detail: string) => never = (detail) => {
    throw new FormatError(file, detail, base + h.dataOffset, key);
  };
  if (h.descr === '|O' || h.descr === 'O') {
    fail("The .npy holds pickled Python objects (descr '|O'), not a numeric array; read it as a reprod_log dict instead.");
  }
  const dtype = dtypeFromDescr(h.descr);
  if (typeof dtype !== 'string') fail(`Cannot read the array: ${dtype.reason}.`);
  if (h.fortranOrder) {
    fail('The array is stored in Fortran order (fortran_order: True), which is not supported; re-save it with np.ascontiguousarray.');
  }
  const count = numel(h.shape);
  const expected = count * DTYPE_BYTES[dtype];
  const found = bytes.length - h.dataOffset;
  if (found !== expected) {
    fail(`Array of shape [${h.shape.join(', ')}] and dtype ${dtype} needs ${expected} bytes of data after the header but ${found} are present.`);
  }
  return { dtype, shape: h.shape, data: typedView(dtype, bytes, h.dataOffset, count) };
}

/**
 * reprod_log's dump: `np.save(path, dict)` writes a 0-d object array whose single element is a dict
 * of name -> ndarray, pickled (protocol 3) after an `'|O'` header.
 */
export function readReprodNpy(bytes: Uint8Array, file: string): Map<string, Tensor> {
  const h = readNpyHeader(bytes, file);
  if (h.descr !== '|O' && h.descr !== 'O') {
    throw new FormatError(file, `Expected a pickled object array (descr '|O') but found descr '${h.descr}'.`, h.dataOffset);
  }
  const pickled = bytes.subarray(h.dataOffset);
  const { value } = unpickleWithEnd(pickled, {
    file,
    base: h.dataOffset,
    globals: numpyGlobals(),
    purpose: 'a numpy .npy object array',
  });
  const fail: (detail: string) => never = (detail) => {
    throw new FormatError(file, detail, h.dataOffset);
  };
  if (!(value instanceof NumpyArray) || !value.objects) fail(`Expected the pickle to hold a numpy object array but found ${describe(value)}.`);
  const array = value as NumpyArray;
  if (array.objects!.length !== 1) fail(`Expected a 0-d object array holding one dict but found ${array.objects!.length} items.`);
  const dict = array.objects![0];
  if (!(dict instanceof Map)) fail(`Expected the object array to hold a dict of arrays but found ${describe(dict)}.`);
  const tensors = new Map<string, Tensor>();
  for (const [k, v] of dict as Map<unknown, unknown>) {
    if (typeof k !== 'string') fail(`Expected string keys in the reprod_log dict but found ${describe(k)}.`);
    if (!(v instanceof NumpyArray)) {
      throw new FormatError(file, `Expected a numpy array but found ${describe(v)}.`, h.dataOffset, k as string);
    }
    tensors.set(k as string, numpyToTensor(v, file, k as string));
  }
  return tensors;
}

export const npyReader: FormatReader = {
  id: 'npy',
  extensions: ['.npy'],
  match: (head) => looksLikeNpy(head),
  read(bytes: Uint8Array, file: string): Checkpoint {
    const h = readNpyHeader(bytes, file);
    if (h.descr === '|O' || h.descr === 'O') {
      return { file, format: 'reprod-npy', tensors: readReprodNpy(bytes, file), metadata: { layout: 'reprod_log dict' } };
    }
    // A single array has no name of its own; the file stem is the one a user recognises.
    const key = path.basename(file).replace(/\.npy$/i, '');
    return { file, format: 'npy', tensors: new Map([[key, readNpy(bytes, file)]]), metadata: {} };
  },
};

/**
 * The subset of Python literal syntax numpy writes in .npy headers: dicts, tuples, lists, quoted
 * strings, integers, True/False/None. Recursion is capped so a header of '(((...' cannot overflow.
 */
class LiteralParser {
  private i = 0;
  private depth = 0;

  constructor(
    private readonly s: string,
    private readonly fail: (detail: string, at: number) => never,
  ) {}

  parseWhole(): unknown {
    const v = this.value();
    this.ws();
    if (this.i < this.s.length) this.fail(`unexpected '${this.s[this.i]}' after the dict.`, this.i);
    return v;
  }

  private ws(): void {
    while (this.i < this.s.length && /\s/.test(this.s[this.i])) this.i++;
  }

  private value(): unknown {
    this.ws();
    if (this.i >= this.s.length) this.fail('the text ends where a value was expected.', this.i);
    const c = this.s[this.i];
    if (c === '{' || c === '(' || c === '[') {
      if (++this.depth > 16) this.fail('it is nested more than 16 levels deep.', this.i);
      const v = c === '{' ? this.dict() : this.sequence(c === '(' ? ')' : ']');
      this.depth--;
      return v;
    }
    if (c === "'" || c === '"') return this.string(c);
    const m = /^(True|False|None|[+-]?\d+)L?/.exec(this.s.slice(this.i, this.i + 24));
    if (!m) this.fail(`unexpected '${c}'.`, this.i);
    this.i += m[0].length;
    if (m[1] === 'True') return true;
    if (m[1] === 'False') return false;
    if (m[1] === 'None') return null;
    return Number(m[1]);
  }

  private string(quote: string): string {
    const start = ++this.i;
    const end = this.s.indexOf(quote, start);
    if (end < 0) this.fail('a string is not closed.', start - 1);
    this.i = end + 1;
    return this.s.slice(start, end);
  }

  private expect(c: string): void {
    this.ws();
    if (this.s[this.i] !== c) this.fail(`expected '${c}' but found '${this.s[this.i] ?? 'the end'}'.`, this.i);
    this.i++;
  }

  /** Items up to `close`, comma separated, with an optional trailing comma. */
  private items(close: string, item: () => void): void {
    for (;;) {
      this.ws();
      if (this.s[this.i] === close) {
        this.i++;
        return;
      }
      item();
      this.ws();
      if (this.s[this.i] === ',') this.i++;
      else if (this.s[this.i] !== close) this.fail(`expected ',' or '${close}' but found '${this.s[this.i] ?? 'the end'}'.`, this.i);
    }
  }

  private dict(): Map<unknown, unknown> {
    this.i++;
    const m = new Map<unknown, unknown>();
    this.items('}', () => {
      const k = this.value();
      this.expect(':');
      m.set(k, this.value());
    });
    return m;
  }

  private sequence(close: string): unknown[] {
    this.i++;
    const out: unknown[] = [];
    this.items(close, () => out.push(this.value()));
    return out;
  }
}
