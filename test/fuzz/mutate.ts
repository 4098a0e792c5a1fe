import { writeStoredZip } from '../../src/model/formats/write/zipWriter';
import { PICKLE_ARGS, npyLayout, pickleLayout, protobufVarints, safetensorsLayout, zipLayout, type Field, type Layout } from './layouts';
import type { Rng } from './rng';

/**
 * The mutations: generic byte-level ones (flips, truncation, length fields set huge or negative,
 * inserted and deleted chunks, splices from another seed) and structure-aware ones per format
 * (pickle opcode soup and opcode edits, zip entries with lying sizes or offsets, safetensors
 * offsets that overlap or run past the end, npy shapes that overflow, protobuf lengths that lie).
 */

export interface Mutant {
  readonly bytes: Uint8Array;
  /** What was done, precise enough to understand a failure (the case can also be replayed). */
  readonly what: string;
}

export type Mutator = (rng: Rng, seed: Uint8Array, layout: Layout) => Mutant;

const enc = new TextEncoder();
const dec = new TextDecoder();

function concat(...parts: (Uint8Array | number[])[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function writeField(b: Uint8Array, f: Field, value: bigint): void {
  const mask = (1n << BigInt(8 * f.width)) - 1n;
  let v = value & mask;
  for (let i = 0; i < f.width && f.at + i < b.length; i++) {
    b[f.at + i] = Number(v & 0xffn);
    v >>= 8n;
  }
}

function readField(b: Uint8Array, f: Field): bigint {
  let v = 0n;
  for (let i = f.width - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[f.at + i] ?? 0);
  return v;
}

/** Values a length or offset field must not be trusted with. */
function specialValues(f: Field, current: bigint, fileLength: number): bigint[] {
  const bits = BigInt(8 * f.width);
  const max = (1n << bits) - 1n;
  const values = [0n, 1n, current - 1n, current + 1n, current * 2n, current + 64n, BigInt(fileLength), BigInt(fileLength) + 1n, max, max - 1n, max >> 1n, (max >> 1n) + 1n, -1n];
  if (f.width >= 4) values.push(1n << 28n, 1n << 30n, 0x7fffffffn, 0x80000000n);
  if (f.width === 8) values.push(1n << 53n, (1n << 53n) + 1n, 1n << 62n, 1n << 63n);
  return values;
}

// ---------------------------------------------------------------------------------------------
// generic

export const flipBytes: Mutator = (rng, seed, layout) => {
  const b = seed.slice();
  const n = rng.range(1, 8);
  const at: number[] = [];
  for (let i = 0; i < n; i++) {
    // Half the flips land on structure: a boundary or a field, where a reader decides things.
    const near = rng.chance(0.5) && layout.boundaries.length ? rng.pick(layout.boundaries) + rng.range(-2, 2) : rng.int(b.length);
    const p = Math.max(0, Math.min(b.length - 1, near));
    b[p] ^= 1 + rng.int(255);
    at.push(p);
  }
  return { bytes: b, what: `bytes flipped at ${at.join(', ')}` };
};

export const interestingBytes: Mutator = (rng, seed) => {
  const b = seed.slice();
  const p = rng.int(b.length);
  const v = rng.pick([0x00, 0xff, 0x7f, 0x80, 0x01, 0x2e, 0x28, 0x0a]);
  b[p] = v;
  return { bytes: b, what: `byte ${p} set to 0x${v.toString(16)}` };
};

export const truncateRandom: Mutator = (rng, seed) => {
  const n = rng.int(seed.length);
  return { bytes: seed.slice(0, n), what: `truncated to ${n} bytes` };
};

export const truncateAtBoundary: Mutator = (rng, seed, layout) => {
  const n = Math.max(0, Math.min(seed.length, rng.pick(layout.boundaries) + rng.range(-1, 1)));
  return { bytes: seed.slice(0, n), what: `truncated at a boundary, to ${n} bytes` };
};

export const lengthField: Mutator = (rng, seed, layout) => {
  if (layout.fields.length === 0) return flipBytes(rng, seed, layout);
  const f = rng.pick(layout.fields);
  const b = seed.slice();
  const value = rng.pick(specialValues(f, readField(seed, f), seed.length));
  writeField(b, f, value);
  return { bytes: b, what: `${f.name} (${f.width} bytes at ${f.at}) set to ${value}` };
};

export const chunkEdit: Mutator = (rng, seed) => {
  const at = rng.int(seed.length + 1);
  const n = rng.range(1, 64);
  switch (rng.int(3)) {
    case 0:
      return { bytes: concat(seed.subarray(0, at), rng.bytes(n), seed.subarray(at)), what: `${n} random bytes inserted at ${at}` };
    case 1:
      return { bytes: concat(seed.subarray(0, at), seed.subarray(at + n)), what: `${n} bytes deleted at ${at}` };
    default: {
      const from = rng.int(seed.length);
      return { bytes: concat(seed.subarray(0, at), seed.subarray(from, from + n), seed.subarray(at)), what: `${n} bytes from ${from} duplicated at ${at}` };
    }
  }
};

export function spliceFrom(others: readonly Uint8Array[]): Mutator {
  return (rng, seed) => {
    const other = rng.pick(others);
    const from = rng.int(other.length);
    const n = rng.range(1, 256);
    const at = rng.int(seed.length);
    const b = seed.slice();
    b.set(other.subarray(from, Math.min(other.length, from + n, from + b.length - at)), at);
    return { bytes: b, what: `bytes ${from}.. of another seed spliced in at ${at}` };
  };
}

// ---------------------------------------------------------------------------------------------
// pickle

const SOUP_STRINGS = [
  'state_dict', 'module.w', 'storage', 'cpu', '0', '1', 'torch', 'torch._utils', '_rebuild_tensor_v2', '_rebuild_parameter', 'collections',
  'OrderedDict', 'FloatStorage', 'LongStorage', 'numpy.core.multiarray', '_reconstruct', 'numpy', 'ndarray', 'dtype', 'scalar', 'f4', '<i8',
  '<', '|', 'argparse', 'Namespace', 'builtins', 'eval', 'os', 'system', 'StructuredToParameterName@@', 'UnpackBigParamInfor@@', 'slices',
  'OriginShape', '_codecs', 'encode', 'latin1',
];
const SOUP_GLOBALS = [
  'torch._utils\n_rebuild_tensor_v2', 'torch\nFloatStorage', 'torch\nHalfStorage', 'collections\nOrderedDict', 'numpy.core.multiarray\n_reconstruct',
  'numpy\nndarray', 'numpy\ndtype', 'numpy.core.multiarray\nscalar', 'argparse\nNamespace', 'torch._utils\n_rebuild_parameter', 'torch\nSize',
  '_codecs\nencode', 'torch._utils\n_rebuild_tensor_v3', 'torch\nfloat32', 'os\nsystem', 'torch_utils\n_rebuild_tensor_v2',
];

function u32le(n: number): number[] {
  return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
}

function u64le(n: bigint): number[] {
  return Array.from({ length: 8 }, (_, i) => Number((n >> BigInt(8 * i)) & 0xffn));
}

/** One random opcode with a plausible argument. */
function soupAtom(rng: Rng): number[] {
  switch (rng.int(14)) {
    case 0: return [rng.pick([0x28, 0x7d, 0x5d, 0x29, 0x4e, 0x88, 0x89, 0x8f])];
    case 1: return [rng.pick([0x85, 0x86, 0x87, 0x74, 0x6c, 0x64, 0x91])];
    case 2: return [rng.pick([0x61, 0x65, 0x73, 0x75, 0x90, 0x62, 0x52, 0x81, 0x93, 0x51, 0x92])];
    case 3: return [0x4b, rng.int(256)];
    case 4: return [0x4a, ...u32le(rng.pick([0, 1, 6, 0x7fffffff, 0x80000000, 0xffffffff, rng.int(2 ** 32)]))];
    case 5: {
      const n = rng.int(12);
      return [0x8a, n, ...rng.bytes(n)];
    }
    case 6: {
      const s = enc.encode(rng.pick(SOUP_STRINGS));
      return [0x8c, s.length, ...s];
    }
    case 7: return [0x63, ...enc.encode(`${rng.pick(SOUP_GLOBALS)}\n`)];
    case 8: return [rng.pick([0x71, 0x68]), rng.int(8)];
    case 9: return [rng.pick([0x94, 0x32, 0x30, 0x31])];
    case 10: {
      const n = rng.int(48);
      return [0x43, n, ...rng.bytes(n)];
    }
    case 11: return [0x95, ...u64le(BigInt(rng.int(64)))];
    // Lengths that lie: the data they announce is not there.
    case 12: return [rng.pick([0x8b, 0x58, 0x42, 0x54]), ...u32le(rng.pick([0x7fffffff, 0xffffffff, 1 << 20, 0x80000000]))];
    default: return [rng.pick([0x8d, 0x8e, 0x96]), ...u64le(rng.pick([1n << 40n, (1n << 63n) - 1n, 1n << 53n]))];
  }
}

/** A pickle of random opcodes ("opcode soup"), ending in STOP. */
export function soupPickle(rng: Rng, protocol = rng.pick([2, 4])): Uint8Array {
  const ops: number[] = [0x80, protocol];
  const n = rng.range(1, 60);
  for (let i = 0; i < n; i++) ops.push(...soupAtom(rng));
  ops.push(0x2e);
  return Uint8Array.from(ops);
}

/** One opcode-level edit of the pickle at [start, end) of `b`; the rest of `b` is kept around it. */
export function editPickle(rng: Rng, b: Uint8Array, start: number): Mutant {
  let ops;
  try {
    ops = pickleLayout(b, start).ops;
  } catch {
    return { bytes: b, what: 'pickle left as is (not parseable)' };
  }
  const end = ops[ops.length - 1].end;
  const before = b.subarray(0, start);
  const after = b.subarray(end);
  const piece = (i: number) => b.subarray(ops[i].at, ops[i].end);
  const rebuild = (parts: Uint8Array[]) => concat(before, ...parts, after);
  const i = rng.int(ops.length);
  const all = ops.map((_, k) => piece(k));
  switch (rng.int(7)) {
    case 0:
      return { bytes: rebuild(all.filter((_, k) => k !== i)), what: `pickle opcode ${i} (0x${ops[i].op.toString(16)} at ${ops[i].at}) deleted` };
    case 1:
      return { bytes: rebuild(all.flatMap((p, k) => (k === i ? [p, p] : [p]))), what: `pickle opcode ${i} (0x${ops[i].op.toString(16)}) duplicated` };
    case 2: {
      const j = rng.int(ops.length);
      const swapped = all.slice();
      [swapped[i], swapped[j]] = [swapped[j], swapped[i]];
      return { bytes: rebuild(swapped), what: `pickle opcodes ${i} and ${j} swapped` };
    }
    case 3: {
      const op = Number(rng.pick(Object.keys(PICKLE_ARGS)));
      const c = b.slice();
      c[ops[i].at] = op;
      return { bytes: c, what: `pickle opcode ${i} at ${ops[i].at} replaced by 0x${op.toString(16)}, argument bytes kept` };
    }
    case 4: {
      const withField = ops.filter((o) => o.field);
      if (withField.length === 0) return { bytes: b, what: 'pickle has no argument to change' };
      const f = rng.pick(withField).field!;
      const c = b.slice();
      const value = rng.pick(specialValues(f, readField(b, f), b.length));
      writeField(c, f, value);
      return { bytes: c, what: `${f.name} set to ${value}` };
    }
    case 5: {
      const soup: number[] = [];
      for (let k = rng.range(1, 12); k > 0; k--) soup.push(...soupAtom(rng));
      const parts = all.slice();
      parts.splice(i, 0, Uint8Array.from(soup));
      return { bytes: rebuild(parts), what: `${soup.length} bytes of opcode soup inserted before pickle opcode ${i}` };
    }
    default:
      return { bytes: rebuild([...all.slice(0, i), Uint8Array.of(0x2e)]), what: `pickle cut after opcode ${i - 1} and closed with STOP` };
  }
}

export const pickleEdit: Mutator = (rng, seed) => editPickle(rng, seed, 0);
export const pickleSoup: Mutator = (rng) => ({ bytes: soupPickle(rng), what: 'a pickle of random opcodes' });

// ---------------------------------------------------------------------------------------------
// zip

interface ZipFileEntry {
  name: string;
  data: Uint8Array;
}

function zipEntries(seed: Uint8Array): ZipFileEntry[] {
  return zipLayout(seed).entries.map((e) => ({ name: e.name, data: seed.slice(e.data, e.data + e.size) }));
}

function rezip(entries: ZipFileEntry[]): Uint8Array {
  return writeStoredZip(entries.map((e) => [e.name, e.data] as const));
}

/** Directory records that lie: sizes and offsets copied from other entries, or pointed into other structures. */
export const zipLies: Mutator = (rng, seed) => {
  const z = zipLayout(seed);
  const b = seed.slice();
  const e = rng.pick(z.entries);
  const other = rng.pick(z.entries);
  const dv = new DataView(b.buffer);
  switch (rng.int(5)) {
    case 0:
      dv.setUint32(e.central + 42, other.local, true);
      return { bytes: b, what: `'${e.name}' local header offset set to that of '${other.name}'` };
    case 1:
      dv.setUint32(e.central + 20, other.size + rng.range(-1, 64), true);
      return { bytes: b, what: `'${e.name}' compressed size set near that of '${other.name}'` };
    case 2:
      dv.setUint32(e.central + 42, rng.pick([z.eocd, e.data, other.data - 1, e.central]), true);
      return { bytes: b, what: `'${e.name}' local header offset pointed into another structure` };
    case 3: {
      const size = rng.pick([e.size + 1, e.size - 1, 0, z.eocd - e.data, z.eocd - e.data + 1]);
      dv.setUint32(e.central + 20, size >>> 0, true);
      dv.setUint32(e.central + 24, size >>> 0, true);
      return { bytes: b, what: `'${e.name}' sizes (both) set to ${size}` };
    }
    default:
      dv.setUint16(e.central + 10, rng.pick([8, 12, 14, 99]), true);
      return { bytes: b, what: `'${e.name}' compression method changed` };
  }
};

/** A well-formed zip around entries that are wrong: a mutated entry, a missing, renamed or duplicated one. */
export function zipEntryEdit(mutateEntry: (rng: Rng, name: string, data: Uint8Array) => Mutant): Mutator {
  return (rng, seed) => {
    const entries = zipEntries(seed);
    const i = rng.int(entries.length);
    const e = entries[i];
    switch (rng.int(6)) {
      case 0:
        return { bytes: rezip(entries.filter((_, k) => k !== i)), what: `entry '${e.name}' removed` };
      case 1:
        entries[i] = { name: e.name.replace(/[^/]*$/, (s) => `x${s}`), data: e.data };
        return { bytes: rezip(entries), what: `entry '${e.name}' renamed` };
      case 2: {
        const n = rng.int(e.data.length + 1);
        entries[i] = { name: e.name, data: e.data.slice(0, n) };
        return { bytes: rezip(entries), what: `entry '${e.name}' cut to ${n} bytes` };
      }
      case 3:
        entries.push({ name: e.name, data: e.data });
        try {
          return { bytes: rezip(entries), what: `entry '${e.name}' duplicated` };
        } catch {
          return { bytes: seed, what: 'seed unchanged (the writer refuses duplicate names)' };
        }
      default: {
        const m = mutateEntry(rng, e.name, e.data);
        entries[i] = { name: e.name, data: m.bytes };
        return { bytes: rezip(entries), what: `entry '${e.name}': ${m.what}` };
      }
    }
  };
}

// ---------------------------------------------------------------------------------------------
// safetensors

function safetensorsFile(header: string, data: Uint8Array, lengthDelta = 0): Uint8Array {
  const text = enc.encode(header);
  const n = new Uint8Array(8);
  new DataView(n.buffer).setBigUint64(0, BigInt(text.length + lengthDelta), true);
  return concat(n, text, data);
}

const HUGE_SHAPES = [[2 ** 31, 2 ** 31, 2 ** 31], [2 ** 53], [2 ** 53 + 2], [-1], [1.5], ['a'], [[2]], [], [0, 2 ** 52], Array(100).fill(1), [1e308]];

export const safetensorsEdit: Mutator = (rng, seed) => {
  const { header, data } = safetensorsLayout(seed);
  const names = Object.keys(header).filter((k) => k !== '__metadata__');
  const name = rng.pick(names);
  const other = rng.pick(names);
  const info = { ...(header[name] as Record<string, unknown>) };
  const offsets = info.data_offsets as number[];
  const h: Record<string, unknown> = { ...header };
  let what: string;
  switch (rng.int(9)) {
    case 0:
      info.data_offsets = (header[other] as { data_offsets: number[] }).data_offsets;
      info.shape = (header[other] as { shape: number[] }).shape;
      info.dtype = (header[other] as { dtype: string }).dtype;
      what = `'${name}' given the offsets of '${other}' (overlap)`;
      break;
    case 1: {
      const size = offsets[1] - offsets[0];
      const end = data.length + rng.range(1, 64);
      info.data_offsets = [end - size, end];
      what = `'${name}' offsets moved past the end`;
      break;
    }
    case 2:
      info.data_offsets = rng.pick([[offsets[0] + 1, offsets[1] + 1], [offsets[1], offsets[0]], [-8, offsets[1]], [offsets[0], 2 ** 60], [0.5, 4], ['0', '4'], [offsets[0]], null]);
      what = `'${name}' offsets set to ${JSON.stringify(info.data_offsets)}`;
      break;
    case 3:
      info.shape = rng.pick(HUGE_SHAPES);
      what = `'${name}' shape set to ${JSON.stringify(info.shape)}`;
      break;
    case 4:
      info.dtype = rng.pick(['F8_E5M2', 'f32', 'U64', 123, null, 'BOOL', 'I64', 'F16']);
      what = `'${name}' dtype set to ${JSON.stringify(info.dtype)}`;
      break;
    case 5:
      h.__metadata__ = rng.pick([[1], { a: 1 }, 'x', null, { format: { nested: true } }]);
      what = `__metadata__ set to ${JSON.stringify(h.__metadata__)}`;
      break;
    case 6: {
      const text = JSON.stringify(header);
      const dup = `${JSON.stringify(name)}:${JSON.stringify(header[other])},`;
      return { bytes: safetensorsFile(`{${dup}${text.slice(1)}`, data), what: `duplicate key '${name}' with the entry of '${other}'` };
    }
    case 7: {
      const depth = rng.pick([100, 10_000, 100_000]);
      const text = rng.chance(0.5) ? `{"x":${'['.repeat(depth)}${']'.repeat(depth)}}` : rng.pick(['[]', 'null', '"x"', '{', '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}']);
      return { bytes: safetensorsFile(text, data), what: `header replaced (${text.length} characters)` };
    }
    default: {
      const delta = rng.pick([-1, 1, -8, 64, 2 ** 40, -(2 ** 20)]);
      return { bytes: safetensorsFile(JSON.stringify(header), data, delta), what: `header length field off by ${delta}` };
    }
  }
  h[name] = info;
  return { bytes: safetensorsFile(JSON.stringify(h), data), what };
};

// ---------------------------------------------------------------------------------------------
// npy

const NPY_SHAPES = [
  '(2147483648, 2147483648, 2147483648)', '(9223372036854775807,)', '(18446744073709551616,)', '(-1,)', '(3.5,)', "('a',)", '()', '(0,)',
  '((((((((((((((((((1,),),),),),),),),),),),),),),),),),)', '(1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1)',
  '(4503599627370497, 2)', '[3, 4]', '(12,)', '(2, 6)', '(99999999999999999999999999999,)',
];
const NPY_DESCRS = ["'<f3'", "'>f4'", "'|O'", "'<U10'", "'<c8'", "'|b1'", "'<i8'", "'|V4'", "[('a', '<f4')]", "'<f4", '4', "'<M8[s]'"];

function npyFile(major: number, header: string, data: Uint8Array, lengthDelta = 0): Uint8Array {
  const text = enc.encode(header);
  const n = text.length + lengthDelta;
  const len = major === 1 ? [n & 0xff, (n >>> 8) & 0xff] : u32le(n >>> 0);
  return concat([0x93, ...enc.encode('NUMPY'), major, 0], len, text, data);
}

/** A .npy with an edited header dict (or the pickled payload of an object array edited). */
export function editNpy(rng: Rng, seed: Uint8Array): Mutant {
  const l = npyLayout(seed);
  const header = dec.decode(seed.subarray(l.headerStart, l.dataStart));
  const data = seed.subarray(l.dataStart);
  if (header.includes("'|O'") && rng.chance(0.6)) {
    const m = editPickle(rng, seed, l.dataStart);
    return { bytes: m.bytes, what: `object array payload: ${m.what}` };
  }
  switch (rng.int(6)) {
    case 0: {
      const shape = rng.pick(NPY_SHAPES);
      return { bytes: npyFile(l.major, header.replace(/'shape': \([^)]*\)/, `'shape': ${shape}`), data), what: `shape set to ${shape}` };
    }
    case 1: {
      const descr = rng.pick(NPY_DESCRS);
      return { bytes: npyFile(l.major, header.replace(/'descr': '[^']*'/, `'descr': ${descr}`), data), what: `descr set to ${descr}` };
    }
    case 2: {
      const v = rng.pick(['True', '1', "'yes'", 'None']);
      return { bytes: npyFile(l.major, header.replace(/'fortran_order': \w+/, `'fortran_order': ${v}`), data), what: `fortran_order set to ${v}` };
    }
    case 3: {
      const key = rng.pick(['descr', 'shape', 'fortran_order']);
      return { bytes: npyFile(l.major, header.replace(new RegExp(`'${key}': [^,}]*(\\([^)]*\\))?,?`), ''), data), what: `'${key}' removed from the header` };
    }
    case 4: {
      const delta = rng.pick([-1, 1, -10, 200, 65535, 0x7fffffff]);
      return { bytes: npyFile(l.major, header, data, delta), what: `header length off by ${delta}` };
    }
    default: {
      const major = rng.pick([2, 3, 4, 0]);
      return { bytes: npyFile(major, header, data), what: `written as version ${major}.0` };
    }
  }
}

export const npyEdit: Mutator = (rng, seed) => editNpy(rng, seed);

// ---------------------------------------------------------------------------------------------
// protobuf (ONNX)

function varint(v: bigint): number[] {
  const out: number[] = [];
  let x = BigInt.asUintN(64, v);
  do {
    const b = Number(x & 0x7fn);
    x >>= 7n;
    out.push(x ? b | 0x80 : b);
  } while (x);
  return out;
}

/** A tag, length or value varint of the message re-encoded with a value it must not be trusted with. */
export const protobufEdit: Mutator = (rng, seed) => {
  const all = protobufVarints(seed) ?? [];
  if (all.length === 0) return flipBytes(rng, seed, { boundaries: [], fields: [] });
  const lengths = all.filter((v) => v.kind === 'length');
  const v = rng.chance(0.6) && lengths.length ? rng.pick(lengths) : rng.pick(all);
  const cur = BigInt(v.value);
  const value = rng.pick([0n, 1n, cur - 1n, cur + 1n, cur * 2n, BigInt(seed.length), 0x7fffffffn, 0x80000000n, 0xffffffffn, 1n << 53n, (1n << 63n) - 1n, -1n, 127n, 128n]);
  return {
    bytes: concat(seed.subarray(0, v.at), varint(value), seed.subarray(v.at + v.length)),
    what: `protobuf ${v.kind} varint at ${v.at} (${v.value}) set to ${value}`,
  };
};
