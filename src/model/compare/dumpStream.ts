import * as zlib from 'zlib';
import { toTimmRecordNames } from '../dla/keymap';
import { FormatError } from '../errors';
import { FileSource } from '../formats/byteSource';
import { readNpyHeader } from '../formats/npy';
import { dtypeFromDescr } from '../formats/numpyPickle';
import { readCheckpoint } from '../formats/registry';
import { STORED, readZipSource, type ZipArchive, type ZipEntry } from '../formats/zip';
import { DTYPE_BYTES, numel, toFloat32, typedView, type DType, type Tensor } from '../tensor';

/**
 * A candidate's activation dump read record by record, and image by image within a record, so a
 * batch comparison holds one chunk of one record of the dump at a time instead of the whole file
 * (a dla60 dump of 32 images at 224² is 5 GB). In a stored .npz (np.savez) a record's images are
 * contiguous C-order bytes, read with one positioned read per chunk; a deflated entry
 * (np.savez_compressed) has to be inflated whole for its data, once per chunk that reads it (only
 * the last one inflated is kept), so a compressed dump of many images costs that many inflations
 * of every record: np.savez is the format for batches (README). Headers come from the first
 * compressed bytes alone. A reprod_log .npy is one pickle, read whole. Record names are the comparison's (timm keys,
 * Paddle's `pool` read as `global_pool.pool`), as dumpRecords() gives them.
 */

interface Entry {
  readonly entry: ZipEntry;
  readonly dtype: DType;
  readonly shape: readonly number[];
  /** File offset of the array's data (stored entries), or its offset in the inflated bytes (deflated). */
  readonly dataOffset: number;
}

const HEADER_READ = 64 << 10;
/** Compressed bytes inflated for a header: at deflate's most (about 1000:1) a few MB out, never a whole record. */
const HEADER_PREFIX = 4 << 10;

export class DumpStream {
  private readonly zipEntries = new Map<string, { fileKey: string; entry: ZipEntry }>();
  private readonly entries = new Map<string, Entry>();
  private inflated: { name: string; bytes: Uint8Array } | undefined;
  private closed = false;

  private constructor(
    readonly file: string,
    private readonly source: FileSource | undefined,
    private readonly zip: ZipArchive | undefined,
    private readonly whole: ReadonlyMap<string, Tensor> | undefined,
  ) {}

  static open(file: string): DumpStream {
    if (!/\.npz$/i.test(file)) {
      const tensors = toTimmRecordNames(readCheckpoint(file).tensors).tensors;
      return new DumpStream(file, undefined, undefined, tensors);
    }
    const source = FileSource.open(file);
    try {
      const zip = readZipSource(source, file);
      const stream = new DumpStream(file, source, zip, undefined);
      stream.index();
      return stream;
    } catch (e) {
      source.close();
      throw e;
    }
  }

  /** Entry names to record keys; each entry's header is read when its record is first asked about. */
  private index(): void {
    const byFileKey = new Map<string, ZipEntry>();
    for (const entry of this.zip!.entries) {
      if (entry.name.endsWith('/')) continue;
      if (!entry.name.endsWith('.npy')) {
        throw new FormatError(this.file, `Expected every npz entry to be named '<key>.npy' but found '${entry.name}'.`, entry.centralOffset);
      }
      byFileKey.set(entry.name.slice(0, -'.npy'.length), entry);
    }
    // The comparison's names (Paddle aliases), computed on the keys alone.
    const placeholders = new Map([...byFileKey.keys()].map((k) => [k, { dtype: 'float32', shape: [], data: new Float32Array(0) } as Tensor]));
    const { tensors, renamed } = toTimmRecordNames(placeholders);
    const from = new Map(renamed.map(([file, timm]) => [timm, file]));
    for (const key of tensors.keys()) this.zipEntries.set(key, { fileKey: from.get(key) ?? key, entry: byFileKey.get(from.get(key) ?? key)! });
  }

  private header(key: string): Entry | undefined {
    const cached = this.entries.get(key);
    if (cached) return cached;
    const z = this.zipEntries.get(key);
    if (!z) return undefined;
    const { entry, fileKey } = z;
    const stored = entry.method === STORED;
    const start = this.zip!.dataOffset(entry);
    const h = stored
      ? readNpyHeader(this.source!.read(start, Math.min(entry.uncompressedSize, HEADER_READ)), this.file, start, fileKey)
      : this.deflatedHeader(entry, fileKey);
    const dtype = dtypeFromDescr(h.descr);
    if (typeof dtype !== 'string') throw new FormatError(this.file, `Cannot read the array: ${dtype.reason}.`, start + h.dataOffset, fileKey);
    if (h.fortranOrder) throw new FormatError(this.file, 'The array is stored in Fortran order, which is not supported; re-save it with np.ascontiguousarray.', start, fileKey);
    const need = numel(h.shape) * DTYPE_BYTES[dtype];
    if (entry.uncompressedSize - h.dataOffset !== need) {
      throw new FormatError(
        this.file,
        `Array of shape [${h.shape.join(', ')}] and dtype ${dtype} needs ${need} bytes of data after the header but ${entry.uncompressedSize - h.dataOffset} are present.`,
        start, fileKey,
      );
    }
    const e: Entry = { entry, dtype, shape: h.shape, dataOffset: stored ? start + h.dataOffset : h.dataOffset };
    this.entries.set(key, e);
    return e;
  }

  /**
   * A deflated entry's npy header from the first compressed bytes alone (a header is a few hundred
   * bytes at the front); only when those do not hold it is the entry inflated whole, which also
   * gives the reader's own error for a broken one.
   */
  private deflatedHeader(entry: ZipEntry, fileKey: string): ReturnType<typeof readNpyHeader> {
    try {
      const prefix = this.source!.read(this.zip!.dataOffset(entry), Math.min(entry.compressedSize, HEADER_PREFIX));
      return readNpyHeader(new Uint8Array(zlib.inflateRawSync(prefix, { finishFlush: zlib.constants.Z_SYNC_FLUSH })), this.file, 0, fileKey);
    } catch {
      return readNpyHeader(this.inflate(entry), this.file, 0, fileKey);
    }
  }

  private inflate(entry: ZipEntry): Uint8Array {
    if (this.inflated?.name !== entry.name) this.inflated = { name: entry.name, bytes: this.zip!.entryData(entry) };
    return this.inflated.bytes;
  }

  /** Record keys, in the file's order. */
  keys(): string[] {
    return this.whole ? [...this.whole.keys()] : [...this.zipEntries.keys()];
  }

  /** Every record's shape, by key (from the headers alone). */
  shapes(): Map<string, readonly number[]> {
    return new Map(this.keys().map((k) => [k, this.shape(k)!]));
  }

  has(key: string): boolean {
    return this.whole ? this.whole.has(key) : this.zipEntries.has(key);
  }

  shape(key: string): readonly number[] | undefined {
    return this.whole ? this.whole.get(key)?.shape : this.header(key)?.shape;
  }

  /** The whole record (a one-image dump's, or the dump's `input`). */
  get(key: string): Tensor | undefined {
    const shape = this.shape(key);
    return shape === undefined ? undefined : this.slice(key, 0, shape[0] ?? 1, true);
  }

  /**
   * Images [start, start + count) of a record whose first dimension is the batch, as float32.
   * `whole`: the record as stored, whatever its rank (a 0- or 1-d record has no batch to slice).
   */
  slice(key: string, start: number, count: number, whole = false): Tensor {
    const shape = this.shape(key);
    if (!shape) throw new Error(`${this.file} holds no record '${key}'.`);
    if (!whole && (shape.length === 0 || shape[0] < start + count)) {
      throw new FormatError(this.file, `Record '${key}' has shape [${shape.join(', ')}]: its first dimension holds fewer than the ${start + count} images asked for.`, undefined, key);
    }
    const per = whole ? numel(shape) : numel(shape.slice(1));
    const outShape = whole ? shape : [count, ...shape.slice(1)];
    if (this.whole) {
      const data = toFloat32(this.whole.get(key)!);
      return { dtype: 'float32', shape: outShape, data: whole ? data : data.subarray(start * per, (start + count) * per) };
    }
    const e = this.header(key)!;
    const size = DTYPE_BYTES[e.dtype];
    const from = e.dataOffset + (whole ? 0 : start * per * size);
    const n = whole ? per : count * per;
    const bytes = e.entry.method === STORED ? this.source!.read(from, n * size) : this.inflate(e.entry).subarray(from, from + n * size);
    const data = typedView(e.dtype, bytes, 0, n);
    return { dtype: 'float32', shape: outShape, data: toFloat32({ dtype: e.dtype, shape: outShape, data }) };
  }

  close(): void {
    if (!this.closed) this.source?.close();
    this.closed = true;
    this.inflated = undefined;
  }
}
