import { FormatError } from '../errors';
import { DTYPE_BYTES, numel, typedView, type DType, type Tensor, type TensorData } from '../tensor';

/**
 * Turning a rebuilt tensor (a dtype, an element offset, a size and strides over a storage) into a
 * Tensor, as `torch._utils._rebuild_tensor_v2` does. C-contiguous tensors become views over the
 * storage bytes; anything else (a transposed or sliced tensor saved as is) is materialised as a
 * contiguous copy, because every consumer of a Tensor assumes C order.
 */

/** The geometry of a rebuilt tensor (a TensorRef, see torchPickle.ts). */
export interface TensorGeometry {
  readonly dtype: DType;
  readonly storageOffset: number;
  readonly shape: readonly number[];
  readonly stride: readonly number[];
  /** File offset of the rebuild, for errors. */
  readonly offset: number;
  readonly storage: { readonly key: string };
}

/**
 * Bytes that non-contiguous copies may still allocate, for one file. Each copy is bounded by its
 * storage, but a pickle can name one large storage in many strided tensors (memo reuse is cheap);
 * a copy that would take the total past what the file itself holds is refused.
 */
export class CopyBudget {
  constructor(private left: number) {}

  take(bytes: number, file: string, what: string, offset: number): void {
    if (bytes > this.left) {
      throw new FormatError(
        file,
        `${what} needs a ${bytes}-byte contiguous copy, but the copies of strided tensors would then exceed the size of the file ` +
          '(a pickle that names one storage in many strided views). Refusing rather than multiplying the data.',
        offset,
      );
    }
    this.left -= bytes;
  }
}

/** The budget for a file of `fileBytes`: every storage copied once, plus slack for small files. */
export function copyBudgetFor(fileBytes: number): CopyBudget {
  return new CopyBudget(fileBytes + (1 << 20));
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

/**
 * `storage` holds the bytes the tensor's storage (view) covers. The geometry was checked against
 * the declared size when the pickle was read; it is checked again here against the bytes in hand.
 */
export function materializeTensor(storage: Uint8Array, g: TensorGeometry, budget: CopyBudget, file: string): Tensor {
  const { dtype, storageOffset: offset, stride } = g;
  const shape = [...g.shape];
  const fail = (detail: string): never => {
    throw new FormatError(file, detail, g.offset);
  };
  const elem = DTYPE_BYTES[dtype];
  const storageCount = Math.floor(storage.length / elem);
  const count = numel(shape);
  if (count === 0) return { dtype, shape, data: typedView(dtype, new Uint8Array(0), 0, 0) };
  let last = offset;
  for (let i = 0; i < shape.length; i++) last += (shape[i] - 1) * stride[i];
  if (last >= storageCount) {
    fail(
      `Tensor of size (${shape.join(', ')}) with stride (${stride.join(', ')}) at offset ${offset} reaches element ${last} ` +
        `but storage '${g.storage.key}' holds only ${storageCount} ${dtype} elements.`,
    );
  }
  if (isCContiguous(shape, stride)) {
    return { dtype, shape, data: typedView(dtype, storage, offset * elem, count) };
  }
  // More elements than the storage holds means strides that repeat elements (an expand()ed view).
  // State dicts never hold one, and refusing it bounds the copy below by the storage size.
  if (count > storageCount) {
    fail(
      `Tensor of size (${shape.join(', ')}) with stride (${stride.join(', ')}) repeats elements of storage '${g.storage.key}' ` +
        `(${count} elements from ${storageCount}); save tensor.contiguous() instead.`,
    );
  }
  budget.take(count * elem, file, `Tensor of size (${shape.join(', ')}) with stride (${stride.join(', ')}) on storage '${g.storage.key}'`, g.offset);
  const source = typedView(dtype, storage, 0, storageCount);
  return { dtype, shape, data: gather(source, offset, shape, stride, count) };
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
