import { FormatError } from '../errors';
import type { Checkpoint } from '../tensor';
import { latin1 } from './binaryReader';
import { memorySource, type ByteSource } from './byteSource';
import { isLegacyTorchHead, isTorchTar, readLegacyPth, refuseTorchTar } from './legacyPth';
import { unpickle, type PickleContext } from './pickle';
import type { FormatReader } from './reader';
import type { ReadOptions } from './stateDict';
import { StorageTable, TORCH_PICKLE_OPTIONS, storageLoader, torchCheckpoint, torchGlobals, type StorageRef, type StorageView } from './torchPickle';
import { firstEntryName, looksLikeZip, readZipSource, type ZipArchive, type ZipEntry } from './zip';


/**
 * PyTorch's zip checkpoint (torch.save since 1.6; .pth/.pt/.bin): `<archive>/data.pkl` is a pickle
 * whose tensors point, through persistent ids `('storage', torch.FloatStorage, key, location, numel)`,
 * at raw little-endian storages in `<archive>/data/<key>`. Tensors are views over those entries.
 * The legacy format (a sequence of pickles and raw storages) is read by legacyPth.ts; both share
 * the pickle vocabulary of torchPickle.ts.
 */

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
      zip.entries[0]?.centralOffset ?? 0,
    );
  }
  candidates.sort((a, b) => a.split('/').length - b.split('/').length);
  return candidates[0].slice(0, -'data.pkl'.length);
}

/**
 * Declares each storage and checks, from the central directory alone, that its entry exists and is
 * large enough; the bytes are read only for the tensors returned.
 */
function zipStorages(zip: ZipArchive, prefix: string, file: string) {
  const table = new StorageTable();
  const declare = storageLoader(table);
  const entries = new Map<StorageRef, ZipEntry>();
  const load = (pid: unknown, ctx: PickleContext): StorageView => {
    const view = declare(pid, ctx);
    const storage = view.root;
    if (entries.has(storage)) return view;
    const name = `${prefix}data/${storage.key}`;
    const entry = zip.get(name);
    if (!entry) ctx.fail(`The pickle refers to storage '${storage.key}' but the archive has no entry '${name}'.`);
    if (entry.uncompressedSize < storage.byteLength) {
      throw new FormatError(
        file,
        `Storage '${storage.key}' should hold ${storage.numel} ${storage.dtype} elements (${storage.byteLength} bytes) but its entry '${name}' has ${entry.uncompressedSize} bytes.`,
        zip.dataOffset(entry),
      );
    }
    entries.set(storage, entry);
    return view;
  };
  const bytesOf = (storage: StorageRef): Uint8Array => zip.entryData(entries.get(storage)!);
  return { load, bytesOf };
}

export function readPth(bytes: Uint8Array, file: string, options?: ReadOptions): Checkpoint {
  return readPthSource(memorySource(bytes, file), file, options);
}

/** The same from a random-access source: each storage is then read on its own (see byteSource.ts). */
export function readPthSource(source: ByteSource, file: string, options?: ReadOptions): Checkpoint {
  const head = source.read(0, Math.min(source.length, 512));
  if (isTorchTar(head, file)) refuseTorchTar(file);
  if (isLegacyTorchHead(head)) return readLegacyPth(source.read(0, source.length), file, options);
  const zip = readZipSource(source, file);
  const prefix = findDataPkl(zip, file);
  const code = zip.entries.find((e) => e.name.startsWith(`${prefix}code/`));
  if (code) {
    throw new FormatError(
      file,
      'This is a TorchScript archive (torch.jit.save), not a torch.save checkpoint. Save the weights with torch.save(model.state_dict(), path).',
      code.centralOffset,
    );
  }
  const byteorder = zip.get(`${prefix}byteorder`);
  if (byteorder && latin1.decode(zip.entryData(byteorder)).trim() !== 'little') {
    throw new FormatError(file, 'The checkpoint was saved on a big-endian machine; only little-endian storages are supported.', byteorder.centralOffset);
  }
  const pkl = zip.get(`${prefix}data.pkl`)!;
  const base = zip.dataOffset(pkl);
  const storages = zipStorages(zip, prefix, file);
  const root = unpickle(zip.entryData(pkl), { file, base, globals: torchGlobals(), ...TORCH_PICKLE_OPTIONS, persistentLoad: storages.load });
  return torchCheckpoint(
    root,
    { file, base, fileBytes: source.length, bytesOf: storages.bytesOf, metadata: { archive: prefix.replace(/\/$/, '') } },
    options,
  );
}

export const pthReader: FormatReader = {
  id: 'pth',
  extensions: ['.pth', '.pt', '.bin', '.ckpt', '.tar'],
  match(head: Uint8Array, file: string): boolean {
    if (isLegacyTorchHead(head)) return true;
    if (!looksLikeZip(head)) return isTorchTar(head, file);
    const first = firstEntryName(head);
    if (first === undefined) return false;
    return first === 'data.pkl' || first.endsWith('/data.pkl') || (/\.(pth|pt|bin|ckpt|tar)$/i.test(file) && !first.endsWith('.npy'));
  },
  read: readPth,
};
