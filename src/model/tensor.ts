import type { HubConfig } from './formats/hubFolder';
import type { WeightsSelection } from './formats/stateDict';

/**
 * The one vocabulary every reader produces: a checkpoint is an ordered set of named tensors, each a
 * dtype, a shape and a typed-array view (over the file's bytes where alignment allows, else a copy).
 */

export type DType =
  | 'float16' | 'bfloat16' | 'float32' | 'float64'
  | 'int8' | 'uint8' | 'int16' | 'int32' | 'int64' | 'bool';

export type TensorData =
  | Float32Array | Float64Array | Uint16Array | Int8Array | Uint8Array
  | Int16Array | Int32Array | BigInt64Array;

export interface Tensor {
  readonly dtype: DType;
  readonly shape: readonly number[];
  /** Raw elements in C order. float16/bfloat16 are kept as their uint16 bit patterns. */
  readonly data: TensorData;
}

export type FormatId = 'pth' | 'safetensors' | 'pdparams' | 'npz' | 'npy' | 'reprod-npy' | 'onnx';

export interface Checkpoint {
  /** The file it came from (as given by the caller), for error messages and reports. */
  readonly file: string;
  readonly format: FormatId;
  /** Tensors in file order (Map preserves insertion order). */
  readonly tensors: Map<string, Tensor>;
  /** Free-form facts the reader found (safetensors `__metadata__`, wrapper key used, ...). */
  readonly metadata: Record<string, string>;
  /** For formats that wrap their weights (torch.save): which dict was taken, and the alternatives. */
  readonly weights?: WeightsSelection;
  /** For a timm hub folder: its config.json, architecture and pretrained_cfg. */
  readonly hub?: HubConfig;
}

export const DTYPE_BYTES: Record<DType, number> = {
  float16: 2, bfloat16: 2, float32: 4, float64: 8,
  int8: 1, uint8: 1, int16: 2, int32: 4, int64: 8, bool: 1,
};

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/**
 * A typed-array view of `byteLength` bytes at `offset` of `bytes`; a view when aligned, else a copy.
 * Data on disk is little-endian, as is every machine Node runs on that we support.
 */
export function typedView(dtype: DType, bytes: Uint8Array, offset: number, count: number): TensorData {
  const size = DTYPE_BYTES[dtype];
  const abs = bytes.byteOffset + offset;
  // The copy is made with `new Uint8Array(view)`, not `bytes.slice()`: on a Node Buffer, slice() is a
  // view into a shared pool, whose `.buffer` would not start at our data.
  const buffer = abs % size === 0 ? bytes.buffer : new Uint8Array(bytes.subarray(offset, offset + count * size)).buffer;
  const start = abs % size === 0 ? abs : 0;
  switch (dtype) {
    case 'float32': return new Float32Array(buffer, start, count);
    case 'float64': return new Float64Array(buffer, start, count);
    case 'float16': case 'bfloat16': return new Uint16Array(buffer, start, count);
    case 'int8': return new Int8Array(buffer, start, count);
    case 'uint8': case 'bool': return new Uint8Array(buffer, start, count);
    case 'int16': return new Int16Array(buffer, start, count);
    case 'int32': return new Int32Array(buffer, start, count);
    case 'int64': return new BigInt64Array(buffer, start, count);
  }
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

/** Values as float32 (a view when already float32, else converted). */
export function toFloat32(t: Tensor): Float32Array {
  const d = t.data;
  if (d instanceof Float32Array) return d;
  const out = new Float32Array(d.length);
  if (t.dtype === 'float16') {
    for (let i = 0; i < d.length; i++) out[i] = halfToFloat((d as Uint16Array)[i]);
  } else if (t.dtype === 'bfloat16') {
    const u32 = new Uint32Array(out.buffer);
    for (let i = 0; i < d.length; i++) u32[i] = (d as Uint16Array)[i] << 16;
  } else if (d instanceof BigInt64Array) {
    for (let i = 0; i < d.length; i++) out[i] = Number(d[i]);
  } else {
    for (let i = 0; i < d.length; i++) out[i] = (d as ArrayLike<number>)[i];
  }
  return out;
}

export function float32Tensor(shape: readonly number[], data: Float32Array): Tensor {
  if (numel(shape) !== data.length) {
    throw new Error(`Tensor of shape [${shape.join(', ')}] needs ${numel(shape)} values, got ${data.length}.`);
  }
  return { dtype: 'float32', shape: [...shape], data };
}

export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/**
 * A tensor whose data is read on first use (lazy checkpoint reads), then kept. Its dtype and shape
 * are known at once; `data` is the same typed array every time it is read.
 */
export function lazyTensor(dtype: DType, shape: readonly number[], load: () => TensorData): Tensor {
  let data: TensorData | undefined;
  return {
    dtype,
    shape: [...shape],
    get data(): TensorData {
      data ??= load();
      return data;
    },
  };
}
