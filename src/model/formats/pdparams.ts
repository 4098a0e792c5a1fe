import * as path from 'path';
import { FormatError } from '../errors';
import { DTYPE_BYTES, numel, typedView, type Checkpoint, type Tensor, type TensorData } from '../tensor';
import { NumpyArray, numpyGlobals, numpyToTensor } from './numpyPickle';
import { describe, keyText, looksLikePickle, unpickle, type GlobalHandler } from './pickle';
import { isLegacyTorchHead } from './legacyPth';
import type { FormatReader } from './reader';
import { listKeys } from './stateDict';

/**
 * Paddle's `paddle.save(layer.state_dict(), path)`: a bare pickle (protocol 2-4) of a dict of
 * structured name -> numpy array, plus two bookkeeping entries:
 * - `StructuredToParameterName@@`: structured name -> Paddle parameter name (`conv2d_0.w_0`), kept
 *   as metadata;
 * - `UnpackBigParamInfor@@` (protocols 2 and 3 only, which cannot pickle objects over 4 GB): arrays
 *   too large were flattened and cut into `name@@.0`, `name@@.1`, ...; the info maps each original
 *   name to `{'OriginShape': shape, 'slices': [part names]}` and the parts are joined back here.
 * Older saves (and paddle.save of a bare Tensor) pickle a value as the tuple (parameter name, array).
 */

const STRUCTURED_NAMES = 'StructuredToParameterName@@';
const BIG_PARAM_INFO = 'UnpackBigParamInfor@@';

/** Paddle reduces a Tensor to `tuple((name, ndarray))`; Python 2-compatible pickles say `__builtin__`. */
const tuple: GlobalHandler = (args, ctx) => {
  const items = args[0];
  if (!Array.isArray(items)) return ctx.fail(`builtins.tuple expects a sequence but found ${describe(items)}.`);
  return Object.freeze([...items]);
};

export function paddleGlobals(): Map<string, GlobalHandler> {
  const m = numpyGlobals();
  m.set('builtins.tuple', tuple);
  m.set('__builtin__.tuple', tuple);
  return m;
}

/** An array, or the (parameter name, array) pair older Paddle writes; the name is returned beside it. */
function unwrapValue(v: unknown): { array: NumpyArray; parameterName?: string } | undefined {
  if (v instanceof NumpyArray) return { array: v };
  if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'string' && v[1] instanceof NumpyArray) {
    return { array: v[1], parameterName: v[0] };
  }
  return undefined;
}

export function readPdparams(bytes: Uint8Array, file: string): Checkpoint {
  const root = unpickle(bytes, { file, globals: paddleGlobals(), purpose: 'Paddle .pdparams files (numpy arrays and dicts only)' });
  const metadata: Record<string, string> = {};
  const single = unwrapValue(root);
  if (single) {
    const key = single.parameterName ?? path.basename(file).replace(/\.[^.]*$/, '');
    return { file, format: 'pdparams', tensors: new Map([[key, numpyToTensor(single.array, file, key)]]), metadata };
  }
  if (!(root instanceof Map)) {
    throw new FormatError(file, `Expected paddle.save to have written a dict of arrays but found ${describe(root)}.`, 0);
  }
  const bigInfo = root.get(BIG_PARAM_INFO);
  const slices = bigInfo instanceof Map ? sliceOwners(bigInfo, file) : new Map<string, string>();
  const tensors = new Map<string, Tensor>();
  const parameterNames: Record<string, string> = {};
  const ignored: string[] = [];
  for (const [k, v] of root) {
    if (typeof k !== 'string') {
      ignored.push(keyText(k));
      continue;
    }
    if (k === STRUCTURED_NAMES) {
      if (v instanceof Map) for (const [s, p] of v) if (typeof s === 'string' && typeof p === 'string') parameterNames[s] = p;
      continue;
    }
    if (k === BIG_PARAM_INFO) continue;
    const owner = slices.get(k);
    if (owner !== undefined) {
      // The joined tensor takes the place of its first slice, which is where Paddle's order puts it.
      if (!tensors.has(owner)) tensors.set(owner, joinSlices(root, owner, bigInfo as Map<unknown, unknown>, file));
      continue;
    }
    const value = unwrapValue(v);
    if (!value) {
      ignored.push(k);
      continue;
    }
    if (value.parameterName !== undefined) parameterNames[k] ??= value.parameterName;
    tensors.set(k, numpyToTensor(value.array, file, k));
  }
  if (tensors.size === 0) {
    throw new FormatError(file, `Found no arrays in the Paddle dict; its keys are: ${[...root.keys()].slice(0, 12).map(keyText).join(', ')}.`, 0);
  }
  if (Object.keys(parameterNames).length > 0) metadata.structuredToParameterName = JSON.stringify(parameterNames);
  if (slices.size > 0) metadata.joinedBigParams = [...new Set(slices.values())].join(', ');
  if (ignored.length > 0) metadata.ignoredKeys = listKeys(ignored);
  return { file, format: 'pdparams', tensors, metadata };
}

/** slice name -> original name, from the `UnpackBigParamInfor@@` dict. */
function sliceOwners(info: Map<unknown, unknown>, file: string): Map<string, string> {
  const owners = new Map<string, string>();
  for (const [name, entry] of info) {
    const parts = entry instanceof Map ? entry.get('slices') : undefined;
    if (typeof name !== 'string' || !Array.isArray(parts) || !parts.every((p) => typeof p === 'string')) {
      throw new FormatError(file, `Expected '${BIG_PARAM_INFO}' to map names to {'OriginShape', 'slices'} but found ${describe(entry)}.`, 0, keyText(name));
    }
    for (const p of parts) owners.set(p as string, name);
  }
  return owners;
}

/** Concatenate the flattened slices of one big array and give it back its original shape. */
function joinSlices(root: Map<unknown, unknown>, name: string, info: Map<unknown, unknown>, file: string): Tensor {
  const entry = info.get(name) as Map<unknown, unknown>;
  const parts = entry.get('slices') as string[];
  const shape = entry.get('OriginShape');
  if (!Array.isArray(shape) || !shape.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0)) {
    throw new FormatError(file, `Expected an 'OriginShape' tuple of non-negative integers but found ${describe(shape)}.`, 0, name);
  }
  const pieces = parts.map((p) => {
    const v = unwrapValue(root.get(p));
    if (!v) throw new FormatError(file, `Slice '${p}' of the split array is missing or not an array.`, 0, name);
    return numpyToTensor(v.array, file, p);
  });
  const dtype = pieces[0]?.dtype;
  if (!dtype || pieces.some((t) => t.dtype !== dtype)) {
    throw new FormatError(file, 'The slices of the split array are missing or have different dtypes.', 0, name);
  }
  const count = numel(shape as number[]);
  const total = pieces.reduce((n, t) => n + t.data.length, 0);
  if (total !== count) {
    throw new FormatError(file, `The slices hold ${total} elements but the original shape (${shape.join(', ')}) needs ${count}.`, 0, name);
  }
  const out = new Uint8Array(count * DTYPE_BYTES[dtype]);
  let at = 0;
  for (const t of pieces) {
    const b = bytesOf(t.data);
    out.set(b, at);
    at += b.length;
  }
  return { dtype, shape: shape as number[], data: typedView(dtype, out, 0, count) };
}

function bytesOf(d: TensorData): Uint8Array {
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
}

export const pdparamsReader: FormatReader = {
  id: 'pdparams',
  extensions: ['.pdparams', '.pdopt', '.pkl'],
  // A bare pickle, but not a legacy torch.save file (also a pickle, with torch's magic number first).
  match: (head) => looksLikePickle(head) && !isLegacyTorchHead(head),
  read: readPdparams,
};
