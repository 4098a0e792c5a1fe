import * as fs from 'fs';
import * as path from 'path';
import { buildTapGraph, collectRecords, recordShapes, type BuiltGraph } from '../dla/onnxGraph';
import { SAME_COLUMNS, buildPairGraph, type PairGraph, type PairRecord, type PairSide } from '../dla/pairGraph';
import { forwardTaps } from '../run/forward';
import type { LoadedModel } from '../run/loadModel';
import * as ort from 'onnxruntime-node';
import { createSession, describeSession, releaseSession, run as runSession, type ProviderSetting, type RunnerSession } from '../run/session';
import { numel, toFloat32, type Tensor } from '../tensor';
import { UsageError } from '../errors';
import { firstDivergence as firstFailing } from '../../shared/tolerance';
import { diagnose } from './diagnose';
import { DumpStream } from './dumpStream';
import { graphSums } from './graphSums';
import type { InputSet } from './inputSet';
import { uncoveredModules } from './layerDiff';
import { localErrors } from './localError';
import { pairSums } from './metrics';
import { exposeAllOutputs, runOnnxCandidate } from './onnxCandidate';
import { mapOnnxNames } from './onnxNames';
import { metricsFromSums, type PairSums } from './pairSums';
import type { BatchSummary, Hypothesis, ImageLayerResult, LayerResult, ToleranceRule, Unmatched } from './types';

/**
 * The comparison on many inputs: per record, the metrics over the whole batch (its images'
 * sufficient statistics combined, pairSums.ts), each image's own, and the worst image; the first
 * divergence over the batch and per image. Memory holds one chunk of images' activations at a
 * time, however many images there are.
 *
 * When both sides are models (two checkpoints, or a checkpoint and an ONNX export) they run in one
 * onnxruntime graph that reduces every record pair to its statistics in-graph (pairGraph.ts), and
 * only those numbers leave onnxruntime. When the candidate is a dump, the reference's records of a
 * chunk are compared in JavaScript with the dump's, read record by record (dumpStream.ts). An image
 * whose in-graph figures cannot stand for the exact ones (a NaN or infinity, or a verdict within
 * float32's rounding of the bound, graphSums.ts) is re-run and compared in JavaScript, exactly.
 *
 * Local error and diagnosis are exact as in a single comparison: they re-run from the candidate's
 * own records of one image (the focus: the worst image at the first divergence), fetched by
 * re-running that image.
 */

export type BatchCandidate =
  | { readonly kind: 'model'; readonly model: LoadedModel }
  | { readonly kind: 'onnx'; readonly file: string }
  | { readonly kind: 'dump'; readonly file: string };

export interface BatchRequest {
  readonly reference: LoadedModel;
  readonly candidate: BatchCandidate;
  readonly inputs: InputSet;
  readonly rule: ToleranceRule;
  readonly provider: ProviderSetting;
  readonly local: boolean;
  readonly diagnose: boolean;
  /** Images per onnxruntime run (default: 4 at 224², more for smaller inputs). */
  readonly chunk?: number;
  /** Compute what both sides share once (pairGraph.ts); default true. */
  readonly share?: boolean;
  readonly progress: (message: string) => void;
  readonly cancelled: () => Promise<void>;
  readonly timed: <T>(name: string, f: () => Promise<T> | T) => Promise<T>;
}

export interface BatchOutcome {
  readonly layers: LayerResult[];
  readonly firstDivergence: string | null;
  readonly unmatched: Unmatched;
  readonly uncovered: string[];
  readonly diagnosis: Hypothesis[];
  readonly batch: BatchSummary;
  readonly provider: string;
  readonly notes: string[];
}

/** Images per run: about 4 at 224² (what ORT needs for one chunk stays a few hundred MB), more for smaller inputs. */
export function defaultChunk(height: number, width: number): number {
  return Math.max(1, Math.min(16, Math.floor((4 * 224 * 224) / (height * width))));
}

/** A record both sides hold with the same number of values per image, in the reference's order. */
interface Paired {
  readonly key: string;
  readonly refShape: readonly number[];
  readonly candShape: readonly number[];
}

/** The candidate's records of images [start, start + count): its own run, or the dump's slices. */
type CandidateChunk = (start: number, count: number) => Promise<{ get(key: string): Tensor | undefined }>;

function imageOf(t: Tensor, j: number, count: number): Float32Array {
  const data = toFloat32(t);
  const per = data.length / count;
  return data.subarray(j * per, (j + 1) * per);
}

export async function compareBatch(req: BatchRequest): Promise<BatchOutcome> {
  const { reference: ref, inputs, rule, provider } = req;
  const n = inputs.size;
  const first = await inputs.chunk(0, 1);
  const [, , height, width] = first.shape;
  let chunk = req.chunk ?? defaultChunk(height, width);
  const refShapes = recordShapes(ref.tree, height, width, 1);
  const notes: string[] = [];

  // --- what the candidate holds, and how its records of a chunk are had ------------------------
  let candKeys: string[];
  let candShape: (key: string) => readonly number[] | undefined;
  let candidateChunk: CandidateChunk;
  let pairSide: PairSide | undefined;
  let dump: DumpStream | undefined;
  const c = req.candidate;
  const refRunner = new TapRunner(ref, provider);
  const candRunner = c.kind === 'model' ? new TapRunner(c.model, provider) : undefined;
  if (c.kind === 'model') {
    candKeys = [...refShapes.keys()];
    candShape = (k) => refShapes.get(k);
    candidateChunk = async (start, count) => (await candRunner!.records(await inputs.chunk(start, count))).records;
  } else if (c.kind === 'onnx') {
    const exposed = exposeAllOutputs(new Uint8Array(fs.readFileSync(c.file)), c.file);
    // An export with a fixed batch size takes exactly that many images (its Reshapes may assume it).
    const fixedBatch = exposed.inputDims[0];
    if (typeof fixedBatch === 'number' && fixedBatch !== 1) {
      throw new UsageError(`${c.file} was exported with a fixed batch of ${fixedBatch}; a comparison on many inputs runs it one image at a time. ` +
        "Export it with a batch of 1, or with a dynamic batch axis (torch.onnx.export(..., dynamic_axes={'input': {0: 'batch'}})).");
    }
    if (fixedBatch === 1) chunk = 1;
    // One image through the export tells which records it holds and their shapes.
    const probe = await req.timed('candidate', () => runOnnxCandidate(c.file, ref.tree, first, { provider }));
    notes.push(...probe.notes);
    candKeys = [...probe.records.keys()];
    const shapes = new Map([...probe.records].map(([k, t]) => [k, t.shape.slice(1)]));
    candShape = (k) => (shapes.has(k) ? [1, ...shapes.get(k)!] : undefined);
    candidateChunk = async (start, count) => (await runOnnxCandidate(c.file, ref.tree, await inputs.chunk(start, count), { provider })).records;
    const mapping = mapOnnxNames(ref.tree, exposed.graph);
    const opset = exposed.opset;
    if (opset >= 13) {
      pairSide = { bytes: exposed.bytes, input: exposed.graph.input, records: new Map(mapping.records.map((r) => [r.record, r.tensor])) };
    } else {
      notes.push(`The export is opset ${opset}; in-graph reduction needs opset 13 or later, so its records were copied out of onnxruntime chunk by chunk.`);
    }
  } else {
    dump = DumpStream.open(c.file);
    const d = dump;
    candKeys = d.keys();
    candShape = (k) => d.shape(k);
    candidateChunk = async (start, count) => ({ get: (k: string) => (d.has(k) ? d.slice(k, start, count) : undefined) });
  }

  // --- pairing ------------------------------------------------------------------------------------
  const candSet = new Set(candKeys);
  const paired: Paired[] = [];
  const onlyReference: string[] = [];
  const shapeMismatch: Unmatched['shapeMismatch'][number][] = [];
  for (const [key, shape] of refShapes) {
    if (!candSet.has(key)) {
      onlyReference.push(key);
      continue;
    }
    const cs = candShape(key)!;
    // The candidate's first dimension is its batch (a dump's holds every image of the set).
    const perImage = cs.length ? numel(cs.slice(1)) : 0;
    const batchOk = c.kind !== 'dump' || (cs.length > 0 && cs[0] >= n);
    if (!batchOk || perImage !== numel(shape.slice(1))) {
      shapeMismatch.push({ name: key, reference: [n, ...shape.slice(1)], candidate: [...cs], index: paired.length });
      continue;
    }
    paired.push({ key, refShape: shape, candShape: [1, ...cs.slice(1)] });
  }
  const onlyCandidate = candKeys.filter((k) => !refShapes.has(k));
  const sums: (PairSums | undefined)[][] = paired.map(() => new Array<PairSums | undefined>(n));
  const redo = new Set<number>();
  let providerUsed = '';

  // The exact path for images [start, start + count): both sides' records copied out, compared in float64.
  const exactChunk = async (start: number, count: number): Promise<void> => {
    const x = await inputs.chunk(start, count);
    const r = await refRunner.records(x);
    providerUsed ||= r.provider;
    const cand = await candidateChunk(start, count);
    paired.forEach((p, i) => {
      const a = r.records.get(p.key)!;
      const b = cand.get(p.key)!;
      for (let j = 0; j < count; j++) sums[i][start + j] = pairSums(imageOf(a, j, count), imageOf(b, j, count), rule);
    });
  };

  const candidateModel = c.kind === 'model' ? c.model : undefined;
  const inGraph = c.kind === 'model' || pairSide !== undefined;
  if (inGraph) {
    const side = candidateModel ? tapSide(candidateModel) : pairSide!;
    const pair = await req.timed('build', () => buildPairGraph(tapSide(ref), side, paired.map((p) => pairRecord(p)), {
      height, width, share: req.share, ...(rule.mode === 'allclose' ? { allcloseRtol: rule.rtol } : {}),
    }));
    if (pair.shared.nodes > 0) {
      notes.push(`${pair.shared.nodes} of the candidate's ${pair.shared.of} graph nodes compute exactly what the reference's do (same weights, same inputs) and ran once.`);
    }
    // An export runs as written (as runOnnxCandidate does): no graph optimisation.
    const session = await req.timed('session', () => createSession(pair.bytes, { provider, graphOptimization: candidateModel ? 'all' : 'disabled' }));
    providerUsed = describeSession(session);
    try {
      for (let start = 0; start < n; start += chunk) {
        const count = Math.min(chunk, n - start);
        req.progress(`Comparing images ${start + 1}-${start + count} of ${n} in one graph (${ref.variant.name}, both sides)`);
        const x = start === 0 && count === 1 ? first : await req.timed('input', () => inputs.chunk(start, count));
        const out = await req.timed('run', () => runPair(session, pair, x));
        readGraphSums(pair, out, paired, count, start, rule, sums, redo);
        await req.cancelled();
      }
    } finally {
      await releaseSession(session);
    }
    if (redo.size) notes.push(`${redo.size} image(s) (${[...redo].slice(0, 5).map((i) => inputs.names[i]).join(', ')}) were compared outside the graph, exactly: a non-finite value, or a verdict within float32's rounding of the bound.`);
    for (const i of redo) {
      req.progress(`Comparing ${inputs.names[i]} exactly (records copied out)`);
      await req.timed('exact', () => exactChunk(i, 1));
      await req.cancelled();
    }
  } else {
    try {
      for (let start = 0; start < n; start += chunk) {
        const count = Math.min(chunk, n - start);
        req.progress(`Comparing images ${start + 1}-${start + count} of ${n} (${ref.variant.name} against ${path.basename(c.file)}, record by record)`);
        await req.timed('run', () => exactChunk(start, count));
        await req.cancelled();
      }
    } finally {
      dump?.close();
    }
  }
  await Promise.all([refRunner.release(), candRunner?.release()]);

  // --- metrics --------------------------------------------------------------------------------------
  const layers: LayerResult[] = paired.map((p, i) => {
    const parts = sums[i] as PairSums[];
    const pooled = metricsFromSums(parts, { ref: [n, ...p.refShape.slice(1)], cand: [n, ...p.candShape.slice(1)] }, rule);
    const images: ImageLayerResult[] = parts.map((s) => metricsFromSums([s], { ref: p.refShape, cand: p.candShape }, rule));
    return { name: p.key, ...pooled, batch: { worst: worstImage(images), images } };
  });
  const firstDivergence = firstFailing(layers, (l) => !l.diff.pass, shapeMismatch);
  const perImage = Array.from({ length: n }, (_, i) => firstFailing(layers, (l) => !l.batch!.images[i].diff.pass, shapeMismatch));

  // --- local error and diagnosis on the focus image ---------------------------------------------
  const at = firstDivergence ? layers.find((l) => l.name === firstDivergence) : layers[layers.length - 1];
  const focus = at?.batch?.worst ?? 0;
  let diagnosis: Hypothesis[] = [];
  let withLocal = layers;
  if (paired.length && (req.local || (firstDivergence && req.diagnose))) {
    req.progress(`Fetching the candidate's records of ${inputs.names[focus]} (local error, diagnosis)`);
    const image = await inputs.image(focus);
    const candRecords = await req.timed('focus', () => focusRecords(c, image.tensor, ref, provider, focus));
    if (req.local) {
      req.progress(`Re-running blocks from the candidate's inputs on ${inputs.names[focus]} (local error)`);
      const local = await req.timed('local', () => localErrors(ref, candRecords, rule, provider));
      withLocal = layers.map((l) => (local.has(l.name) ? { ...l, local: local.get(l.name) } : l));
      await req.cancelled();
    }
    if (firstDivergence && req.diagnose) {
      req.progress(`Diagnosing ${firstDivergence} on ${inputs.names[focus]}`);
      diagnosis = (await req.timed('diagnose', () => diagnose(ref, firstDivergence, candRecords, rule, provider, image.tensor))).hypotheses;
    }
  }
  dump?.close();
  return {
    layers: withLocal,
    firstDivergence,
    unmatched: { onlyReference, onlyCandidate, shapeMismatch },
    uncovered: uncoveredModules(ref.tree, candKeys),
    diagnosis,
    batch: {
      images: [...inputs.names], firstDivergence: perImage, focus,
      method: inGraph ? 'in-graph' : 'records', ...(redo.size ? { exact: [...redo].sort((a, b) => a - b) } : {}), chunk,
    },
    provider: providerUsed,
    notes,
  };
}

/** The index of the image with the largest scaled error (a NaN counts as the largest); the first of equals. */
export function worstImage(images: readonly { readonly diff: { readonly scaledMaxAbs: number } }[]): number {
  let worst = 0;
  let value = -Infinity;
  images.forEach((im, i) => {
    const v = Number.isNaN(im.diff.scaledMaxAbs) ? Infinity : im.diff.scaledMaxAbs;
    if (v > value) { value = v; worst = i; }
  });
  return worst;
}

/**
 * A model's tap graph (every record exposed) in one session for all the chunks a comparison copies
 * records out of: a session per chunk cost its creation (about 0.3 s for dla60) every time.
 */
class TapRunner {
  private state: Promise<{ graph: BuiltGraph; session: RunnerSession }> | undefined;

  constructor(private readonly model: LoadedModel, private readonly provider: ProviderSetting) {}

  async records(input: Tensor): Promise<{ records: Map<string, Tensor>; provider: string }> {
    this.state ??= (async () => {
      const graph = buildTapGraph(this.model.tree, this.model.weights, { taps: 'all', aliases: 'share' });
      return { graph, session: await createSession(graph.bytes, { provider: this.provider }) };
    })();
    const { graph, session } = await this.state;
    const out = await runSession(session, { input }, graph.outputNames);
    return { records: collectRecords(graph, out, { input }), provider: describeSession(session) };
  }

  async release(): Promise<void> {
    const s = this.state;
    this.state = undefined;
    if (s) await releaseSession((await s).session);
  }
}

function tapSide(model: LoadedModel): PairSide {
  const g = buildTapGraph(model.tree, model.weights, { taps: 'all', aliases: 'share' });
  return { bytes: g.bytes, input: 'input', records: g.records };
}

function pairRecord(p: Paired): PairRecord {
  const same = p.refShape.length === p.candShape.length && p.refShape.every((d, i) => d === p.candShape[i]);
  return { key: p.key, rank: p.refShape.length, ...(same ? {} : { reshapeCandidate: true }) };
}

/** One run of the pair graph: its float64 statistics, by output. */
async function runPair(s: RunnerSession, pair: PairGraph, input: Tensor): Promise<Map<string, Float64Array>> {
  const result = await s.session.run({ [pair.input]: new ort.Tensor('float32', toFloat32(input), [...input.shape]) }, [...pair.outputs]);
  return new Map(pair.outputs.map((o) => [o, (result[o] as ort.Tensor).data as Float64Array]));
}

function readGraphSums(
  pair: PairGraph, out: ReadonlyMap<string, Float64Array>, paired: readonly Paired[], count: number, start: number,
  rule: ToleranceRule, sums: (PairSums | undefined)[][], redo: Set<number>,
): void {
  paired.forEach((p, i) => {
    const block = pair.blocks.get(p.key)!;
    const data = out.get(block.output)!;
    const columns = block.kind === 'same' ? SAME_COLUMNS : pair.pairColumns;
    const values = numel(p.refShape.slice(1));
    for (let j = 0; j < count; j++) {
      const s = graphSums(data, block, columns, j, values, rule);
      if (s) sums[i][start + j] = s;
      else redo.add(start + j);
    }
  });
}

/** The candidate's records of the focus image (what local error and diagnosis re-run from). */
async function focusRecords(
  c: BatchCandidate, input: Tensor, ref: LoadedModel, provider: ProviderSetting, image: number,
): Promise<Map<string, Tensor>> {
  if (c.kind === 'model') return (await forwardTaps(c.model, input, { provider })).records;
  if (c.kind === 'onnx') return (await runOnnxCandidate(c.file, ref.tree, input, { provider })).records;
  const d = DumpStream.open(c.file);
  try {
    const out = new Map<string, Tensor>();
    for (const k of d.keys()) {
      const shape = d.shape(k)!;
      if (shape.length > 0 && shape[0] > image) out.set(k, d.slice(k, image, 1));
    }
    return out;
  } finally {
    d.close();
  }
}
