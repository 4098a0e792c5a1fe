import * as path from 'path';
import { numel, type DType, type Tensor } from '../../tensor';
import { crc32 } from '../npzWriter';
import { PickleWriter, pyGlobal, pyPersistent, pyReduce, pyShared, type PickleValue } from './pickleWriter';

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

const ALIGNMENT = 64;
const LOCAL_HEADER = 30;
const CENTRAL_HEADER = 46;
const DESCRIPTOR = 16;
const ZIP64_EOCD = 56;
const ZIP64_LOCATOR = 20;
const EOCD = 22;
const FLAGS = 0x0808; // data descriptor follows; UTF-8 names

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

interface Entry {
  readonly name: Uint8Array;
  readonly parts: readonly Uint8Array[];
  readonly size: number;
  readonly crc: number;
  readonly offset: number;
  readonly padding: number;
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
  return torchZip(files);
}

/** PyTorchStreamWriter's zip (miniz with torch's padding), for archives under 4 GB. */
function torchZip(files: readonly (readonly [string, readonly Uint8Array[]])[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  const entries: Entry[] = [];
  let offset = 0;
  for (const [fileName, parts] of files) {
    const name = new TextEncoder().encode(fileName);
    const size = parts.reduce((n, p) => n + p.length, 0);
    const start = offset + LOCAL_HEADER + name.length + 4;
    const padding = (ALIGNMENT - (start % ALIGNMENT)) % ALIGNMENT;
    const crc = parts.reduce((c, p) => crc32(p, c), 0);
    if (offset + size > 0xfffffffe) throw new Error('Writing .pth files of 4 GB or more is not supported.');
    const header = new Uint8Array(LOCAL_HEADER + name.length + 4 + padding);
    const v = new DataView(header.buffer);
    v.setUint32(0, 0x04034b50, true);
    v.setUint16(4, 0, true); // version needed: miniz writes 0
    v.setUint16(6, FLAGS, true);
    // method, time, date, crc and sizes stay 0: the data descriptor and the central directory hold them
    v.setUint16(26, name.length, true);
    v.setUint16(28, 4 + padding, true);
    header.set(name, LOCAL_HEADER);
    const extra = LOCAL_HEADER + name.length;
    header.set([0x46, 0x42, padding & 0xff, padding >> 8], extra); // 'FB', then padding of 'Z'
    header.fill(0x5a, extra + 4);
    const descriptor = new Uint8Array(DESCRIPTOR);
    const d = new DataView(descriptor.buffer);
    d.setUint32(0, 0x08074b50, true);
    d.setUint32(4, crc, true);
    d.setUint32(8, size, true);
    d.setUint32(12, size, true);
    out.push(header, ...parts, descriptor);
    entries.push({ name, parts, size, crc, offset, padding });
    offset += header.length + size + DESCRIPTOR;
  }
  const centralOffset = offset;
  const centralSize = entries.reduce((n, e) => n + CENTRAL_HEADER + e.name.length, 0);
  const tail = new Uint8Array(centralSize + ZIP64_EOCD + ZIP64_LOCATOR + EOCD);
  const v = new DataView(tail.buffer);
  let at = 0;
  for (const e of entries) {
    v.setUint32(at, 0x02014b50, true);
    // version made by, version needed: 0, as miniz writes them
    v.setUint16(at + 8, FLAGS, true);
    v.setUint32(at + 16, e.crc, true);
    v.setUint32(at + 20, e.size, true);
    v.setUint32(at + 24, e.size, true);
    v.setUint16(at + 28, e.name.length, true);
    v.setUint32(at + 42, e.offset, true);
    tail.set(e.name, at + CENTRAL_HEADER);
    at += CENTRAL_HEADER + e.name.length;
  }
  const zip64At = centralOffset + centralSize;
  v.setUint32(at, 0x06064b50, true);
  v.setBigUint64(at + 4, BigInt(ZIP64_EOCD - 12), true);
  v.setUint16(at + 12, 0x031e, true); // made by: Unix, spec 3.0
  v.setUint16(at + 14, 0x002d, true); // needed: 4.5 (zip64)
  v.setBigUint64(at + 24, BigInt(entries.length), true);
  v.setBigUint64(at + 32, BigInt(entries.length), true);
  v.setBigUint64(at + 40, BigInt(centralSize), true);
  v.setBigUint64(at + 48, BigInt(centralOffset), true);
  at += ZIP64_EOCD;
  v.setUint32(at, 0x07064b50, true);
  v.setBigUint64(at + 8, BigInt(zip64At), true);
  v.setUint32(at + 16, 1, true);
  at += ZIP64_LOCATOR;
  v.setUint32(at, 0x06054b50, true);
  v.setUint16(at + 8, Math.min(entries.length, 0xffff), true);
  v.setUint16(at + 10, Math.min(entries.length, 0xffff), true);
  v.setUint32(at + 12, centralSize, true);
  v.setUint32(at + 16, centralOffset, true);
  out.push(tail);
  return out;
}
