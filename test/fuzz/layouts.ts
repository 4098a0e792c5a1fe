/**
 * Where the structure of each seed file lies - its boundaries and its length fields - found by
 * small parsers of the fuzz suite's own, independent of the readers under test, so mutations can
 * aim at the fields a reader must not trust.
 */

/** A little-endian integer field in a file. */
export interface Field {
  readonly at: number;
  readonly width: 1 | 2 | 4 | 8;
  readonly signed?: boolean;
  /** What it is, for the case's description. */
  readonly name: string;
}

export interface Layout {
  /** Offsets where one structure ends and the next begins. */
  readonly boundaries: number[];
  readonly fields: Field[];
}

const u16 = (b: Uint8Array, at: number) => b[at] | (b[at + 1] << 8);
const u32 = (b: Uint8Array, at: number) => (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;
const u64 = (b: Uint8Array, at: number) => u32(b, at) + u32(b, at + 4) * 2 ** 32;

// ---------------------------------------------------------------------------------------------
// zip

export interface ZipEntryLayout {
  readonly name: string;
  readonly central: number;
  readonly local: number;
  readonly data: number;
  readonly size: number;
}

export interface ZipLayout extends Layout {
  readonly entries: ZipEntryLayout[];
  readonly eocd: number;
}

/** Central directory, local headers and end records of a well-formed seed zip. */
export function zipLayout(b: Uint8Array): ZipLayout {
  let eocd = b.length - 22;
  while (eocd >= 0 && u32(b, eocd) !== 0x06054b50) eocd--;
  if (eocd < 0) throw new Error('seed is not a zip');
  const fields: Field[] = [
    { at: eocd + 8, width: 2, name: 'EOCD entries on disk' },
    { at: eocd + 10, width: 2, name: 'EOCD entry count' },
    { at: eocd + 12, width: 4, name: 'EOCD directory size' },
    { at: eocd + 16, width: 4, name: 'EOCD directory offset' },
    { at: eocd + 20, width: 2, name: 'EOCD comment length' },
  ];
  const boundaries = [eocd, b.length];
  let cdOffset = u32(b, eocd + 16);
  let count = u16(b, eocd + 10);
  const locator = eocd - 20;
  if (locator >= 0 && u32(b, locator) === 0x07064b50) {
    const z = u64(b, locator + 8);
    fields.push({ at: locator + 8, width: 8, name: 'zip64 locator offset' });
    fields.push(
      { at: z + 4, width: 8, name: 'zip64 record size' },
      { at: z + 24, width: 8, name: 'zip64 entries on disk' },
      { at: z + 32, width: 8, name: 'zip64 entry count' },
      { at: z + 40, width: 8, name: 'zip64 directory size' },
      { at: z + 48, width: 8, name: 'zip64 directory offset' },
    );
    boundaries.push(z, locator);
    count = u64(b, z + 32);
    cdOffset = u64(b, z + 48);
  }
  const entries: ZipEntryLayout[] = [];
  let at = cdOffset;
  boundaries.push(cdOffset);
  for (let i = 0; i < count; i++) {
    const nameLength = u16(b, at + 28);
    const extraLength = u16(b, at + 30);
    const commentLength = u16(b, at + 32);
    const name = new TextDecoder().decode(b.subarray(at + 46, at + 46 + nameLength));
    let size = u32(b, at + 20);
    let local = u32(b, at + 42);
    fields.push(
      { at: at + 8, width: 2, name: `'${name}' flags` },
      { at: at + 10, width: 2, name: `'${name}' method` },
      { at: at + 20, width: 4, name: `'${name}' compressed size` },
      { at: at + 24, width: 4, name: `'${name}' uncompressed size` },
      { at: at + 28, width: 2, name: `'${name}' name length` },
      { at: at + 30, width: 2, name: `'${name}' extra length` },
      { at: at + 32, width: 2, name: `'${name}' comment length` },
      { at: at + 42, width: 4, name: `'${name}' local header offset` },
    );
    // zip64 extra: the u64s of whichever 32-bit slots hold 0xffffffff, in order.
    let e = at + 46 + nameLength;
    const extraEnd = e + extraLength;
    while (e + 4 <= extraEnd) {
      const id = u16(b, e);
      const len = u16(b, e + 2);
      fields.push({ at: e + 2, width: 2, name: `'${name}' extra field length` });
      if (id === 1) {
        let f = e + 4;
        for (const slot of [24, 20, 42]) {
          if (u32(b, at + slot) === 0xffffffff && f + 8 <= e + 4 + len) {
            fields.push({ at: f, width: 8, name: `'${name}' zip64 ${slot === 42 ? 'offset' : 'size'}` });
            if (slot === 20) size = u64(b, f);
            if (slot === 42) local = u64(b, f);
            f += 8;
          }
        }
      }
      e += 4 + len;
    }
    const data = local + 30 + u16(b, local + 26) + u16(b, local + 28);
    fields.push(
      { at: local + 18, width: 4, name: `'${name}' local compressed size` },
      { at: local + 22, width: 4, name: `'${name}' local uncompressed size` },
      { at: local + 26, width: 2, name: `'${name}' local name length` },
      { at: local + 28, width: 2, name: `'${name}' local extra length` },
    );
    boundaries.push(at, local, local + 30, data, data + size);
    entries.push({ name, central: at, local, data, size });
    at += 46 + nameLength + extraLength + commentLength;
  }
  return { boundaries, fields, entries, eocd };
}

// ---------------------------------------------------------------------------------------------
// pickle

type ArgKind = 'none' | 1 | 2 | 4 | 8 | 'len1' | 'len4' | 'len8' | 'line' | 'lines2';

/** Every opcode's argument, as pickletools documents them (protocols 0-5). */
export const PICKLE_ARGS: Record<number, ArgKind> = {
  0x80: 1, 0x95: 8, 0x2e: 'none', 0x28: 'none', 0x30: 'none', 0x31: 'none', 0x32: 'none', 0x4e: 'none', 0x88: 'none', 0x89: 'none',
  0x4a: 4, 0x4b: 1, 0x4d: 2, 0x8a: 'len1', 0x8b: 'len4', 0x47: 8, 0x49: 'line', 0x4c: 'line', 0x46: 'line',
  0x58: 'len4', 0x8c: 'len1', 0x8d: 'len8', 0x55: 'len1', 0x54: 'len4', 0x43: 'len1', 0x42: 'len4', 0x8e: 'len8', 0x96: 'len8',
  0x7d: 'none', 0x5d: 'none', 0x29: 'none', 0x8f: 'none', 0x85: 'none', 0x86: 'none', 0x87: 'none', 0x74: 'none', 0x6c: 'none',
  0x91: 'none', 0x64: 'none', 0x61: 'none', 0x65: 'none', 0x73: 'none', 0x75: 'none', 0x90: 'none',
  0x63: 'lines2', 0x93: 'none', 0x52: 'none', 0x81: 'none', 0x92: 'none', 0x62: 'none', 0x51: 'none', 0x50: 'line',
  0x71: 1, 0x72: 4, 0x70: 'line', 0x94: 'none', 0x68: 1, 0x6a: 4, 0x67: 'line', 0x82: 1, 0x83: 2, 0x84: 4, 0x97: 'none', 0x98: 'none',
  0x53: 'line', 0x56: 'line', 0x69: 'lines2', 0x6f: 'none',
};

export interface PickleOp {
  readonly at: number;
  readonly op: number;
  /** Offset just past the opcode and its argument. */
  readonly end: number;
  /** The length or integer field of the argument, if it has one. */
  readonly field?: Field;
}

/** The opcodes of the pickle starting at `start`, up to and including STOP. */
export function pickleOps(b: Uint8Array, start = 0): PickleOp[] {
  const ops: PickleOp[] = [];
  let at = start;
  while (at < b.length) {
    const op = b[at];
    const arg = PICKLE_ARGS[op];
    if (arg === undefined) throw new Error(`seed pickle has unknown opcode 0x${op.toString(16)} at ${at}`);
    let end = at + 1;
    let field: Field | undefined;
    const name = `pickle opcode 0x${op.toString(16)} at ${at}`;
    if (typeof arg === 'number') {
      field = { at: end, width: arg as 1 | 2 | 4 | 8, signed: op === 0x4a, name };
      end += arg;
    } else if (arg === 'len1' || arg === 'len4' || arg === 'len8') {
      const width = arg === 'len1' ? 1 : arg === 'len4' ? 4 : 8;
      const n = width === 1 ? b[end] : width === 4 ? u32(b, end) : u64(b, end);
      field = { at: end, width, signed: op === 0x8b || op === 0x54, name: `${name} length` };
      end += width + n;
    } else if (arg === 'line' || arg === 'lines2') {
      end = b.indexOf(0x0a, end) + 1;
      if (arg === 'lines2') end = b.indexOf(0x0a, end) + 1;
    }
    ops.push({ at, op, end, field });
    at = end;
    if (op === 0x2e) break;
  }
  return ops;
}

export function pickleLayout(b: Uint8Array, start = 0): Layout & { ops: PickleOp[]; end: number } {
  const ops = pickleOps(b, start);
  return {
    ops,
    end: ops[ops.length - 1].end,
    boundaries: ops.map((o) => o.at),
    fields: ops.flatMap((o) => (o.field ? [o.field] : [])),
  };
}

// ---------------------------------------------------------------------------------------------
// legacy torch.save: five pickles, then (int64 count, bytes) per storage

export interface LegacyLayout extends Layout {
  /** [start, end) of each of the five pickles. */
  readonly pickles: [number, number][];
  readonly dataStart: number;
}

export function legacyLayout(b: Uint8Array): LegacyLayout {
  const pickles: [number, number][] = [];
  const boundaries: number[] = [];
  const fields: Field[] = [];
  let at = 0;
  let keyOps: PickleOp[] = [];
  for (let i = 0; i < 5; i++) {
    const p = pickleLayout(b, at);
    pickles.push([at, p.end]);
    boundaries.push(...p.boundaries, p.end);
    fields.push(...p.fields);
    at = p.end;
    keyOps = p.ops;
  }
  const dataStart = at;
  // The key list holds strings only; each record's element size is whatever makes the records
  // tile the rest of the file exactly (the seed is well formed).
  const keys = keyOps.filter((o) => o.op === 0x58 || o.op === 0x8c).length;
  const starts: number[] = [];
  const tile = (i: number, pos: number): boolean => {
    if (i === keys) return pos === b.length;
    if (pos + 8 > b.length) return false;
    const count = u64(b, pos);
    for (const size of [4, 8, 2, 1]) {
      starts[i] = pos;
      if (tile(i + 1, pos + 8 + count * size)) return true;
    }
    return false;
  };
  if (!tile(0, dataStart)) throw new Error('seed legacy file: storages do not tile the data section');
  for (const [i, start] of starts.slice(0, keys).entries()) {
    fields.push({ at: start, width: 8, signed: true, name: `storage ${i} element count` });
    boundaries.push(start, start + 8);
  }
  boundaries.push(b.length);
  return { pickles, dataStart, boundaries, fields };
}

// ---------------------------------------------------------------------------------------------
// safetensors and npy

export function safetensorsLayout(b: Uint8Array): Layout & { header: Record<string, unknown>; data: Uint8Array } {
  const n = u64(b, 0);
  const header = JSON.parse(new TextDecoder().decode(b.subarray(8, 8 + n))) as Record<string, unknown>;
  const boundaries = [0, 8, 8 + n, b.length];
  for (const v of Object.values(header)) {
    const offsets = (v as { data_offsets?: number[] }).data_offsets;
    if (offsets) boundaries.push(8 + n + offsets[0], 8 + n + offsets[1]);
  }
  return { boundaries, fields: [{ at: 0, width: 8, name: 'header length' }], header, data: b.subarray(8 + n) };
}

export function npyLayout(b: Uint8Array): Layout & { major: number; headerStart: number; dataStart: number } {
  const major = b[6];
  const width = major === 1 ? 2 : 4;
  const headerLength = width === 2 ? u16(b, 8) : u32(b, 8);
  const headerStart = 8 + width;
  const dataStart = headerStart + headerLength;
  return {
    major,
    headerStart,
    dataStart,
    boundaries: [0, 6, 8, headerStart, dataStart, b.length],
    fields: [{ at: 8, width, name: 'npy header length' }],
  };
}

// ---------------------------------------------------------------------------------------------
// protobuf (ONNX)

export interface Varint {
  readonly at: number;
  readonly length: number;
  readonly value: number;
  readonly kind: 'tag' | 'length' | 'value';
}

function readVarint(b: Uint8Array, at: number, end: number): { value: number; length: number } | undefined {
  let value = 0;
  for (let i = 0; i < 10 && at + i < end; i++) {
    value += (b[at + i] & 0x7f) * 2 ** (7 * i);
    if ((b[at + i] & 0x80) === 0) return { value, length: i + 1 };
  }
  return undefined;
}

/**
 * Every varint of a protobuf message (tags, lengths, values), descending into length-delimited
 * fields that parse as messages themselves. Returns undefined where the bytes are not a message.
 */
export function protobufVarints(b: Uint8Array, start = 0, end = b.length, depth = 0): Varint[] | undefined {
  const out: Varint[] = [];
  let at = start;
  while (at < end) {
    const tag = readVarint(b, at, end);
    if (!tag || tag.value === 0) return undefined;
    out.push({ at, length: tag.length, value: tag.value, kind: 'tag' });
    at += tag.length;
    const wire = tag.value % 8;
    if (wire === 0) {
      const v = readVarint(b, at, end);
      if (!v) return undefined;
      out.push({ at, length: v.length, value: v.value, kind: 'value' });
      at += v.length;
    } else if (wire === 1) at += 8;
    else if (wire === 5) at += 4;
    else if (wire === 2) {
      const n = readVarint(b, at, end);
      if (!n || at + n.length + n.value > end) return undefined;
      out.push({ at, length: n.length, value: n.value, kind: 'length' });
      at += n.length;
      const inner = depth < 8 ? protobufVarints(b, at, at + n.value, depth + 1) : undefined;
      if (inner) out.push(...inner);
      at += n.value;
    } else return undefined;
  }
  return at === end ? out : undefined;
}
