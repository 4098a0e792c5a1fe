import { FormatError } from '../errors';
import { DTYPE_BYTES, type Checkpoint, type DType, type Tensor } from '../tensor';
import { latin1 } from './binaryReader';
import { numpyGlobals } from './numpyPickle';
import {
  PyGlobal,
  describe,
  expectInt,
  expectIntTuple,
  expectString,
  inertObject,
  unpickle,
  valueOnly,
  type GlobalHandler,
  type PickleContext,
} from './pickle';
import type { FormatReader } from './reader';
import { extractStateDict } from './stateDict';
import { rebuildTensor, type TorchStorage } from './torchTensor';
import { memorySource, type ByteSource } from './byteSource';
import { firstEntryName, looksLikeZip, readZipSource, type ZipArchive } from './zip';

/**
 * PyTorch's zip checkpoint (torch.save since 1.6; .pth/.pt/.bin): `<archive>/data.pkl` is a pickle
 * whose tensors point, through persistent ids `('storage', torch.FloatStorage, key, location, numel)`,
 * at raw little-endian storages in `<archive>/data/<key>`. Tensors are views over those entries.
 */

const STORAGE_DTYPES: Record<string, DType> = {
  FloatStorage: 'float32', DoubleStorage: 'float64', HalfStorage: 'float16', BFloat16Storage: 'bfloat16',
  LongStorage: 'int64', IntStorage: 'int32', ShortStorage: 'int16', CharStorage: 'int8',
  ByteStorage: 'uint8', BoolStorage: 'bool',
  // torch 2.x writes storages of dtypes without a legacy class as untyped bytes, paired with
  // `_rebuild_tensor_v3(..., dtype, ...)`.
  UntypedStorage: 'uint8',
};

/** `torch.<dtype>` globals that `_rebuild_tensor_v3` names. */
const TORCH_DTYPES: Record<string, DType> = {
  float32: 'float32', float: 'float32', float64: 'float64', double: 'float64', float16: 'float16', half: 'float16',
  bfloat16: 'bfloat16', int64: 'int64', long: 'int64', int32: 'int32', int: 'int32', int16: 'int16', short: 'int16',
  int8: 'int8', uint8: 'uint8', bool: 'bool',
};

/** The first bytes of a legacy (pre-1.6, non-zip) torch.save file: PROTO 2, LONG1 of torch's magic number. */
const LEGACY_MAGIC = [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];

export function isLegacyTorchHead(head: Uint8Array): boolean {
  return head.length >= LEGACY_MAGIC.length && LEGACY_MAGIC.every((b, i) => head[i] === b);
}

/** Legacy torch.save could also write a tar archive (with `storages`, `tensors`, `pickle` members). */
function isTar(head: Uint8Array): boolean {
  return head.length >= 262 && latin1.decode(head.subarray(257, 262)) === 'ustar';
}

/** Tensors the rebuild functions made (weakly held), so the state_dict walk can tell them from other values. */
const torchTensors = new WeakSet<object>();

function isTorchTensor(v: unknown): v is Tensor {
  return typeof v === 'object' && v !== null && torchTensors.has(v);
}

function findDataPkl(zip: ZipArchive, file: string): string {
  // The archive folder is the file stem at save time, so it can be anything: find it by its data.pkl.
  const candidates = zip.entries.map((e) => e.name).filter((n) => n === 'data.pkl' || n.endsWith('/data.pkl'));
  if (candidates.length === 0) {
    throw new FormatError(
      file,
      `This zip archive has no 'data.pkl' entry, so it is not a torch.save checkpoint. Its first entries are: ${zip.entries
        .slice(0, 5)
        .map((e) => `'${e.name}'`)
        .join(', ')}.`,
    );
  }
  candidates.sort((a, b) => a.split('/').length - b.split('/').length);
  return candidates[0].slice(0, -'data.pkl'.length);
}

function storageHandler(zip: ZipArchive, prefix: string, file: string) {
  const cache = new Map<string, TorchStorage>();
  return (pid: unknown, ctx: PickleContext): TorchStorage => {
    if (!Array.isArray(pid) || pid.length < 5 || pid[0] !== 'storage') {
      ctx.fail(`Expected a persistent id ('storage', type, key, location, numel) but found ${describe(pid)}.`);
    }
    const type = pid[1];
    const storageName = type instanceof PyGlobal ? type.qualifiedName.replace(/^torch\.(storage\.)?/, '') : undefined;
    const dtype = storageName !== undefined ? STORAGE_DTYPES[storageName] : undefined;
    if (!dtype) ctx.fail(`Unsupported torch storage type ${describe(type)}.`);
    const key = expectString(pid[2], 'the storage key', ctx);
    const count = expectInt(pid[4], 'the storage element count', ctx);
    const cached = cache.get(key);
    if (cached) return cached;
    const name = `${prefix}data/${key}`;
    const entry = zip.get(name);
    if (!entry) ctx.fail(`The pickle refers to storage '${key}' but the archive has no entry '${name}'.`);
    const bytes = zip.entryData(entry);
    const needed = count * DTYPE_BYTES[dtype];
    if (count < 0 || bytes.length < needed) {
      throw new FormatError(
        file,
        `Storage '${key}' should hold ${count} ${dtype} elements (${needed} bytes) but its entry '${name}' has ${bytes.length} bytes.`,
        zip.dataOffset(entry),
      );
    }
    const storage: TorchStorage = { dtype, bytes: bytes.subarray(0, needed), key };
    cache.set(key, storage);
    torchStorages.add(storage);
    return storage;
  };
}

/** Storages the persistent-id handler made, so a rebuild can check its first argument really is one. */
const torchStorages = new WeakSet<object>();

function expectStorage(v: unknown, ctx: PickleContext): TorchStorage {
  if (typeof v !== 'object' || v === null || !torchStorages.has(v)) {
    return ctx.fail(`Expected a torch storage as the first argument of a tensor rebuild but found ${describe(v)}.`);
  }
  return v as TorchStorage;
}

function rebuild(storage: TorchStorage, dtype: DType, args: readonly unknown[], ctx: PickleContext): Tensor {
  const offset = expectInt(args[1], 'the storage offset', ctx);
  const size = expectIntTuple(args[2], 'the tensor size', ctx);
  const stride = expectIntTuple(args[3], 'the tensor stride', ctx);
  const t = rebuildTensor(storage, dtype, offset, size, stride, ctx);
  torchTensors.add(t);
  return t;
}

/** `_rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])`. */
const rebuildTensorV2: GlobalHandler = (args, ctx) => {
  const storage = expectStorage(args[0], ctx);
  return rebuild(storage, storage.dtype, args, ctx);
};

/** `_rebuild_tensor_v3(storage, offset, size, stride, requires_grad, hooks, dtype, metadata)`: untyped storage + dtype. */
const rebuildTensorV3: GlobalHandler = (args, ctx) => {
  const storage = expectStorage(args[0], ctx);
  const dtypeGlobal = args[6];
  const dtype = dtypeGlobal instanceof PyGlobal ? TORCH_DTYPES[dtypeGlobal.qualifiedName.replace(/^torch\./, '')] : undefined;
  if (!dtype) ctx.fail(`Unsupported tensor dtype ${describe(dtypeGlobal)} in _rebuild_tensor_v3.`);
  return rebuild({ ...storage, dtype: dtype! }, dtype!, args, ctx);
};

/** `_rebuild_parameter(data, requires_grad, backward_hooks)`: a Parameter is its data here. */
const rebuildParameter: GlobalHandler = (args, ctx) => {
  if (!isTorchTensor(args[0])) ctx.fail(`Expected a tensor inside the Parameter but found ${describe(args[0])}.`);
  return args[0];
};

const orderedDict: GlobalHandler = (args, ctx) => {
  const m = new Map<unknown, unknown>();
  // OrderedDict() as torch writes it has no arguments; OrderedDict([(k, v), ...]) is also legal.
  if (args.length > 0 && Array.isArray(args[0])) {
    for (const pair of args[0]) {
      if (!Array.isArray(pair) || pair.length !== 2) ctx.fail(`Expected (key, value) pairs for OrderedDict but found ${describe(pair)}.`);
      m.set(pair[0], pair[1]);
    }
  }
  return m;
};

/**
 * Everything a state_dict checkpoint (and the plain data training scripts save beside it) may name.
 * Storage classes and dtypes only appear as values; the rebuild functions build tensors; the rest
 * build inert stand-ins.
 */
export function torchGlobals(): Map<string, GlobalHandler> {
  const m = numpyGlobals();
  m.set('collections.OrderedDict', orderedDict);
  m.set('torch._utils._rebuild_tensor', rebuildTensorV2);
  m.set('torch._utils._rebuild_tensor_v2', rebuildTensorV2);
  m.set('torch._utils._rebuild_tensor_v3', rebuildTensorV3);
  m.set('torch._utils._rebuild_parameter', rebuildParameter);
  m.set('torch._utils._rebuild_parameter_with_state', rebuildParameter);
  for (const name of Object.keys(STORAGE_DTYPES)) m.set(`torch.${name}`, valueOnly(`torch.${name}`));
  m.set('torch.storage.UntypedStorage', valueOnly('torch.storage.UntypedStorage'));
  for (const name of Object.keys(TORCH_DTYPES)) m.set(`torch.${name}`, valueOnly(`torch.${name}`));
  m.set('torch.Size', (args) => args[0]);
  m.set('argparse.Namespace', inertObject('argparse.Namespace'));
  return m;
}

export function readPth(bytes: Uint8Array, file: string): Checkpoint {
  return readPthSource(memorySource(bytes, file), file);
}

/** The same from a random-access source: each storage is then read on its own (see byteSource.ts). */
export function readPthSource(source: ByteSource, file: string): Checkpoint {
  const head = source.read(0, Math.min(source.length, 512));
  if (isLegacyTorchHead(head) || isTar(head)) {
    throw new FormatError(
      file,
      'This is a legacy (pre-1.6, non-zip) torch.save file, which is not supported. Re-save it with a newer PyTorch: ' +
        "torch.save(torch.load(path), path) writes the zip format.",
      0,
    );
  }
  const zip = readZipSource(source, file);
  const prefix = findDataPkl(zip, file);
  if (zip.entries.some((e) => e.name.startsWith(`${prefix}code/`))) {
    throw new FormatError(
      file,
      'This is a TorchScript archive (torch.jit.save), not a torch.save checkpoint. Save the weights with torch.save(model.state_dict(), path).',
    );
  }
  const byteorder = zip.get(`${prefix}byteorder`);
  if (byteorder && latin1.decode(zip.entryData(byteorder)).trim() !== 'little') {
    throw new FormatError(file, 'The checkpoint was saved on a big-endian machine; only little-endian storages are supported.', byteorder.centralOffset);
  }
  const pkl = zip.get(`${prefix}data.pkl`)!;
  const base = zip.dataOffset(pkl);
  const root = unpickle(zip.entryData(pkl), {
    file,
    base,
    globals: torchGlobals(),
    purpose: 'PyTorch checkpoints (tensors, dicts and plain values only)',
    refusalHint: 'A file that pickles a whole model object (torch.save(model)) cannot be read; save model.state_dict() instead.',
    persistentLoad: storageHandler(zip, prefix, file),
  });
  const { tensors, metadata } = extractStateDict(root, isTorchTensor, file, base);
  return { file, format: 'pth', tensors, metadata: { archive: prefix.replace(/\/$/, ''), ...metadata } };
}

export const pthReader: FormatReader = {
  id: 'pth',
  extensions: ['.pth', '.pt', '.bin', '.ckpt', '.tar'],
  match(head: Uint8Array, file: string): boolean {
    if (isLegacyTorchHead(head)) return true;
    if (!looksLikeZip(head)) return isTar(head) && /\.(pth|pt)(\.tar)?$/i.test(file);
    const first = firstEntryName(head);
    if (first === undefined) return false;
    return first === 'data.pkl' || first.endsWith('/data.pkl') || (/\.(pth|pt|bin|ckpt|tar)$/i.test(file) && !first.endsWith('.npy'));
  },
  read: readPth,
};
