import * as zlib from 'zlib';
import { constants as bufferConstants } from 'buffer';
import { FormatError } from '../errors';
import { BinaryReader, utf8 } from './binaryReader';
import { memorySource, type ByteSource } from './byteSource';

/**
 * A read-only zip reader built on the central directory, which is the only trustworthy index:
 * torch writes local headers with zero sizes (streamed, flag 0x0808) and numpy puts zip64 extras in
 * every local header. Every offset and length is checked against the file before it is used.
 * It reads through a ByteSource, so the file can be in memory or read entry by entry from disk.
 */

const LOCAL_HEADER = 0x04034b50;
const CENTRAL_HEADER = 0x02014b50;
const EOCD = 0x06054b50;
const ZIP64_EOCD = 0x06064b50;
const ZIP64_LOCATOR = 0x07064b50;

const EOCD_SIZE = 22;
const ZIP64_LOCATOR_SIZE = 20;
const ZIP64_EOCD_MIN_SIZE = 56;
const CENTRAL_HEADER_SIZE = 46;
const LOCAL_HEADER_SIZE = 30;
const MAX_COMMENT = 0xffff;
/** Deflate cannot expand better than about 1032:1; a larger declared ratio is a corrupt size field. */
const MAX_DEFLATE_RATIO = 1032;

export const STORED = 0;
export const DEFLATED = 8;

export interface ZipEntry {
  readonly name: string;
  /** Compression method: 0 stored, 8 deflated; anything else is refused by entryData. */
  readonly method: number;
  readonly flags: number;
  readonly crc32: number;
  readonly compressedSize: number;
  readonly uncompressedSize: number;
  /** File offset of the entry's local header. */
  readonly localHeaderOffset: number;
  /** File offset of this entry's central directory record, for error messages. */
  readonly centralOffset: number;
}

/** True when `head` starts like a zip file (a local header, or the EOCD of an empty archive). */
export function looksLikeZip(head: Uint8Array): boolean {
  if (head.length < 4 || head[0] !== 0x50 || head[1] !== 0x4b) return false;
  return (head[2] === 3 && head[3] === 4) || (head[2] === 5 && head[3] === 6);
}

/** Name of the first local header's entry, read from the head alone (for cheap `match` sniffing). */
export function firstEntryName(head: Uint8Array): string | undefined {
  if (head.length < LOCAL_HEADER_SIZE || !looksLikeZip(head) || head[2] !== 3) return undefined;
  const nameLength = head[26] | (head[27] << 8);
  if (LOCAL_HEADER_SIZE + nameLength > head.length) return undefined;
  return utf8.decode(head.subarray(LOCAL_HEADER_SIZE, LOCAL_HEADER_SIZE + nameLength));
}

export class ZipArchive {
  /** Entries in central directory order. */
  readonly entries: readonly ZipEntry[];
  private readonly byName = new Map<string, ZipEntry>();
  private readonly dataOffsets = new Map<ZipEntry, number>();

  constructor(
    readonly source: ByteSource,
    readonly file: string,
    entries: ZipEntry[],
  ) {
    this.entries = entries;
    for (const e of entries) {
      // A duplicate name would make "which one did you mean" ambiguous; refuse rather than guess.
      if (this.byName.has(e.name)) {
        throw new FormatError(file, `The zip archive holds two entries named '${e.name}'.`, e.centralOffset);
      }
      this.byName.set(e.name, e);
    }
  }

  get(name: string): ZipEntry | undefined {
    return this.byName.get(name);
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  /** File offset of the entry's data, found by reading (and checking) its local header. */
  dataOffset(entry: ZipEntry): number {
    const cached = this.dataOffsets.get(entry);
    if (cached !== undefined) return cached;
    const at = entry.localHeaderOffset;
    const header = new BinaryReader(this.source.read(at, Math.min(LOCAL_HEADER_SIZE, this.source.length - at)), this.file, at);
    if (header.remaining < LOCAL_HEADER_SIZE || header.u32() !== LOCAL_HEADER) {
      throw new FormatError(
        this.file,
        `Expected a zip local header signature for entry '${entry.name}', as the central directory says, but found other bytes.`,
        at,
      );
    }
    header.skip(22);
    const start = at + LOCAL_HEADER_SIZE + header.u16() + header.u16();
    if (start + entry.compressedSize > this.source.length) {
      throw new FormatError(
        this.file,
        `Entry '${entry.name}' declares ${entry.compressedSize} bytes of data but only ${Math.max(0, this.source.length - start)} remain in the file. The file might be truncated.`,
        Math.min(start, this.source.length),
      );
    }
    this.dataOffsets.set(entry, start);
    return start;
  }

  /** The entry's raw compressed bytes. */
  rawData(entry: ZipEntry): Uint8Array {
    return this.source.read(this.dataOffset(entry), entry.compressedSize);
  }

  /**
   * The entry's uncompressed bytes: for stored entries a view (in memory) or a read of just that
   * entry (from a file); for deflated ones a fresh buffer, inflation capped at the declared size so a
   * forged size cannot exhaust memory.
   */
  entryData(entry: ZipEntry): Uint8Array {
    if (entry.method === STORED) {
      if (entry.compressedSize !== entry.uncompressedSize) {
        throw new FormatError(
          this.file,
          `Stored entry '${entry.name}' declares ${entry.compressedSize} compressed but ${entry.uncompressedSize} uncompressed bytes; for a stored entry they must be equal.`,
          entry.centralOffset,
        );
      }
      return this.rawData(entry);
    }
    if (entry.method === DEFLATED) return this.inflate(entry);
    throw new FormatError(
      this.file,
      `Entry '${entry.name}' uses zip compression method ${entry.method}; only stored (0) and deflated (8) are supported.`,
      entry.centralOffset,
    );
  }

  private inflate(entry: ZipEntry): Uint8Array {
    const size = entry.uncompressedSize;
    if (size > bufferConstants.MAX_LENGTH || size > entry.compressedSize * MAX_DEFLATE_RATIO + 1024) {
      throw new FormatError(
        this.file,
        `Deflated entry '${entry.name}' declares ${size} uncompressed bytes from ${entry.compressedSize} compressed bytes, which deflate cannot produce. The size field is corrupt.`,
        entry.centralOffset,
      );
    }
    const start = this.dataOffset(entry);
    const raw = this.source.read(start, entry.compressedSize);
    let out: Buffer;
    try {
      out = zlib.inflateRawSync(raw, { maxOutputLength: Math.max(1, size) });
    } catch (e) {
      throw new FormatError(
        this.file,
        `Could not inflate entry '${entry.name}' to its declared ${size} bytes: ${(e as Error).message}.`,
        start,
      );
    }
    if (out.length !== size) {
      throw new FormatError(
        this.file,
        `Entry '${entry.name}' inflated to ${out.length} bytes but the central directory declares ${size}.`,
        start,
      );
    }
    // A bit flip in deflated data can still inflate cleanly; the CRC is the only thing that notices.
    if (typeof zlib.crc32 === 'function' && zlib.crc32(out) >>> 0 !== entry.crc32 >>> 0) {
      throw new FormatError(
        this.file,
        `Entry '${entry.name}' fails its CRC-32 check (expected ${hex32(entry.crc32)}, found ${hex32(zlib.crc32(out))}). The file is corrupted.`,
        start,
      );
    }
    return new Uint8Array(out.buffer, out.byteOffset, out.length);
  }
}

function hex32(v: number): string {
  return '0x' + (v >>> 0).toString(16).padStart(8, '0');
}

/** Parse the central directory of a zip file held in `bytes`. Stored entries are views into it. */
export function readZip(bytes: Uint8Array, file: string): ZipArchive {
  return readZipSource(memorySource(bytes, file), file);
}

/** Parse the central directory of a zip file read through `source`. */
export function readZipSource(source: ByteSource, file: string): ZipArchive {
  const size = source.length;
  if (size < EOCD_SIZE) {
    throw new FormatError(file, `A zip file needs at least ${EOCD_SIZE} bytes for its end record; this one has ${size}.`, 0);
  }
  // The end record, the zip64 locator before it and any comment all lie in the tail.
  const tailStart = Math.max(0, size - EOCD_SIZE - MAX_COMMENT - ZIP64_LOCATOR_SIZE);
  const tail = source.read(tailStart, size - tailStart);
  const eocdOffset = tailStart + findEocd(tail, file, tailStart);
  const r = new BinaryReader(tail, file, tailStart);
  r.seek(eocdOffset - tailStart + 4);
  const disk = r.u16();
  const cdDisk = r.u16();
  let entriesOnDisk = r.u16();
  let entryCount = r.u16();
  let cdSize = r.u32();
  let cdOffset = r.u32();

  // Zip64: the locator sits just before the classic EOCD. torch always writes one; numpy only when needed.
  const locatorOffset = eocdOffset - ZIP64_LOCATOR_SIZE;
  let cdEnd = eocdOffset;
  if (locatorOffset >= tailStart && readU32(tail, locatorOffset - tailStart) === ZIP64_LOCATOR) {
    r.seek(locatorOffset - tailStart + 8);
    const zip64Offset = r.u64();
    if (zip64Offset + ZIP64_EOCD_MIN_SIZE > locatorOffset) {
      throw new FormatError(
        file,
        `The zip64 locator points to offset ${zip64Offset}, which leaves no room for a zip64 end record before the locator.`,
        locatorOffset,
      );
    }
    const z = new BinaryReader(source.read(zip64Offset, ZIP64_EOCD_MIN_SIZE), file, zip64Offset);
    if (z.u32() !== ZIP64_EOCD) {
      throw new FormatError(file, 'Expected the zip64 end-of-central-directory signature where the zip64 locator points.', zip64Offset);
    }
    z.skip(8 + 2 + 2 + 4 + 4);
    entriesOnDisk = z.u64();
    entryCount = z.u64();
    cdSize = z.u64();
    cdOffset = z.u64();
    cdEnd = zip64Offset;
  } else if (entryCount === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    throw new FormatError(file, 'The zip end record says zip64 but there is no zip64 locator before it.', eocdOffset);
  }
  if (disk !== 0 || cdDisk !== 0 || entriesOnDisk !== entryCount) {
    throw new FormatError(file, 'This is one part of a multi-disk (split) zip archive, which is not supported.', eocdOffset);
  }
  if (cdOffset + cdSize > cdEnd) {
    throw new FormatError(
      file,
      `The central directory (offset ${cdOffset}, ${cdSize} bytes) runs past the end record at ${cdEnd}. The file might be truncated or corrupted.`,
      eocdOffset,
    );
  }
  if (entryCount * CENTRAL_HEADER_SIZE > cdSize) {
    throw new FormatError(
      file,
      `The zip end record declares ${entryCount} entries, which cannot fit in a ${cdSize}-byte central directory.`,
      eocdOffset,
    );
  }
  const cd = new BinaryReader(source.read(cdOffset, cdSize), file, cdOffset);
  const entries: ZipEntry[] = [];
  for (let i = 0; i < entryCount; i++) entries.push(readCentralEntry(cd, size, file));
  return new ZipArchive(source, file, entries);
}

function readU32(bytes: Uint8Array, at: number): number {
  return (bytes[at] | (bytes[at + 1] << 8) | (bytes[at + 2] << 16) | (bytes[at + 3] << 24)) >>> 0;
}

/** Scan back from the end for the EOCD signature (it may be followed by a comment of up to 64 KiB). */
function findEocd(tail: Uint8Array, file: string, tailStart: number): number {
  const last = tail.length - EOCD_SIZE;
  for (let at = last; at >= 0; at--) {
    if (tail[at] !== 0x50 || readU32(tail, at) !== EOCD) continue;
    const commentLength = tail[at + 20] | (tail[at + 21] << 8);
    // The comment must reach exactly to the end of the file, else this is a stray signature.
    if (at + EOCD_SIZE + commentLength === tail.length) return at;
  }
  throw new FormatError(
    file,
    'Expected a zip end-of-central-directory record in the last 64 KiB but found none. The file might be truncated.',
    tailStart + tail.length,
  );
}

function readCentralEntry(cd: BinaryReader, fileSize: number, file: string): ZipEntry {
  const centralOffset = cd.base + cd.position;
  if (cd.u32() !== CENTRAL_HEADER) {
    throw new FormatError(file, 'Expected a zip central directory header signature.', centralOffset);
  }
  cd.skip(4);
  const flags = cd.u16();
  const method = cd.u16();
  cd.skip(4);
  const crc32 = cd.u32();
  let compressedSize = cd.u32();
  let uncompressedSize = cd.u32();
  const nameLength = cd.u16();
  const extraLength = cd.u16();
  const commentLength = cd.u16();
  cd.skip(8);
  let localHeaderOffset = cd.u32();
  // Names are UTF-8 in every writer we read (torch, numpy, Python zipfile), flagged or not.
  const name = utf8.decode(cd.read(nameLength));
  const extra = new BinaryReader(cd.read(extraLength), file, cd.base + cd.position - extraLength);
  cd.skip(commentLength);

  // The zip64 extra field holds, in this order, only the fields whose 32-bit slot is 0xFFFFFFFF.
  while (extra.remaining >= 4) {
    const id = extra.u16();
    const size = extra.u16();
    const body = new BinaryReader(extra.read(size), file, extra.base + extra.position - size);
    if (id !== 0x0001) continue;
    if (uncompressedSize === 0xffffffff) uncompressedSize = body.u64();
    if (compressedSize === 0xffffffff) compressedSize = body.u64();
    if (localHeaderOffset === 0xffffffff) localHeaderOffset = body.u64();
  }
  if (localHeaderOffset + LOCAL_HEADER_SIZE > fileSize || localHeaderOffset + compressedSize > fileSize) {
    throw new FormatError(
      file,
      `Entry '${name}' claims a local header at ${localHeaderOffset} with ${compressedSize} bytes of data, beyond the ${fileSize}-byte file.`,
      centralOffset,
    );
  }
  if (flags & 1) {
    throw new FormatError(file, `Entry '${name}' is encrypted, which is not supported.`, centralOffset);
  }
  return { name, method, flags, crc32, compressedSize, uncompressedSize, localHeaderOffset, centralOffset };
}
