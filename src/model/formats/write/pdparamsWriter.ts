import { DTYPE_BYTES, type DType, type Tensor } from '../../tensor';
import { PickleWriter, pyDict, pyGlobal, pyReduce, pyShared, type PickleValue } from './pickleWriter';

/**
 * Paddle's `paddle.save(layer.state_dict(), path)` (.pdparams): a protocol-4 pickle of a plain dict
 * of structured name -> numpy array, in state_dict order, then `'StructuredToParameterName@@'`: a
 * dict of structured name -> Paddle parameter name. Arrays are pickled the way numpy 1.x does it
 * (`_reconstruct(ndarray, (0,), b'b')` + BUILD `(1, shape, dtype('f4'), False, raw bytes)`), which
 * numpy 2 loads as well. The bytes match what Python writes for the same dict, frames included.
 *
 * Names are written as given: the caller converts timm names to Paddle's (`_mean`, `_variance`)
 * first. See convert.ts.
 */

export const STRUCTURED_NAMES_KEY = 'StructuredToParameterName@@';

/** numpy's type string (without byte order) per dtype; numpy has no bfloat16. */
const NUMPY_TYPE: Record<DType, string | undefined> = {
  float16: 'f2', float32: 'f4', float64: 'f8', int8: 'i1', uint8: 'u1', int16: 'i2', int32: 'i4', int64: 'i8', bool: 'b1',
  bfloat16: undefined,
};

export interface PdparamsOptions {
  /** Structured name -> Paddle parameter name; default `syntheticParameterNames(tensors)`. */
  readonly parameterNames?: ReadonlyMap<string, string>;
}

/** numpy.dtype as numpy 1.x reduces it: `dtype('f4', False, True)` + state `(3, '<', None, None, None, -1, -1, 0)`. */
function numpyDtype(dtype: DType, key: string): PickleValue {
  const type = NUMPY_TYPE[dtype];
  if (!type) {
    throw new Error(`Tensor '${key}' is ${dtype}, which numpy (and so a .pdparams file) cannot hold. Convert it to float32 first.`);
  }
  const order = DTYPE_BYTES[dtype] === 1 ? '|' : '<';
  // A dtype is a singleton in numpy, so every array of one type shares the same pickled object.
  return pyShared(`dtype:${type}`, pyReduce(pyGlobal('numpy', 'dtype'), [type, false, true], {
    state: [3, pyShared(`str:${order}`, order), null, null, null, -1, -1, 0],
  }));
}

function tensorBytes(t: Tensor): Uint8Array {
  return new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
}

/** A C-ordered numpy array as numpy 1.x pickles it. */
export function numpyArrayValue(t: Tensor, key: string): PickleValue {
  return pyReduce(
    pyGlobal('numpy.core.multiarray', '_reconstruct'),
    // numpy passes the same 1-byte bytes object b'b' every time (CPython caches 1-byte bytes).
    [pyGlobal('numpy', 'ndarray'), [0], pyShared('bytes:b', new Uint8Array([0x62]))],
    { state: [1, [...t.shape], numpyDtype(t.dtype, key), false, tensorBytes(t)] },
  );
}

/**
 * Paddle-style parameter names, one layer per structured-name prefix, numbered per layer type in
 * state_dict order: `conv2d_N.w_0`/`.b_0`; `batch_norm2d_N.w_0` (weight), `.b_0` (bias), `.w_1`
 * (`_mean`), `.w_2` (`_variance`); `linear_N` for 2-d weights; `create_parameter_N.w_k` for anything
 * else. Real Paddle numbering depends on construction order and on what else the process created,
 * so readers match on structured names; these are only there because paddle.save writes the dict.
 */
export function syntheticParameterNames(tensors: ReadonlyMap<string, Tensor>): Map<string, string> {
  const layers = new Map<string, string[]>();
  for (const name of tensors.keys()) {
    const dot = name.lastIndexOf('.');
    const prefix = dot < 0 ? '' : name.slice(0, dot);
    const list = layers.get(prefix) ?? [];
    list.push(name);
    layers.set(prefix, list);
  }
  const counters = new Map<string, number>();
  const layerName = new Map<string, string>();
  const out = new Map<string, string>();
  for (const name of tensors.keys()) {
    const dot = name.lastIndexOf('.');
    const prefix = dot < 0 ? '' : name.slice(0, dot);
    let layer = layerName.get(prefix);
    const attrs = layers.get(prefix)!.map((n) => n.slice(n.lastIndexOf('.') + 1));
    const type = layerType(attrs, tensors.get(`${prefix ? `${prefix}.` : ''}weight`));
    if (layer === undefined) {
      const n = counters.get(type) ?? 0;
      counters.set(type, n + 1);
      layer = `${type}_${n}`;
      layerName.set(prefix, layer);
    }
    const attr = name.slice(dot + 1);
    out.set(name, `${layer}.${parameterSuffix(type, attr, attrs)}`);
  }
  return out;
}

function layerType(attrs: readonly string[], weight: Tensor | undefined): string {
  if (attrs.some((a) => a === '_mean' || a === '_variance' || a === 'running_mean' || a === 'running_var')) return 'batch_norm2d';
  const rank = weight?.shape.length;
  if (rank === 4) return 'conv2d';
  if (rank === 3) return 'conv1d';
  if (rank === 5) return 'conv3d';
  if (rank === 2) return 'linear';
  return 'create_parameter';
}

const BN_SUFFIX: Record<string, string> = { weight: 'w_0', bias: 'b_0', _mean: 'w_1', running_mean: 'w_1', _variance: 'w_2', running_var: 'w_2' };

function parameterSuffix(type: string, attr: string, attrs: readonly string[]): string {
  if (type === 'batch_norm2d' && BN_SUFFIX[attr]) return BN_SUFFIX[attr];
  if (attr === 'weight') return 'w_0';
  if (attr === 'bias') return 'b_0';
  // Anything else: w_k after the weights already named, in the layer's own order.
  const others = attrs.filter((a) => a !== 'weight' && a !== 'bias' && !(type === 'batch_norm2d' && BN_SUFFIX[a]));
  const base = type === 'batch_norm2d' ? 3 : attrs.includes('weight') ? 1 : 0;
  return `w_${base + others.indexOf(attr)}`;
}

/** The .pdparams bytes, as parts in file order (tensor data is referenced, not copied). */
export function writePdparams(tensors: ReadonlyMap<string, Tensor>, options: PdparamsOptions = {}): Uint8Array[] {
  const names = options.parameterNames ?? syntheticParameterNames(tensors);
  const entries: [PickleValue, PickleValue][] = [];
  for (const [key, t] of tensors) {
    if (key === STRUCTURED_NAMES_KEY) throw new Error(`A tensor cannot be named '${STRUCTURED_NAMES_KEY}': Paddle reserves that key.`);
    // The structured names are the same str objects in both dicts, so the second dict refers back to them.
    entries.push([pyShared(`key:${key}`, key), numpyArrayValue(t, key)]);
  }
  const structured: [PickleValue, PickleValue][] = [];
  for (const key of tensors.keys()) {
    const p = names.get(key);
    if (p !== undefined) structured.push([pyShared(`key:${key}`, key), p]);
  }
  entries.push([STRUCTURED_NAMES_KEY, pyDict(structured)]);
  return PickleWriter.dump(pyDict(entries), 4);
}
