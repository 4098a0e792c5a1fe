import * as path from 'path';
import { numel, type DType, type Tensor } from '../../tensor';
import { PickleWriter, pyGlobal, pyPersistent, pyReduce, pyShared, type PickleValue } from './pickleWriter';
import { DATA_DESCRIPTOR, UTF8_NAMES, storedZipParts, type StoredZipLayout } from './zipWriter';

/**
 * `torch.save(state_dict, path)` as PyTorch 1.13 writes it, so torch.load (and every other reader
 * of the format) takes it as its own:
 * - a stored zip whose entries sit under a folder named after the file stem: `data.pkl`, then
 *   `data/<key>` for every storage in lexicographic order, then `version` (`3\n`);
 * - local headers with flag 0x0808, zero CRC and sizes, an `FB` extra field padding each payload to
 *   a 64-byte boundary, and a 16-byte data descriptor after the data; zip64 end records always;
 * - `data.pkl` (protocol 2): an OrderedDict of `_rebuild_tensor_v2(storage, 0, size, stride, False,
 *   OrderedDict())`, storages as persistent ids `('storage', torch.FloatStorage, key, 'cpu', numel)`
 *   numbered in state_dict order.
 * torch also sets `_metadata` (module versions) on the dict; it is left out here, which makes
 * load_state_dict treat every module as version 1: BatchNorm then fills in a missing
 * `num_batches_tracked` (as for a .safetensors file) instead of reporting it missing.
 */

const STORAGE: Record<DType, string> = {
  float32: 'FloatStorage', float64: 'DoubleStorage', float16: 'HalfStorage', bfloat16: 'BFloat16Storage',
  int64: 'LongStorage', int32: 'IntStorage', int16: 'ShortStorage', int8: 'CharStorage', uint8: 'ByteStorage', bool: 'BoolStorage',
};

/** PyTorchStreamWriter's zip: miniz's headers, with torch's 'FB' extra field padded with 'Z' to 64 bytes. */
const TORCH_ZIP: StoredZipLayout = {
  align: 64,
  paddingId: 0x4246, // 'FB'
  paddingFill: 0x5a, // 'Z'
  version: 0, // miniz writes 0 for "made by" and "needed"
  flags: DATA_DESCRIPTOR | UTF8_NAMES,
  dosDate: 0,
  zip64End: true,
};

export interface PthOptions {
  /** The folder inside the zip; torch uses the file name without its last extension. */
  readonly archiveName?: string;
}

/** torch's archive folder for a path: the base name up to its last dot, 'archive' when that is empty. */
export function archiveNameFor(file: string): string {
  const base = path.basename(file);
  const dot = base.lastIndexOf('.');
  const stem = dot > 0 ? base.slice(0, dot) : dot === 0 ? '' : base;
  return stem || 'archive';
}

function contiguousStride(shape: readonly number[]): number[] {
  const stride = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    stride[i] = s;
    s *= shape[i];
  }
  return stride;
}

/** The data.pkl pickle: OrderedDict of rebuilt tensors, storages numbered 0..N-1 in order. */
export function pthPickle(tensors: ReadonlyMap<string, Tensor>): Uint8Array[] {
  const orderedDict = pyGlobal('collections', 'OrderedDict');
  const items: [PickleValue, PickleValue][] = [];
  let key = 0;
  for (const [name, t] of tensors) {
    const storage = pyPersistent([
      pyShared('str:storage', 'storage'), pyGlobal('torch', STORAGE[t.dtype]), String(key++), pyShared('str:cpu', 'cpu'), numel(t.shape),
    ]);
    const tensor = pyReduce(pyGlobal('torch._utils', '_rebuild_tensor_v2'), [
      storage, 0, [...t.shape], contiguousStride(t.shape), false, pyReduce(orderedDict, []),
    ]);
    items.push([name, tensor]);
  }
  return PickleWriter.dump(pyReduce(orderedDict, [], { dictItems: items }), 2);
}

/** The checkpoint as parts in file order; tensor data is referenced, not copied. */
export function writePth(tensors: ReadonlyMap<string, Tensor>, options: PthOptions = {}): Uint8Array[] {
  const archive = options.archiveName ?? 'archive';
  const files: [string, Uint8Array[]][] = [[`${archive}/data.pkl`, pthPickle(tensors)]];
  const storages: [string, Uint8Array[]][] = [];
  let key = 0;
  for (const [name, t] of tensors) {
    if (t.data.length !== numel(t.shape)) throw new Error(`Tensor '${name}' has shape [${t.shape.join(', ')}] but ${t.data.length} values.`);
    storages.push([String(key++), [new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength)]]);
  }
  // torch writes the records sorted by name: data/0, data/1, data/10, data/100, ...
  storages.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [k, parts] of storages) files.push([`${archive}/data/${k}`, parts]);
  files.push([`${archive}/version`, [new TextEncoder().encode('3\n')]]);
  return storedZipParts(files, TORCH_ZIP);
}
