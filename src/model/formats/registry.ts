import * as path from 'path';
import { FormatError } from '../errors';
import type { Checkpoint, FormatId } from '../tensor';
import { latin1 } from './binaryReader';
import { FileSource, ReopeningSource, prefetch, type ByteSource } from './byteSource';
import { hubTarget, readHubConfig } from './hubFolder';
import { npyReader } from './npy';
import { npzReader, readNpzSource } from './npz';
import { onnxReader } from './onnx';
import { pdparamsReader } from './pdparams';
import { pthReader, readPthSource } from './pth';
import type { FormatReader } from './reader';
import { readSafetensorsSource, safetensorsReader } from './safetensors';
import { TOP_LEVEL, type ReadOptions } from './stateDict';
import { looksLikeZip, readZipSource } from './zip';

/**
 * Picks the reader for a file (after Netron): signatures decide, the extension only breaks ties and
 * serves as a last resort for formats without a magic number. When every candidate fails, the
 * errors of all of them are reported; when none matches, the message says what the file looks like.
 */

/** Most specific signature first: pth before npz (both zips), pth before pdparams (legacy torch is a pickle too). */
export const READERS: readonly FormatReader[] = [pthReader, npzReader, npyReader, safetensorsReader, pdparamsReader, onnxReader];

const HEAD_SIZE = 64 * 1024;

/**
 * Zip-based formats can be read entry by entry from disk (see byteSource.ts): less memory at once,
 * aligned entries, and faster than one 100 MB read. The others need the whole file anyway.
 */
const SOURCE_READERS: Partial<Record<FormatId, (source: ByteSource, file: string, options?: ReadOptions) => Checkpoint>> = {
  pth: readPthSource,
  npz: readNpzSource,
};

/** Readers that can leave tensor data unread until it is used (ReadOptions.lazy). */
const LAZY_READERS: Partial<Record<FormatId, (source: ByteSource, file: string, options?: ReadOptions) => Checkpoint>> = {
  pth: readPthSource,
  safetensors: readSafetensorsSource,
};

const SUPPORTED =
  'Supported formats: PyTorch torch.save, zip or legacy (.pth, .pt, .bin), a timm hub folder (config.json beside the weights), safetensors (.safetensors), Paddle paddle.save (.pdparams), ' +
  'numpy (.npz, .npy, reprod_log .npy) and ONNX (.onnx).';

function extensionOf(file: string): string {
  return path.extname(file).toLowerCase();
}

/** Readers whose signature matches the head, those whose extension also fits first. */
export function candidateReaders(head: Uint8Array, file: string): FormatReader[] {
  const ext = extensionOf(file);
  const matching = READERS.filter((r) => safeMatch(r, head, file));
  return [...matching.filter((r) => r.extensions.includes(ext)), ...matching.filter((r) => !r.extensions.includes(ext))];
}

/** `match` must not throw, but a reader bug there should not hide the other readers. */
function safeMatch(r: FormatReader, head: Uint8Array, file: string): boolean {
  try {
    return r.match(head, file);
  } catch {
    return false;
  }
}

/** The format the file's first bytes (and name) suggest, or undefined when nothing matches. */
export function detectFormat(head: Uint8Array, file: string): FormatId | undefined {
  return candidateReaders(head.subarray(0, HEAD_SIZE), file)[0]?.id;
}

export function readCheckpointBytes(bytes: Uint8Array, file: string, options: ReadOptions = {}): Checkpoint {
  const head = bytes.subarray(0, HEAD_SIZE);
  const readers = candidateReaders(head, file);
  if (readers.length === 0) return checkWeightsKey(readByExtension(bytes, file, head, options), options);
  const errors: FormatError[] = [];
  for (const reader of readers) {
    try {
      return checkWeightsKey(reader.read(bytes, file, options), options);
    } catch (e) {
      if (!(e instanceof FormatError)) throw e;
      errors.push(e);
    }
  }
  if (errors.length === 1) throw errors[0];
  const detail = errors.map((e, i) => `as ${readers[i].id}: ${e.detail}${e.offset !== undefined ? ` (at byte offset ${e.offset})` : ''}`);
  throw new FormatError(file, `No reader could read the file. Tried ${detail.join('; ')}`, errors[0].offset);
}

/**
 * No signature matched: the extension gets one try (ONNX has no magic number at all). If that fails
 * too, the message leads with what the file looks like, since that is usually the real story
 * (a Git LFS pointer named .pth, an HTML error page).
 */
function readByExtension(bytes: Uint8Array, file: string, head: Uint8Array, options: ReadOptions): Checkpoint {
  const ext = extensionOf(file);
  const tried: string[] = [];
  for (const reader of READERS.filter((r) => r.extensions.includes(ext))) {
    try {
      return reader.read(bytes, file, options);
    } catch (e) {
      if (!(e instanceof FormatError)) throw e;
      tried.push(`Read as ${reader.id} because of its ${ext} extension, it fails: ${e.detail}`);
    }
  }
  throw new FormatError(file, [`The file is not a checkpoint DLA Lens can read: ${describeHead(head)}.`, ...tried, SUPPORTED].join(' '), 0);
}

/**
 * A checkpoint file, or a timm hub folder (or its config.json): its weights file read as any other,
 * with the parsed config on `hub`. `options` choose among wrapped weights (see stateDict.ts).
 */
export function readCheckpoint(filePath: string, options: ReadOptions = {}): Checkpoint {
  const hub = hubTarget(filePath);
  if (hub) {
    const config = readHubConfig(hub);
    return { ...readCheckpoint(config.weightsFile, options), hub: config };
  }
  if (options.lazy) {
    const lazy = readLazily(filePath, options);
    if (lazy) return lazy;
  }
  const source = FileSource.open(filePath);
  try {
    const head = source.read(0, Math.min(source.length, HEAD_SIZE));
    const readers = candidateReaders(head, filePath);
    const bySource = readers.length === 1 ? SOURCE_READERS[readers[0].id] : undefined;
    if (bySource) return checkWeightsKey(bySource(source, filePath, options), options);
    return readCheckpointBytes(source.read(0, source.length), filePath, options);
  } finally {
    source.close();
  }
}

/**
 * Formats whose index can be read without their data (zip .pth, .safetensors) read lazily:
 * the index now, each tensor's bytes when its data is first used, from a source that reopens the
 * file (and refuses a file that changed meanwhile). Undefined for the other formats.
 */
function readLazily(filePath: string, options: ReadOptions): Checkpoint | undefined {
  const source = ReopeningSource.open(filePath);
  const head = source.read(0, Math.min(source.length, HEAD_SIZE));
  const readers = candidateReaders(head, filePath);
  if (readers.length !== 1) return undefined;
  const reader = LAZY_READERS[readers[0].id];
  return reader ? checkWeightsKey(reader(source, filePath, options), options) : undefined;
}

/** A weights key names a dict inside a wrapped checkpoint; a format without wrappers has only its top level. */
function checkWeightsKey(ckpt: Checkpoint, options: ReadOptions): Checkpoint {
  const key = options.weightsKey;
  if (key === undefined || ckpt.weights || key === TOP_LEVEL || key === '.') return ckpt;
  throw new FormatError(
    ckpt.file,
    `There is no dict of tensors under the weights key '${key}': a ${ckpt.format} file holds its ${ckpt.tensors.size} tensors at the top level, ` +
      "with no wrapper keys. Leave the weights key out (or give '.' for the top level).",
  );
}

/**
 * The same without blocking on the bulk of the I/O: the entries of a zip-based checkpoint (or the
 * whole file otherwise) are read concurrently on libuv's thread pool, then parsed as above.
 */
export async function readCheckpointAsync(filePath: string, options: ReadOptions = {}): Promise<Checkpoint> {
  const hub = hubTarget(filePath);
  if (hub) {
    const config = readHubConfig(hub);
    return { ...(await readCheckpointAsync(config.weightsFile, options)), hub: config };
  }
  const source = FileSource.open(filePath);
  try {
    const head = source.read(0, Math.min(source.length, HEAD_SIZE));
    const readers = candidateReaders(head, filePath);
    const bySource = readers.length === 1 ? SOURCE_READERS[readers[0].id] : undefined;
    // Only a zip's entries can be fetched ahead; anything else (a legacy torch.save, its tar) is read whole.
    if (!bySource || !looksLikeZip(head)) return readCheckpointBytes(await source.readAsync(0, source.length), filePath, options);
    // A corrupt directory fails here exactly as it would in the reader, with the same FormatError.
    const zip = readZipSource(source, filePath);
    const ranges = zip.entries.map((e) => [zip.dataOffset(e), e.compressedSize] as const);
    return checkWeightsKey(bySource(await prefetch(source, ranges), filePath, options), options);
  } finally {
    source.close();
  }
}

/** What the first bytes look like, for the "not a checkpoint" message. */
export function describeHead(head: Uint8Array): string {
  if (head.length === 0) return 'it is empty';
  const text = latin1.decode(head.subarray(0, 64));
  const hex = [...head.subarray(0, 8)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
  const starts = `it starts with bytes ${hex}`;
  if (text.startsWith('version https://git-lfs')) return `${starts}, a Git LFS pointer: the real file was never downloaded (run git lfs pull)`;
  if (/^\s*<(!doctype|html|\?xml)/i.test(text)) return `${starts}, an HTML or XML page, perhaps a download error page`;
  if (head[0] === 0x1f && head[1] === 0x8b) return `${starts}, a gzip file: decompress it first`;
  if (head[0] === 0x50 && head[1] === 0x4b) return `${starts}, a zip archive that is neither a torch.save checkpoint nor an npz`;
  if (head[0] === 0x80) return `${starts}, a Python pickle of an unsupported kind`;
  if (text.startsWith('\x89PNG') || (head[0] === 0xff && head[1] === 0xd8)) return `${starts}, an image (PNG or JPEG), not a checkpoint`;
  if (text.startsWith('\x89HDF')) return `${starts}, an HDF5 file (Keras .h5), which is not supported`;
  if (/^[\x20-\x7e\s]{8}/.test(text)) return `${starts}, which is text ('${text.slice(0, 24).replace(/\s+/g, ' ')}...')`;
  return `${starts}, which matches no known checkpoint signature`;
}
