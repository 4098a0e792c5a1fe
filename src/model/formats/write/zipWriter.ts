import { crc32 } from '../crc32';
import { concatParts } from './pickleWriter';

/**
 * Stored (uncompressed) zip archives whose entry data starts on an aligned file offset, so that a
 * reader can take typed-array views of the file instead of copies. The .npz writer and the .pth
 * writer both write these; they differ only in the header fields of `StoredZipLayout` (torch's
 * readers check its own, see pthWriter).
 */

/** The header fields in which the archives written here differ. */
export interface StoredZipLayout {
  /** Each entry's data starts on a multiple of this, reached by padding the local header's extra field. */
  readonly align: number;
  /** The padding extra field's id (readers skip ids they do not know) and the byte it is filled with. */
  readonly paddingId: number;
  readonly paddingFill: number;
  /** "Version made by" and "version needed to extract", in local and central headers alike. */
  readonly version: number;
  /** General-purpose flags. With DATA_DESCRIPTOR, CRC and sizes follow the data instead of filling the local header. */
  readonly flags: number;
  /** Every entry's MS-DOS date (its time is 0): fixed, so that the output is byte-for-byte reproducible. */
  readonly dosDate: number;
  /** Write the zip64 end records even when the archive does not need them (and allow over 65535 entries). */
  readonly zip64End: boolean;
}

export const UTF8_NAMES = 0x0800;
export const DATA_DESCRIPTOR = 0x0008;

const LOCAL_HEADER = 30;
const PADDING_HEADER = 4; // the extra field's id and length, before its padding bytes
const DESCRIPTOR = 16;
const CENTRAL_HEADER = 46;
const ZIP64_EOCD = 56;
const ZIP64_LOCATOR = 20;
const EOCD = 22;

/** 1980-01-01, the zip epoch. */
const ZIP_EPOCH = (0 << 9) | (1 << 5) | 1;

/** What `writeStoredZip` writes: plain headers that every reader takes (numpy's included). */
const PLAIN: StoredZipLayout = {
  align: 64, paddingId: 0xd1a0, paddingFill: 0, version: 20, flags: UTF8_NAMES, dosDate: ZIP_EPOCH, zip64End: false,
};

/** One file of an archive: its name and its content, as one array or as parts written back to back. */
export type ZipFile = readonly [string, Uint8Array | readonly Uint8Array[]];

interface Entry {
  readonly name: Uint8Array;
  readonly size: number;
  readonly crc: number;
  readonly offset: number;
}

/**
 * A stored zip of the given files, each given as one or more byte parts written back to back (so
 * an npy header and its array need no concatenation). Each file's data starts on a 64-byte boundary.
 */
export function writeStoredZip(files: Iterable<ZipFile>): Uint8Array {
  return concatParts(storedZipParts(files, PLAIN));
}

/** A stored zip in `layout`, as parts in file order: the files' own parts are referenced, not copied. */
export function storedZipParts(files: Iterable<ZipFile>, layout: StoredZipLayout): Uint8Array[] {
  const hasDescriptor = (layout.flags & DATA_DESCRIPTOR) !== 0;
  const out: Uint8Array[] = [];
  const entries: Entry[] = [];
  let offset = 0;
  for (const [fileName, content] of files) {
    const parts = content instanceof Uint8Array ? [content] : content;
    const entry: Entry = {
      name: new TextEncoder().encode(fileName),
      size: parts.reduce((n, p) => n + p.length, 0),
      crc: parts.reduce((c, p) => crc32(p, c), 0),
      offset,
    };
    const header = localHeader(entry, layout, hasDescriptor);
    out.push(header, ...parts);
    if (hasDescriptor) out.push(dataDescriptor(entry));
    entries.push(entry);
    offset += header.length + entry.size + (hasDescriptor ? DESCRIPTOR : 0);
  }
  out.push(centralDirectory(entries, offset, layout));
  return out;
}

function localHeader(e: Entry, layout: StoredZipLayout, hasDescriptor: boolean): Uint8Array {
  const fixed = LOCAL_HEADER + e.name.length + PADDING_HEADER;
  const padding = (layout.align - ((e.offset + fixed) % layout.align)) % layout.align;
  const header = new Uint8Array(fixed + padding);
  const v = new DataView(header.buffer);
  v.setUint32(0, 0x04034b50, true);
  v.setUint16(4, layout.version, true);
  v.setUint16(6, layout.flags, true);
  // method (stored) and time stay 0
  v.setUint16(12, layout.dosDate, true);
  if (!hasDescriptor) {
    v.setUint32(14, e.crc, true);
    v.setUint32(18, e.size, true);
    v.setUint32(22, e.size, true);
  }
  v.setUint16(26, e.name.length, true);
  v.setUint16(28, PADDING_HEADER + padding, true);
  header.set(e.name, LOCAL_HEADER);
  const extra = LOCAL_HEADER + e.name.length;
  v.setUint16(extra, layout.paddingId, true);
  v.setUint16(extra + 2, padding, true);
  header.fill(layout.paddingFill, extra + PADDING_HEADER);
  return header;
}

function dataDescriptor(e: Entry): Uint8Array {
  const descriptor = new Uint8Array(DESCRIPTOR);
  const v = new DataView(descriptor.buffer);
  v.setUint32(0, 0x08074b50, true);
  v.setUint32(4, e.crc, true);
  v.setUint32(8, e.size, true);
  v.setUint32(12, e.size, true);
  return descriptor;
}

/** The central directory and end records, for a directory starting at `centralOffset`. */
function centralDirectory(entries: readonly Entry[], centralOffset: number, layout: StoredZipLayout): Uint8Array {
  const centralSize = entries.reduce((n, e) => n + CENTRAL_HEADER + e.name.length, 0);
  const endSize = (layout.zip64End ? ZIP64_EOCD + ZIP64_LOCATOR : 0) + EOCD;
  // Offsets and sizes are written in 32 bits (no zip64 extra fields), and without zip64 end records
  // so is the entry count in 16.
  const total = centralOffset + centralSize + endSize;
  if (total > 0xffffffff || (!layout.zip64End && entries.length > 0xffff)) {
    throw new Error(`The zip would be ${total} bytes with ${entries.length} entries; writing zip64 archives is not supported.`);
  }
  const tail = new Uint8Array(centralSize + endSize);
  const v = new DataView(tail.buffer);
  let at = 0;
  for (const e of entries) {
    v.setUint32(at, 0x02014b50, true);
    v.setUint16(at + 4, layout.version, true);
    v.setUint16(at + 6, layout.version, true);
    v.setUint16(at + 8, layout.flags, true);
    // method and time 0 (stored)
    v.setUint16(at + 14, layout.dosDate, true);
    v.setUint32(at + 16, e.crc, true);
    v.setUint32(at + 20, e.size, true);
    v.setUint32(at + 24, e.size, true);
    v.setUint16(at + 28, e.name.length, true);
    // extra, comment, disk, internal attributes, external attributes: all zero
    v.setUint32(at + 42, e.offset, true);
    tail.set(e.name, at + CENTRAL_HEADER);
    at += CENTRAL_HEADER + e.name.length;
  }
  if (layout.zip64End) {
    v.setUint32(at, 0x06064b50, true);
    v.setBigUint64(at + 4, BigInt(ZIP64_EOCD - 12), true);
    v.setUint16(at + 12, 0x031e, true); // made by: Unix, spec 3.0 (as miniz writes it)
    v.setUint16(at + 14, 0x002d, true); // needed: 4.5 (zip64)
    v.setBigUint64(at + 24, BigInt(entries.length), true);
    v.setBigUint64(at + 32, BigInt(entries.length), true);
    v.setBigUint64(at + 40, BigInt(centralSize), true);
    v.setBigUint64(at + 48, BigInt(centralOffset), true);
    at += ZIP64_EOCD;
    v.setUint32(at, 0x07064b50, true);
    v.setBigUint64(at + 8, BigInt(centralOffset + centralSize), true);
    v.setUint32(at + 16, 1, true); // total number of disks
    at += ZIP64_LOCATOR;
  }
  v.setUint32(at, 0x06054b50, true);
  v.setUint16(at + 8, Math.min(entries.length, 0xffff), true);
  v.setUint16(at + 10, Math.min(entries.length, 0xffff), true);
  v.setUint32(at + 12, centralSize, true);
  v.setUint32(at + 16, centralOffset, true);
  return tail;
}
