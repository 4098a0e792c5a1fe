import * as path from 'path';
import { readCheckpoint } from '../formats/registry';
import { toTimmNames } from '../dla/keymap';
import { CancelledError, throwIfCancelled, type CancelCheck } from '../cancel';
import { UsageError } from '../errors';
import { forwardTaps } from '../run/forward';
import { inputFromArrays, type ModelInput } from '../run/inputSource';
import { dlaReadOptions, loadModel, type LoadedModel } from '../run/loadModel';
import { hubConfigFile } from '../run/hubPreset';
import type { ProviderSetting } from '../run/session';
import type { Checkpoint, Tensor } from '../tensor';
import { diagnose } from './diagnose';
import { dumpFitProblem, shapesOf } from './dumpFit';
import { diffLayers, uncoveredModules } from './layerDiff';
import { localErrors } from './localError';
import { runOnnxCandidate, type OnnxCandidateRun } from './onnxCandidate';
import { DEFAULT_TOLERANCE } from './metrics';
import { inputSpecFor, resolveInputSpec, type InputSpec } from './inputSpec';
import { InputSet, inputSetFor, type InputSetSpec } from './inputSet';
import { compareBatch, type BatchCandidate } from './batchCompare';
import { DumpStream } from './dumpStream';
import {
  DumpRecords, ModelRecords, OnnxRecords, candidateModel as asCandidate, dumpRecords, setSources, sideDescription, type ComparisonSources,
} from './recordSources';
import type { CompareReport, Hypothesis, LayerResult, SideInfo, ToleranceRule, WeightDiff } from './types';
import { diffWeights, weightsRunnable } from './weightDiff';

export interface CompareRequest {
  /** Reference checkpoint (any format). */
  readonly reference: string;
  /**
   * Candidate checkpoint (.pth/.safetensors/.pdparams; timm or Paddle names), or an ONNX export
   * (.onnx), which is run with every intermediate tensor exposed (see onnxCandidate.ts).
   */
  readonly candidate?: string;
  /** In a training checkpoint, the dict of tensors to take as the reference / candidate (default: the one that fits a DLA variant). */
  readonly referenceKey?: string;
  readonly candidateKey?: string;
  /** Candidate activation dump (.npz keyed by timm module paths, or reprod_log .npy). */
  readonly dump?: string;
  /**
   * An image (with `preset`) or an .npz holding `input`; or many inputs: a folder of images, a list
   * file (.txt: one image per line), or an .npz whose `input` holds a batch (inputSet.ts).
   */
  readonly input?: string;
  /** With many inputs: compare on the first `limit` only. */
  readonly limit?: number;
  /** With many inputs: images per onnxruntime run (default: batchCompare.ts's defaultChunk). */
  readonly chunk?: number;
  readonly preset?: string;
  /** A file configuring `preset` (timm pretrained_cfg JSON, PaddleClas YAML; see run/presetConfig.ts). */
  readonly presetConfig?: string;
  /** Seed of the random input used when neither `input` nor the dump gives one. */
  readonly seed?: number;
  readonly tolerance?: ToleranceRule;
  readonly provider?: ProviderSetting;
  /** Re-run blocks from the candidate's inputs (default true). */
  readonly local?: boolean;
  /** Try known porting mistakes at the first divergence (default true). */
  readonly diagnose?: boolean;
  readonly onProgress?: (message: string) => void;
  /** Checked between the comparison's steps (reads, sessions); true stops it with a CancelledError. */
  readonly isCancelled?: CancelCheck;
}

export { CancelledError };

const ARCHIVE_DUMP = /\.(npz|npy)$/i;
const ONNX_CANDIDATE = /\.onnx$/i;

function sideInfo(ckpt: Checkpoint, kind: SideInfo['kind'], variant: string | null, weightsKey?: string): SideInfo {
  return { file: ckpt.file, format: ckpt.format, kind, variant, ...(weightsKey !== undefined ? { weightsKey } : {}) };
}

/** The input (and how it was made): an image or array file, else the dump's own input, else the seeded tensor. */
function resolveInput(req: CompareRequest, dump: ReadonlyMap<string, Tensor> | undefined): { spec: InputSpec; input: Promise<ModelInput> | ModelInput } {
  const spec = inputSpecFor(req.input, req.preset ?? 'timm', req.seed ?? 0, dump?.has('input') ? req.dump : undefined, presetConfigOf(req));
  // The dump is in memory already: its input is taken from there, not read a second time.
  const input = spec.kind === 'array' && spec.file === req.dump && !req.input ? inputFromArrays(req.dump, dump!) : resolveInputSpec(spec);
  return { spec, input };
}

/** What a comparison gives: the report, and the input and records behind it for whatever shows them. */
export interface Comparison extends ComparisonSources {
  readonly report: CompareReport;
}

/** Reference vs candidate (weights and/or dump), layer by layer, with the first divergence and its likely cause. */
export async function compare(req: CompareRequest): Promise<Comparison> {
  if (!req.candidate && !req.dump) throw new UsageError('Give a candidate checkpoint, a candidate activation dump, or both.');
  const rule = req.tolerance ?? DEFAULT_TOLERANCE;
  const provider = req.provider ?? 'auto';
  const progress = req.onProgress ?? (() => {});
  const cancelled = (): Promise<void> => throwIfCancelled(req.isCancelled, 'The comparison');
  const timings: Record<string, number> = {};
  const timed = async <T>(name: string, f: () => Promise<T> | T): Promise<T> => {
    const t0 = performance.now();
    try {
      return await f();
    } finally {
      timings[name] = (timings[name] ?? 0) + performance.now() - t0;
    }
  };

  progress(`Reading ${path.basename(req.reference)}`);
  const ref = await timed('read', () => loadModel(req.reference, { weightsKey: req.referenceKey }));
  let candidateModel: LoadedModel | undefined;
  let candidateCkpt: Checkpoint | undefined;
  let weights: WeightDiff | null = null;
  const onnxCandidate = req.candidate !== undefined && ONNX_CANDIDATE.test(req.candidate);
  if (onnxCandidate && req.dump) throw new UsageError('Give an ONNX candidate or an activation dump, not both: each is the candidate\'s activations.');
  if (req.candidate && !onnxCandidate) {
    progress(`Reading ${path.basename(req.candidate)}`);
    candidateCkpt = await timed('read', () => readCheckpoint(req.candidate!, dlaReadOptions({ weightsKey: req.candidateKey })));
    const { tensors } = toTimmNames(candidateCkpt.tensors);
    weights = await timed('weights', () => diffWeights(ref.variant, ref.tree, ref.weights, tensors));
    if (weightsRunnable(weights)) candidateModel = asCandidate(ref, candidateCkpt);
  }
  if (req.dump && !ARCHIVE_DUMP.test(req.dump)) throw new UsageError(`${req.dump}: an activation dump must be an .npz or a reprod_log .npy.`);
  // Many inputs: a folder, a list, a batch in an array file, or a dump holding a batch of its own.
  const set = inputSetOf(req);
  if (set) {
    if (req.dump) {
      // As for one input below: a dump of another variant is bad input, not a wall of mismatches.
      const stream = DumpStream.open(req.dump);
      let misfit: string | undefined;
      try {
        misfit = dumpFitProblem(stream.shapes(), ref.variant);
      } finally {
        stream.close();
      }
      if (misfit) throw new UsageError(`${req.dump}: ${misfit}`);
    }
    const inputs = new InputSet(set);
    progress(`Comparing on ${inputs.source}`);
    const candidate: BatchCandidate | undefined = onnxCandidate
      ? { kind: 'onnx', file: req.candidate! }
      : req.dump ? { kind: 'dump', file: req.dump } : candidateModel ? { kind: 'model', model: candidateModel } : undefined;
    const rest = candidate
      ? await compareBatch({
        reference: ref, candidate, inputs, rule, provider, local: req.local !== false, diagnose: req.diagnose !== false, chunk: req.chunk,
        progress, cancelled, timed,
      })
      : undefined;
    const firstShape = inputs.shape ?? [1, 3, 0, 0];
    const candidateSide: SideInfo = onnxCandidate
      ? { file: req.candidate!, format: 'onnx', kind: 'onnx', variant: ref.variant.name }
      : req.dump
        ? { file: req.dump, format: /\.npz$/i.test(req.dump) ? 'npz' : 'reprod-npy', kind: 'dump', variant: ref.variant.name }
        : sideInfo(candidateCkpt!, 'checkpoint', candidateModel ? ref.variant.name : null, req.candidateKey);
    const bad = weights ? (weights.missing[0]?.name ?? weights.mismatched[0]?.name ?? null) : null;
    const report: CompareReport = {
      version: 1,
      reference: sideInfo(ref.checkpoint, 'checkpoint', ref.variant.name, req.referenceKey),
      candidate: candidateSide,
      input: { source: inputs.source, shape: [inputs.size, ...firstShape.slice(1)] },
      inputSpec: set,
      provider: rest?.provider ?? 'none (nothing was run)',
      tolerance: rule,
      weights,
      layers: rest?.layers ?? [],
      firstDivergence: rest ? rest.firstDivergence : bad,
      uncovered: rest?.uncovered ?? [],
      unmatched: rest?.unmatched ?? { onlyReference: [], onlyCandidate: [], shapeMismatch: [] },
      diagnosis: rest?.diagnosis ?? [],
      timingsMs: timings,
      ...(rest?.notes.length ? { notes: rest.notes } : {}),
      ...(rest ? { batch: rest.batch } : {}),
    };
    return { report, ...setSources(report, inputs, () => ref, provider, candidateModel ? () => candidateModel! : undefined) };
  }
  let dump: Map<string, Tensor> | undefined;
  let dumpCkpt: Checkpoint | undefined;
  if (req.dump) {
    progress(`Reading ${path.basename(req.dump)}`);
    dumpCkpt = await timed('read', () => readCheckpoint(req.dump!));
    dump = dumpRecords(dumpCkpt);
    // A dump of another variant is bad input (exit 2), not a divergence to diagnose.
    const misfit = dumpFitProblem(shapesOf(dump), ref.variant);
    if (misfit) throw new UsageError(`${req.dump}: ${misfit}`);
  }
  await cancelled();

  const resolved = resolveInput(req, dump);
  const input = await timed('input', () => resolved.input);
  // An ONNX candidate runs first: an input it cannot take fails before the reference's run.
  let onnxRun: OnnxCandidateRun | undefined;
  if (onnxCandidate) {
    progress(`Running ${path.basename(req.candidate!)} (ONNX candidate, every tensor exposed)`);
    onnxRun = await timed('candidate', () => runOnnxCandidate(req.candidate!, ref.tree, input.tensor, { provider }));
    await cancelled();
  }
  progress(`Running ${ref.variant.name} (reference) on ${input.source}`);
  const refRun = await timed('reference', () => forwardTaps(ref, input.tensor, { provider }));
  await cancelled();

  // The candidate's activations: its dump when given (what its framework computed), else its weights run here.
  let candRecords: ReadonlyMap<string, Tensor> | undefined = dump;
  if (onnxRun) candRecords = onnxRun.records;
  if (!candRecords && candidateModel) {
    progress(`Running ${ref.variant.name} (candidate)`);
    candRecords = (await timed('candidate', () => forwardTaps(candidateModel!, input.tensor, { provider }))).records;
  }
  await cancelled();

  let layers: LayerResult[] = [];
  let firstDivergence: string | null = null;
  let unmatched: CompareReport['unmatched'] = { onlyReference: [], onlyCandidate: [], shapeMismatch: [] };
  let uncovered: string[] = [];
  let diagnosis: Hypothesis[] = [];
  if (candRecords) {
    const d = await timed('diff', () => diffLayers(refRun.records, candRecords!, rule));
    layers = d.layers;
    firstDivergence = d.firstDivergence;
    unmatched = d.unmatched;
    uncovered = uncoveredModules(ref.tree, candRecords.keys());
    if (req.local !== false) {
      progress('Re-running blocks from the candidate\'s inputs (local error)');
      const local = await timed('local', () => localErrors(ref, candRecords!, rule, provider));
      await cancelled();
      layers = layers.map((l) => (local.has(l.name) ? { ...l, local: local.get(l.name) } : l));
    }
    if (firstDivergence && req.diagnose !== false) {
      progress(`Diagnosing ${firstDivergence}`);
      diagnosis = (await timed('diagnose', () => diagnose(ref, firstDivergence!, candRecords!, rule, provider, input.tensor))).hypotheses;
    }
  } else if (weights) {
    // Weights that cannot be run: the report is the weight diff, and it fails.
    const bad = weights.missing[0]?.name ?? weights.mismatched[0]?.name ?? null;
    firstDivergence = bad;
  }

  const candidateSide: SideInfo = onnxRun
    ? { file: req.candidate!, format: 'onnx', kind: 'onnx', variant: ref.variant.name }
    : dumpCkpt
      ? sideInfo(dumpCkpt, 'dump', ref.variant.name)
      : sideInfo(candidateCkpt!, 'checkpoint', candidateModel ? ref.variant.name : null, req.candidateKey);
  const report: CompareReport = {
    version: 1,
    reference: sideInfo(ref.checkpoint, 'checkpoint', ref.variant.name, req.referenceKey),
    candidate: candidateSide,
    input: { source: input.source, shape: [...input.tensor.shape] },
    inputSpec: resolved.spec,
    provider: refRun.provider,
    tolerance: rule,
    weights,
    layers,
    firstDivergence,
    uncovered,
    unmatched,
    diagnosis,
    timingsMs: timings,
    ...(onnxRun ? { notes: onnxRun.notes } : {}),
  };
  // The records behind the report stay out of memory; a view asks the sources for one, and they
  // re-run (or re-read) what they need on the same input.
  const referenceSource = new ModelRecords(() => ref, input, provider, sideDescription(ref.checkpoint, input));
  const candidateSource = dump
    ? new DumpRecords(req.dump!, dump)
    : onnxRun
      ? new OnnxRecords(req.candidate!, () => ref, input, provider)
      : candidateModel
        ? new ModelRecords(() => candidateModel!, input, provider, sideDescription(candidateModel.checkpoint, input))
        : undefined;
  return { report, input, reference: referenceSource, ...(candidateSource ? { candidate: candidateSource } : {}) };
}

/**
 * The set of inputs a request names, or undefined for a single input: `input` a folder, a list
 * file or an array with a batch; else a dump whose own `input` holds more than one image.
 */
/**
 * The preset's config file: the one given; else, with no preset asked for and a timm hub folder as
 * the reference, its config.json, so images are preprocessed as timm would for that checkpoint (as
 * classify and eval do), and a reopened report reads the same file.
 */
function presetConfigOf(req: CompareRequest): string | undefined {
  if (req.presetConfig !== undefined || req.preset !== undefined) return req.presetConfig;
  return hubConfigFile(req.reference);
}

function inputSetOf(req: CompareRequest): InputSetSpec | undefined {
  if (req.input) return inputSetFor(req.input, req.preset ?? 'timm', presetConfigOf(req), req.limit);
  if (!req.dump) return undefined;
  const d = DumpStream.open(req.dump);
  try {
    const n = d.has('input') ? d.shape('input')![0] : 1;
    return n > 1 && d.shape('input')!.length === 4 ? { kind: 'batch', file: req.dump, count: Math.min(n, req.limit ?? n) } : undefined;
  } finally {
    d.close();
  }
}

/** Whether the report passes: no diverging layer and no missing/mismatched weights. */
export function reportPasses(r: CompareReport): boolean {
  return r.firstDivergence === null && (!r.weights || (r.weights.missing.length === 0 && r.weights.mismatched.length === 0));
}
