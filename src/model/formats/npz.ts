import { FormatError } from '../errors';
import type { Checkpoint, Tensor } from '../tensor';
import { readNpy } from './npy';
import type { FormatReader } from './reader';
import { memorySource, type ByteSource } from './byteSource';
import { firstEntryName, looksLikeZip, readZipSource, STORED } from './zip';

/**
 * numpy's .npz (np.savez / np.savez_compressed): a zip whose entries are `<key>.npy`. Keys may hold
 * '.' and '#' (module paths, repeated calls), so only the final '.npy' is stripped. Stored entries
 * are read as views over the file; deflated ones are inflated one by one.
 */

export function readNpz(bytes: Uint8Array, file: string): Map<string, Tensor> {
  return readNpzSource(memorySource(bytes, file), file).tensors;
}

/**
 * From a random-access source each entry is read into its own buffer, where numpy's 64-byte header
 * padding leaves the array aligned: views instead of the copies a whole-file read would need.
 */
export function readNpzSource(source: ByteSource, file: string): Checkpoint {
  const { tensors, compressed } = readNpzArchive(source, file);
  return { file, format: 'npz', tensors, metadata: { compression: compressed ? 'deflated' : 'stored' } };
}

function readNpzArchive(source: ByteSource, file: string): { tensors: Map<string, Tensor>; compressed: boolean } {
  const zip = readZipSource(source, file);
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
  read: (bytes: Uint8Array, file: string) => readNpzSource(memorySource(bytes, file), file),
};
