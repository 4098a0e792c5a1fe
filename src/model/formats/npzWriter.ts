import type { DType, Tensor } from '../tensor';
import { DTYPE_BYTES, numel } from '../tensor';
import { writeStoredZip } from './write/zipWriter';

/**
 * Writes an uncompressed .npz (what `np.savez` writes): a stored zip of `<key>.npy` v1.0 entries that
 * `np.load` reads. Each array's data starts on a 64-byte boundary of the file (the local header is
 * padded with an extra field, the npy header to a multiple of 64) so reading the file back gives
 * typed-array views, not copies.
 */

const NPY_DESCR: Record<DType, string | undefined> = {
  float16: '<f2', float32: '<f4', float64: '<f8',
  int8: '|i1', uint8: '|u1', int16: '<i2', int32: '<i4', int64: '<i8', bool: '|b1',
  bfloat16: undefined, // numpy has no bfloat16
};

/** The npy header's length is a multiple of this, as writeStoredZip aligns each entry's data to it. */
const ALIGN = 64;

/** The .npy v1.0 header for a tensor, padded with spaces so header + magic is a multiple of 64. */
export function npyHeader(t: Tensor): Uint8Array {
  const descr = NPY_DESCR[t.dtype];
  if (!descr) throw new Error(`Cannot write a ${t.dtype} tensor to .npy: numpy has no ${t.dtype} dtype. Convert it to float32 first.`);
  const shape = t.shape.length === 1 ? `(${t.shape[0]},)` : `(${t.shape.join(', ')})`;
  let dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  const preamble = 10; // magic (6) + version (2) + u16 header length
  const total = Math.ceil((preamble + dict.length + 1) / ALIGN) * ALIGN;
  dict = dict.padEnd(total - preamble - 1, ' ') + '\n';
  if (dict.length > 0xffff) throw new Error(`The .npy header for shape ${shape} is too long for format 1.0.`);
  const out = new Uint8Array(total);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, dict.length & 0xff, dict.length >> 8]);
  for (let i = 0; i < dict.length; i++) out[preamble + i] = dict.charCodeAt(i);
  return out;
}

export function writeNpz(entries: Iterable<[string, Tensor]>): Uint8Array {
  const files: [string, Uint8Array[]][] = [];
  for (const [key, t] of entries) {
    if (t.data.length !== numel(t.shape)) {
      throw new Error(`Tensor '${key}' has shape [${t.shape.join(', ')}] but ${t.data.length} values.`);
    }
    const data = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.length * DTYPE_BYTES[t.dtype]);
    files.push([`${key}.npy`, [npyHeader(t), data]]);
  }
  return writeStoredZip(files);
}
