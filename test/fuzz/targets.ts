import * as fs from 'fs';
import * as path from 'path';
import { npyReader } from '../../src/model/formats/npy';
import { npzReader } from '../../src/model/formats/npz';
import { onnxReader } from '../../src/model/formats/onnx';
import { pdparamsReader } from '../../src/model/formats/pdparams';
import { pthReader } from '../../src/model/formats/pth';
import { readCheckpoint, readCheckpointBytes } from '../../src/model/formats/registry';
import { safetensorsReader } from '../../src/model/formats/safetensors';
import type { Checkpoint } from '../../src/model/tensor';
import { legacyLayout, npyLayout, pickleLayout, protobufVarints, safetensorsLayout, zipLayout, type Layout, type LegacyLayout } from './layouts';
import {
  chunkEdit, editNpy, editPickle, flipBytes, interestingBytes, lengthField, npyEdit, pickleEdit, pickleSoup, protobufEdit,
  safetensorsEdit, soupPickle, spliceFrom, truncateAtBoundary, truncateRandom, zipEntryEdit, zipLies, type Mutator,
} from './mutate';

/**
 * The formats under fuzz, each with its seeds (test/fuzz/seeds/, small real files written by
 * scripts/fixtures/make_fuzz_seeds.py and committed, so the suite needs no Python), the layout of
 * each seed, and the mutations that fit it, weighted.
 */

export const SEED_DIR = path.join(__dirname, 'seeds');

export type FormatName = 'pth-zip' | 'pth-legacy' | 'safetensors' | 'pdparams' | 'npy' | 'npz' | 'onnx';
export const FORMATS: readonly FormatName[] = ['pth-zip', 'pth-legacy', 'safetensors', 'pdparams', 'npy', 'npz', 'onnx'];

export interface Seed {
  readonly name: string;
  readonly bytes: Uint8Array;
  readonly layout: Layout;
}

export interface Target {
  readonly format: FormatName;
  readonly seeds: readonly Seed[];
  /** The reader of this format; the registry (sniffing every reader) is tried on some cases too. */
  readonly read: (bytes: Uint8Array, file: string) => Checkpoint;
  readonly extension: string;
  readonly mutators: readonly (readonly [Mutator, number])[];
}

const SEEDS: Record<FormatName, readonly string[]> = {
  'pth-zip': ['wrapped.pth', 'plain_p4.pth'],
  'pth-legacy': ['wrapped_legacy.pth', 'plain_legacy_p4.pth'],
  safetensors: ['tiny.safetensors'],
  pdparams: ['paddle_p4.pdparams', 'paddle_big_p2.pdparams'],
  npy: ['array.npy', 'counts.npy', 'reprod.npy'],
  npz: ['records.npz', 'records_deflated.npz'],
  onnx: ['tiny.onnx'],
};

function readSeed(name: string): Uint8Array {
  return new Uint8Array(fs.readFileSync(path.join(SEED_DIR, name)));
}

function layoutOf(format: FormatName, b: Uint8Array): Layout {
  switch (format) {
    case 'pth-zip': {
      const z = zipLayout(b);
      const pkl = z.entries.find((e) => e.name.endsWith('data.pkl'))!;
      const p = pickleLayout(b.subarray(0, pkl.data + pkl.size), pkl.data);
      return { boundaries: [...z.boundaries, ...p.boundaries], fields: [...z.fields, ...p.fields] };
    }
    case 'npz':
      return zipLayout(b);
    case 'pth-legacy':
      return legacyLayout(b);
    case 'safetensors':
      return safetensorsLayout(b);
    case 'pdparams':
      return pickleLayout(b);
    case 'npy': {
      const l = npyLayout(b);
      if (b[l.dataStart] !== 0x80) return l;
      const p = pickleLayout(b, l.dataStart);
      return { boundaries: [...l.boundaries, ...p.boundaries], fields: [...l.fields, ...p.fields] };
    }
    case 'onnx': {
      // Every field starts at its tag; a length-delimited one (a message, a tensor's raw data) ends after its payload.
      const varints = protobufVarints(b) ?? [];
      const boundaries = varints.flatMap((v) => (v.kind === 'tag' ? [v.at] : v.kind === 'length' ? [v.at + v.length + v.value] : []));
      return { boundaries: [0, ...boundaries, b.length], fields: [] };
    }
  }
}

/** The legacy file's main pickle (the fourth) and the others, edited by opcode or replaced by soup. */
const legacyPickles: Mutator = (rng, seed, layout) => {
  const l = layout as LegacyLayout;
  const which = rng.chance(0.6) ? 3 : rng.int(5);
  const [start, end] = l.pickles[which];
  if (rng.chance(0.3)) {
    const soup = soupPickle(rng);
    const b = new Uint8Array(seed.length - (end - start) + soup.length);
    b.set(seed.subarray(0, start));
    b.set(soup, start);
    b.set(seed.subarray(end), start + soup.length);
    return { bytes: b, what: `legacy pickle ${which} replaced by opcode soup` };
  }
  const m = editPickle(rng, seed, start);
  return { bytes: m.bytes, what: `legacy pickle ${which}: ${m.what}` };
};

const pthEntry = zipEntryEdit((rng, name, data) => {
  if (name.endsWith('data.pkl')) return rng.chance(0.25) ? { bytes: soupPickle(rng), what: 'replaced by opcode soup' } : editPickle(rng, data, 0);
  if (name.endsWith('byteorder')) return { bytes: new TextEncoder().encode(rng.pick(['big', 'little\n', ''])), what: 'byteorder changed' };
  return rng.chance(0.5) ? { bytes: data.slice(0, rng.int(data.length)), what: 'cut short' } : { bytes: data.slice(1), what: 'first byte dropped' };
});

const npzEntry = zipEntryEdit((rng, _name, data) => editNpy(rng, data));

export function loadTarget(format: FormatName): Target {
  const seeds = SEEDS[format].map((name) => {
    const bytes = readSeed(name);
    return { name, bytes, layout: layoutOf(format, bytes) };
  });
  const everyOtherSeed = FORMATS.flatMap((f) => SEEDS[f]).filter((n) => !SEEDS[format].includes(n)).map(readSeed);
  const generic: [Mutator, number][] = [
    [flipBytes, 6], [interestingBytes, 2], [truncateRandom, 2], [truncateAtBoundary, 3], [lengthField, 5], [chunkEdit, 2], [spliceFrom(everyOtherSeed), 1],
  ];
  const specific: Record<FormatName, [Mutator, number][]> = {
    'pth-zip': [[zipLies, 4], [pthEntry, 8]],
    'pth-legacy': [[legacyPickles, 10]],
    safetensors: [[safetensorsEdit, 12]],
    pdparams: [[pickleEdit, 10], [pickleSoup, 3]],
    npy: [[npyEdit, 10]],
    npz: [[zipLies, 4], [npzEntry, 8]],
    onnx: [[protobufEdit, 14]],
  };
  const readers = {
    'pth-zip': pthReader, 'pth-legacy': pthReader, safetensors: safetensorsReader, pdparams: pdparamsReader, npy: npyReader, npz: npzReader, onnx: onnxReader,
  } as const;
  const reader = readers[format];
  return {
    format,
    seeds,
    read: (bytes, file) => reader.read(bytes, file),
    extension: reader.extensions[0],
    mutators: [...generic, ...specific[format]],
  };
}

/** The registry's way in (every reader's match, then the candidates in turn), for some of the cases. */
export function readThroughRegistry(bytes: Uint8Array, file: string): Checkpoint {
  return readCheckpointBytes(bytes, file);
}

/** From a file, as the CLI and the extension read: zip entries one by one through a FileSource (or lazily, as inspect does). */
export function readFromDisk(file: string, options: { lazy?: boolean } = {}): Checkpoint {
  return readCheckpoint(file, options);
}
