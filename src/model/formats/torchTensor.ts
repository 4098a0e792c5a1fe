import { DTYPE_BYTES, numel, typedView, type DType, type Tensor, type TensorData } from '../tensor';
import type { PickleContext } from './pickle';

/**
 * Rebuilding a tensor from a torch storage, as `torch._utils._rebuild_tensor_v2` does: a dtype, the
 * storage's raw bytes, an element offset, a size and strides. C-contiguous tensors become views over
 * the storage bytes; anything else (a transposed or sliced tensor saved as is) is materialised as a
 * contiguous copy, because every consumer of a Tensor assumes C order.
 */

export interface TorchStorage {
  readonly dtype: DType;
  /** The storage's bytes (a view into the file). */
  readonly bytes: Uint8Array;
  /** The storage key in the archive (`data/<key>`), for error messages. */
  readonly key: string;
}

export function isCContiguous(size: readonly number[], stride: readonly number[]): boolean {
  let expected = 1;
  for (let i = size.length - 1; i >= 0; i--) {
    // A dimension of size 1 may carry any stride: it is never stepped over.
    if (size[i] !== 1 && stride[i] !== expected) return false;
    expected *= size[i];
  }
  return true;
}

export function rebuildTensor(
  storage: TorchStorage,
  dtype: DType,
  offset: number,
  size: readonly number[],
  stride: readonly number[],
  ctx: PickleContext,
): Tensor {
  if (size.length !== stride.length) {
    ctx.fail(`Tensor on storage '${storage.key}' has ${size.length} sizes but ${stride.length} strides.`);
  }
  if (offset < 0 || size.some((d) => d < 0) || stride.some((s) => s < 0)) {
    ctx.fail(`Tensor on storage '${storage.key}' has a negative offset, size or stride (offset ${offset}, size (${size.join(', ')}), stride (${stride.join(', ')})).`);
  }
  const elem = DTYPE_BYTES[dtype];
  const storageCount = Math.floor(storage.bytes.length / elem);
  const count = numel(size);
  const shape = [...size];
  if (count === 0) return { dtype, shape, data: typedView(dtype, new Uint8Array(0), 0, 0) };
  // The highest element the tensor touches must lie inside the storage.
  let last = offset;
  for (let i = 0; i < size.length; i++) last += (size[i] - 1) * stride[i];
  if (last >= storageCount) {
    ctx.fail(
      `Tensor of size (${size.join(', ')}) with stride (${stride.join(', ')}) at offset ${offset} reaches element ${last} ` +
        `but storage '${storage.key}' holds only ${storageCount} ${dtype} elements.`,
    );
  }
  if (isCContiguous(size, stride)) {
    return { dtype, shape, data: typedView(dtype, storage.bytes, offset * elem, count) };
  }
  // More elements than the storage holds means strides that repeat elements (an expand()ed view).
  // State dicts never hold one, and refusing it bounds the copy below by the storage size.
  if (count > storageCount) {
    ctx.fail(
      `Tensor of size (${size.join(', ')}) with stride (${stride.join(', ')}) repeats elements of storage '${storage.key}' ` +
        `(${count} elements from ${storageCount}); save tensor.contiguous() instead.`,
    );
  }
  const source = typedView(dtype, storage.bytes, 0, storageCount);
  return { dtype, shape, data: gather(source, offset, size, stride, count) };
}

/** Copy the strided elements into a new C-ordered array of the same type (an odometer over indices). */
function gather(source: TensorData, offset: number, size: readonly number[], stride: readonly number[], count: number): TensorData {
  const out = new (source.constructor as new (n: number) => TensorData)(count);
  // Both arrays have the same element type, so copying element by element is type-correct;
  // the casts only hide the number/bigint union from the checker.
  const src = source as unknown as number[];
  const dst = out as unknown as number[];
  const rank = size.length;
  const index = new Array<number>(rank).fill(0);
  let at = offset;
  for (let i = 0; i < count; i++) {
    dst[i] = src[at];
    for (let d = rank - 1; d >= 0; d--) {
      if (++index[d] < size[d]) {
        at += stride[d];
        break;
      }
      at -= (size[d] - 1) * stride[d];
      index[d] = 0;
    }
  }
  return out;
}
