import { FormatError } from '../errors';
import type { Checkpoint, Tensor } from '../tensor';
import { readNpy } from './npy';
import type { FormatReader } from './reader';
import { firstEntryName, looksLikeZip, readZip, STORED } from './zip';

/**
 * numpy's .npz (np.savez / np.savez_compressed): a zip whose entries are `<key>.npy`. Keys may hold
 * '.' and '#' (module paths, repeated calls), so only the final '.npy' is stripped. Stored entries
 * are read as views over the file; deflated ones are inflated one by one.
 */

export function readNpz(bytes: Uint8Array, file: string): Map<string, Tensor> {
  return readNpzArchive(bytes, file).tensors;
}

function readNpzArchive(bytes: Uint8Array, file: string): { tensors: Map<string, Tensor>; compressed: boolean } {
  const zip = readZip(bytes, file);
  const tensors = new Map<string, Tensor>();
  for (const entry of zip.entries) {
    if (entry.name.endsWith('/')) continue; // a directory entry carries no array
    if (!entry.name.endsWith('.npy')) {
      throw new FormatError(file, `Expected every npz entry to be named '<key>.npy' but found '${entry.name}'.`, entry.centralOffset);
    }
    const key = entry.name.slice(0, -'.npy'.length);
    const data = zip.entryData(entry);
    // In a stored entry, header offsets plus the entry's data offset are exact file offsets; in a
    // deflated one they count from the entry's data within the inflated bytes (the key says which).
    tensors.set(key, readNpy(data, file, zip.dataOffset(entry), key));
  }
  return { tensors, compressed: zip.entries.some((e) => e.method !== STORED) };
}

export const npzReader: FormatReader = {
  id: 'npz',
  extensions: ['.npz'],
  match(head: Uint8Array): boolean {
    if (!looksLikeZip(head)) return false;
    const first = firstEntryName(head);
    // An empty npz is a bare end record; anything else starts with an .npy entry.
    return first === undefined ? head[2] === 5 : first.endsWith('.npy');
  },
  read(bytes: Uint8Array, file: string): Checkpoint {
    const { tensors, compressed } = readNpzArchive(bytes, file);
    return { file, format: 'npz', tensors, metadata: { compression: compressed ? 'deflated' : 'stored' } };
  },
};
