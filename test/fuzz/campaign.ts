import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as v8 from 'v8';
import { FormatError } from '../../src/model/errors';
import { DTYPE_BYTES, numel, type Checkpoint, type DType } from '../../src/model/tensor';
import { flipBytes, chunkEdit, truncateRandom, type Mutant, type Mutator } from './mutate';
import { Rng } from './rng';
import { loadTarget, readFromDisk, readThroughRegistry, type FormatName, type Seed, type Target } from './targets';

/**
 * One fuzz campaign: `cases` mutants of one format's seeds, each read, each checked against the
 * property every reader promises - a Checkpoint whose tensors are consistent, or a FormatError that
 * names the file and an offset (or key) in it - within a time bound, allocating no more than a
 * bounded amount for a file of a few kilobytes. The first cases truncate every seed at every
 * structure boundary (and one byte either side); the rest are random mutations, seeded per case.
 */

export interface CampaignOptions {
  readonly format: FormatName;
  readonly cases: number;
  readonly seed: number;
  /** Replay only this case. */
  readonly only?: number;
  /** Written with the index of the case being read, for a watchdog in another thread. */
  readonly progress?: Int32Array;
  readonly caseLimitMs?: number;
  /** What one case may allocate (JS heap plus ArrayBuffers), measured around the read. */
  readonly caseMemoryLimit?: number;
}

export interface Failure {
  readonly index: number;
  readonly seedFile: string;
  readonly what: string;
  readonly problem: string;
}

export interface CampaignResult {
  readonly format: FormatName;
  readonly seed: number;
  readonly cases: number;
  readonly boundaryCases: number;
  /** Mutants that still read as a checkpoint (a flip inside tensor data does). */
  readonly read: number;
  readonly refused: number;
  /** Different refusal messages (numbers blanked): a rough measure of how many checks were reached. */
  readonly distinctErrors: number;
  readonly failures: Failure[];
  readonly maxCaseMs: number;
  readonly maxCaseBytes: number;
  readonly ms: number;
}

export const DEFAULT_CASE_LIMIT_MS = 2000;
export const DEFAULT_CASE_MEMORY = 64 << 20;
const MAX_FAILURES = 20;

const ARRAY_TYPES: Record<DType, string> = {
  float16: 'Uint16Array', bfloat16: 'Uint16Array', float32: 'Float32Array', float64: 'Float64Array', int8: 'Int8Array',
  uint8: 'Uint8Array', bool: 'Uint8Array', int16: 'Int16Array', int32: 'Int32Array', int64: 'BigInt64Array',
};

/** What is wrong with a checkpoint a reader returned, or undefined. */
export function checkpointProblem(c: Checkpoint, file: string): string | undefined {
  if (c.file !== file) return `the checkpoint names file '${c.file}'`;
  if (!(c.tensors instanceof Map)) return 'tensors is not a Map';
  for (const [name, t] of c.tensors) {
    if (typeof name !== 'string') return `a tensor name is ${typeof name}`;
    if (!(t.dtype in DTYPE_BYTES)) return `'${name}' has dtype ${String(t.dtype)}`;
    if (!t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) return `'${name}' has shape [${t.shape.join(', ')}]`;
    if (t.data.constructor.name !== ARRAY_TYPES[t.dtype]) return `'${name}' (${t.dtype}) holds a ${t.data.constructor.name}`;
    if (t.data.length !== numel(t.shape)) return `'${name}' of shape [${t.shape.join(', ')}] holds ${t.data.length} elements`;
  }
  for (const [k, v] of Object.entries(c.metadata)) if (typeof v !== 'string') return `metadata '${k}' is ${typeof v}`;
  return undefined;
}

/** What is wrong with an error a reader threw, or undefined when it is a clean FormatError. */
export function errorProblem(e: unknown, file: string, length: number): string | undefined {
  if (!(e instanceof FormatError)) {
    return `threw ${e instanceof Error ? `${e.name}: ${e.message}\n${e.stack?.split('\n').slice(1, 6).join('\n')}` : String(e)}`;
  }
  if (e.file !== file || !e.message.startsWith(`${file}: `)) return `the FormatError does not name the file: ${e.message}`;
  if (e.detail.length < 16) return `the FormatError says too little: '${e.detail}'`;
  if (e.offset === undefined && e.key === undefined) return `the FormatError names neither an offset nor a key: ${e.message}`;
  if (e.offset !== undefined && !(Number.isSafeInteger(e.offset) && e.offset >= 0 && e.offset <= length)) {
    return `the FormatError's offset ${e.offset} is outside the ${length}-byte file: ${e.message}`;
  }
  return undefined;
}

function allocated(): number {
  const h = v8.getHeapStatistics();
  return h.used_heap_size + h.external_memory;
}

/**
 * How a case is read: by its format's reader, through the registry's sniffing, from a file on disk
 * (entry by entry), or lazily from disk as inspect and the engine read (the index first, each
 * tensor's bytes when checkpointProblem touches its data, inside the same try).
 */
type Route = 'reader' | 'registry' | 'disk' | 'lazy';

interface Case {
  readonly seed: Seed;
  readonly mutant: Mutant;
  readonly route: Route;
}

function route(rng: Rng): Route {
  const r = rng.next();
  return r < 0.6 ? 'reader' : r < 0.8 ? 'registry' : r < 0.9 ? 'disk' : 'lazy';
}

/** Truncation at each boundary of each seed, one byte either side too, deduplicated. */
function boundaryCases(target: Target): { seed: Seed; at: number }[] {
  const out: { seed: Seed; at: number }[] = [];
  for (const seed of target.seeds) {
    const points = new Set<number>();
    for (const b of seed.layout.boundaries) for (const d of [-1, 0, 1]) if (b + d >= 0 && b + d < seed.bytes.length) points.add(b + d);
    for (const at of [...points].sort((a, b) => a - b)) out.push({ seed, at });
  }
  return out;
}

function pickWeighted(rng: Rng, mutators: readonly (readonly [Mutator, number])[]): Mutator {
  let r = rng.next() * mutators.reduce((n, [, w]) => n + w, 0);
  for (const [m, w] of mutators) if ((r -= w) < 0) return m;
  return mutators[mutators.length - 1][0];
}

function makeCase(target: Target, boundary: { seed: Seed; at: number }[], seed: number, index: number): Case {
  const rng = Rng.forCase(seed, index);
  if (index < boundary.length) {
    const { seed: s, at } = boundary[index];
    return { seed: s, mutant: { bytes: s.bytes.slice(0, at), what: `truncated at a structure boundary, to ${at} bytes` }, route: route(rng) };
  }
  const s = rng.pick(target.seeds);
  let mutant = pickWeighted(rng, target.mutators)(rng, s.bytes, s.layout);
  // Now and then a second, blind mutation on top of the first.
  if (rng.chance(0.25) && mutant.bytes.length > 0) {
    const m = rng.pick([flipBytes, truncateRandom, chunkEdit])(rng, mutant.bytes, { boundaries: [], fields: [] });
    mutant = { bytes: m.bytes, what: `${mutant.what}; then ${m.what}` };
  }
  return { seed: s, mutant, route: route(rng) };
}

export function runCampaign(options: CampaignOptions): CampaignResult {
  const start = performance.now();
  const target = loadTarget(options.format);
  const boundary = boundaryCases(target);
  const limitMs = options.caseLimitMs ?? DEFAULT_CASE_LIMIT_MS;
  const limitBytes = options.caseMemoryLimit ?? DEFAULT_CASE_MEMORY;
  const failures: Failure[] = [];
  const errors = new Set<string>();
  let read = 0;
  let refused = 0;
  let maxCaseMs = 0;
  let maxCaseBytes = 0;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `dla-fuzz-${options.format}-`));
  const first = options.only ?? 0;
  const last = options.only !== undefined ? options.only + 1 : options.cases;
  for (let index = first; index < last && failures.length < MAX_FAILURES; index++) {
    if (options.progress) Atomics.store(options.progress, 0, index);
    const c = makeCase(target, boundary, options.seed, index);
    const file = `fuzz-${options.format}-${index}${target.extension}`;
    const onDisk = path.join(dir, file);
    const fromDisk = c.route === 'disk' || c.route === 'lazy';
    const name = fromDisk ? onDisk : file;
    const how = { reader: '', registry: ' (through the registry)', disk: ' (read from disk)', lazy: ' (read lazily from disk)' }[c.route];
    const fail = (problem: string) => failures.push({ index, seedFile: c.seed.name, what: `${c.mutant.what}${how}`, problem });
    if (fromDisk) fs.writeFileSync(onDisk, c.mutant.bytes);
    const before = allocated();
    const t0 = performance.now();
    try {
      const ckpt = c.route === 'registry' ? readThroughRegistry(c.mutant.bytes, file)
        : fromDisk ? readFromDisk(onDisk, { lazy: c.route === 'lazy' }) : target.read(c.mutant.bytes, file);
      const problem = checkpointProblem(ckpt, name);
      if (problem) fail(`read, but ${problem}`);
      read++;
    } catch (e) {
      const problem = errorProblem(e, name, c.mutant.bytes.length);
      if (problem) fail(problem);
      else errors.add((e as FormatError).detail.replace(/\d+/g, 'N').replace(/'[^']*'/g, "'…'"));
      refused++;
    }
    const ms = performance.now() - t0;
    const bytes = allocated() - before;
    maxCaseMs = Math.max(maxCaseMs, ms);
    maxCaseBytes = Math.max(maxCaseBytes, bytes);
    if (ms > limitMs) fail(`took ${ms.toFixed(0)} ms, more than the ${limitMs} ms bound`);
    if (bytes > limitBytes) fail(`allocated ${(bytes / 2 ** 20).toFixed(1)} MiB reading a ${c.mutant.bytes.length}-byte file (bound ${limitBytes / 2 ** 20} MiB)`);
    if (fromDisk) fs.rmSync(onDisk);
  }
  fs.rmSync(dir, { recursive: true, force: true });
  return {
    format: options.format,
    seed: options.seed,
    cases: last - first,
    boundaryCases: Math.min(boundary.length, last - first),
    read,
    refused,
    distinctErrors: errors.size,
    failures,
    maxCaseMs,
    maxCaseBytes,
    ms: performance.now() - start,
  };
}
