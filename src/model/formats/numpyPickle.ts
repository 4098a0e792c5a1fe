import { FormatError } from '../errors';
import { DTYPE_BYTES, numel, typedView, type DType, type Tensor } from '../tensor';
import {
  PyGlobal,
  SETSTATE,
  describe,
  expectBytes,
  expectIntTuple,
  expectString,
  latin1Bytes,
  valueOnly,
  type Buildable,
  type GlobalHandler,
  type PickleContext,
} from './pickle';

/**
 * numpy arrays as pickle writes them (paddle.save, np.save of object arrays, reprod_log):
 * `_reconstruct(ndarray, (0,), b'b')` makes an empty array, then BUILD sets
 * `(version, shape, dtype, is_fortran, rawdata)`; dtypes are `dtype('f4', False, True)` with BUILD
 * state `(3, '<', ...)`. These handlers turn that into inert stubs, then into Tensors.
 */

const NUMPY_KINDS: Record<string, DType> = {
  f2: 'float16', f4: 'float32', f8: 'float64',
  i1: 'int8', u1: 'uint8', i2: 'int16', i4: 'int32', i8: 'int64', b1: 'bool',
};

/**
 * Our dtype for a numpy type string such as '<f4', '|u1' or 'f4' (byte order separately).
 * Returns a sentence saying why not when the type is not one we hold.
 */
export function dtypeFromDescr(descr: string): DType | { reason: string } {
  const m = /^([<>|=]?)([a-zA-Z])(\d+)$/.exec(descr);
  if (!m) return { reason: `numpy dtype '${descr}' is not a plain numeric type (structured and string dtypes are not supported)` };
  const [, order, kind, size] = m;
  const dtype = NUMPY_KINDS[kind + size];
  if (!dtype) return { reason: `numpy dtype '${descr}' is not supported (expected one of f2, f4, f8, i1, u1, i2, i4, i8, b1)` };
  if (order === '>' && DTYPE_BYTES[dtype] > 1) {
    return { reason: `numpy dtype '${descr}' is big-endian; re-save the array little-endian (arr.astype('<${kind}${size}'))` };
  }
  return dtype;
}

/** numpy.dtype as pickled: a type string plus the byte order BUILD sets later. */
export class NumpyDtype implements Buildable {
  byteOrder = '=';
  constructor(readonly typeString: string) {}

  get descr(): string {
    return (this.byteOrder === '|' ? '' : this.byteOrder) + this.typeString;
  }

  get isObject(): boolean {
    return this.typeString.startsWith('O');
  }

  [SETSTATE](state: unknown, ctx: PickleContext): void {
    // (version, byteorder, subarray, names, fields, elsize, alignment, flags); version 3 and 4 alike.
    if (!Array.isArray(state) || state.length < 2) ctx.fail(`Expected numpy dtype state to be a tuple but found ${describe(state)}.`);
    this.byteOrder = expectString(state[1], 'the numpy dtype byte order', ctx);
    if (state[3] !== null && state[3] !== undefined) {
      ctx.fail(`numpy structured dtypes (with named fields) are not supported; found one with ${describe(state[3])}.`);
    }
  }
}

/** numpy.ndarray as pickled, before BUILD gives it its shape, dtype and data. */
export class NumpyArray implements Buildable {
  shape: number[] = [0];
  dtype: NumpyDtype | undefined;
  fortranOrder = false;
  /** Raw little-endian bytes (a view into the file) for numeric arrays. */
  data: Uint8Array | undefined;
  /** Elements of an object array (dtype 'O'), e.g. the dict inside a reprod_log .npy. */
  objects: unknown[] | undefined;
  /** File offset of the BUILD that filled it, for later error messages. */
  offset = 0;

  [SETSTATE](state: unknown, ctx: PickleContext): void {
    if (!Array.isArray(state)) ctx.fail(`Expected numpy array state to be a tuple but found ${describe(state)}.`);
    // numpy >= 1.x writes a leading version number (1); very old pickles omit it.
    const s = state.length === 5 ? state.slice(1) : state;
    if (s.length !== 4) ctx.fail(`Expected numpy array state to have 4 or 5 items but found ${state.length}.`);
    this.offset = ctx.offset;
    this.shape = expectIntTuple(s[0], 'the numpy array shape', ctx);
    if (this.shape.some((d) => d < 0)) ctx.fail(`numpy array shape (${this.shape.join(', ')}) has a negative dimension.`);
    if (!(s[1] instanceof NumpyDtype)) ctx.fail(`Expected a numpy dtype in the array state but found ${describe(s[1])}.`);
    this.dtype = s[1];
    this.fortranOrder = s[2] === true || s[2] === 1;
    if (this.dtype.isObject) {
      if (!Array.isArray(s[3])) ctx.fail(`Expected the items of a numpy object array as a list but found ${describe(s[3])}.`);
      this.objects = s[3];
    } else {
      this.data = expectBytes(s[3], 'the numpy array data', ctx);
    }
  }
}

/** Turn a pickled numpy array into a Tensor (a view over its bytes when aligned). */
export function numpyToTensor(a: NumpyArray, file: string, key: string): Tensor {
  if (!a.dtype || (!a.data && !a.objects)) {
    throw new FormatError(file, 'The numpy array was never given its state (shape, dtype, data).', a.offset, key);
  }
  const dtype = dtypeFromDescr(a.dtype.descr);
  if (typeof dtype !== 'string') throw new FormatError(file, `Cannot read the array: ${dtype.reason}.`, a.offset, key);
  if (a.fortranOrder && a.shape.filter((d) => d > 1).length > 1) {
    throw new FormatError(file, 'The array is stored in Fortran order; re-save it with np.ascontiguousarray.', a.offset, key);
  }
  const count = numel(a.shape);
  const data = a.data!;
  const expected = count * DTYPE_BYTES[dtype];
  if (data.length !== expected) {
    throw new FormatError(
      file,
      `Array of shape [${a.shape.join(', ')}] and dtype ${dtype} needs ${expected} bytes but its data holds ${data.length}.`,
      a.offset,
      key,
    );
  }
  return { dtype, shape: a.shape, data: typedView(dtype, data, 0, count) };
}

const reconstruct: GlobalHandler = (args, ctx) => {
  if (!(args[0] instanceof PyGlobal) || args[0].qualifiedName !== 'numpy.ndarray') {
    return ctx.fail(`numpy _reconstruct expects numpy.ndarray as its class but found ${describe(args[0])}.`);
  }
  return new NumpyArray();
};

const dtype: GlobalHandler = (args, ctx) => new NumpyDtype(expectString(args[0], 'the numpy dtype type string', ctx));

/** `numpy.core.multiarray.scalar(dtype, bytes)`: a numpy scalar, kept as a 0-d array. */
const scalar: GlobalHandler = (args, ctx) => {
  const dtype = args[0];
  if (!(dtype instanceof NumpyDtype)) return ctx.fail(`numpy scalar expects a dtype but found ${describe(dtype)}.`);
  const a = new NumpyArray();
  a.shape = [];
  a.dtype = dtype;
  a.offset = ctx.offset;
  if (dtype.isObject) a.objects = [args[1]];
  else a.data = expectBytes(args[1], 'the numpy scalar data', ctx);
  return a;
};

/** Protocol 2 writes Python 3 bytes as `_codecs.encode(text, 'latin1')`; undo it without running codecs. */
const codecsEncode: GlobalHandler = (args, ctx) => {
  const text = expectString(args[0], 'the text of _codecs.encode', ctx);
  const encoding = args.length > 1 ? expectString(args[1], 'the encoding of _codecs.encode', ctx) : 'utf-8';
  if (encoding === 'latin1' || encoding === 'latin-1' || encoding === 'iso-8859-1') return latin1Bytes(text, 'the text of _codecs.encode', ctx);
  if (encoding === 'utf-8' || encoding === 'utf8') return new TextEncoder().encode(text);
  return ctx.fail(`_codecs.encode with encoding '${encoding}' is not supported.`);
};

/** The numpy globals numpy 1.x and 2.x pickles use (numpy 2 moved `core` to `_core`). */
export function numpyGlobals(): Map<string, GlobalHandler> {
  const m = new Map<string, GlobalHandler>();
  for (const core of ['numpy.core', 'numpy._core']) {
    m.set(`${core}.multiarray._reconstruct`, reconstruct);
    m.set(`${core}.multiarray.scalar`, scalar);
  }
  m.set('numpy.ndarray', valueOnly('numpy.ndarray'));
  m.set('numpy.dtype', dtype);
  m.set('_codecs.encode', codecsEncode);
  return m;
}
