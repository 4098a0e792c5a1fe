import * as fs from 'fs';
import * as os from 'os';
import type { CancelCheck } from '../cancel';
import { buildFastGraph } from '../dla/onnxGraph';
import { UsageError } from '../errors';
import { IMAGENET_CLASSES } from '../run/labels';
import { loadModel, type LoadedModel } from '../run/loadModel';
import { checkMemory } from '../run/memoryBudget';
import type { PreprocessPreset } from '../run/presets';
import type { ProviderSetting } from '../run/session';
import type { Dataset, LabelledImage } from './dataset';
import { InferencePool, PreprocessPool, describeDevice, parseDevices, type Preprocessed } from './pools';
import { PredictionsWriter, readPredictions, type RunHeader } from './predictionsFile';
import { Tally, meanAbsDiff, score, type FailedImage, type ImageRecord, type Totals } from './scoring';

/**
 * dla-lens eval: top-1/top-5 of a checkpoint on labelled images, and, against a second checkpoint
 * or a second preprocessing of the same images, where the two disagree. The pipeline keeps the
 * model busy: worker threads decode and preprocess ahead (a bounded window, so memory does not
 * grow with the set), while onnxruntime runs batches of the fast graph in one thread per device.
 * Every image's result is streamed to the predictions file as it is done; the totals are a fold
 * of those lines (scoring.ts). Cancel stops at the next batch and gives the partial result.
 */

export interface EvalRequest {
  readonly weights: string;
  readonly weightsKey?: string;
  readonly dataset: Dataset;
  readonly preset: PreprocessPreset;
  /** A second checkpoint, run on the same preprocessed images. */
  readonly against?: string;
  readonly againstKey?: string;
  /** The same weights through a second preprocessing. */
  readonly againstPreset?: PreprocessPreset;
  /** Images per batch (default 16). */
  readonly batch?: number;
  readonly provider?: ProviderSetting;
  /** `--devices` (see parseDevices): batches sharded over one session per device. */
  readonly devices?: string;
  /** The predictions file (JSON lines); `resume` continues the run it records. */
  readonly out?: string;
  readonly resume?: boolean;
  /** Decode-and-preprocess threads (default: the cores, at most 4). */
  readonly preprocessThreads?: number;
  readonly onProgress?: (p: EvalProgress) => void;
  readonly isCancelled?: CancelCheck;
}

export interface EvalProgress {
  readonly done: number;
  readonly total: number;
  readonly imagesPerSecond: number;
  /** Seconds left at the current rate; undefined before the first batch. */
  readonly etaSeconds?: number;
  readonly top1: number;
}

export interface EvalResult extends Totals {
  readonly weights: string;
  readonly against?: Totals['against'] & { readonly source: string; readonly kind: 'checkpoint' | 'preset' };
  readonly dataset: string;
  readonly preset: string;
  readonly presetDescription: string;
  readonly againstPreset?: string;
  readonly provider: string;
  readonly devices: readonly string[];
  /** Batches each device ran (the sharding at work). */
  readonly batchesPerDevice: readonly number[];
  readonly batch: number;
  /** Images evaluated in this run (not replayed from --resume) per second of its evaluation loop. */
  readonly imagesPerSecond: number;
  readonly failed: readonly FailedImage[];
  /** True when cancelled before the end: the figures are over the images done. */
  readonly partial: boolean;
  /** Images replayed from the predictions file. */
  readonly resumed: number;
  readonly total: number;
  readonly timingsMs: {
    readonly load: number;
    readonly loop: number;
    /** Summed over the preprocessing threads. */
    readonly preprocess: number;
    /** Time the model waited for preprocessed images (the pipeline's stall). */
    readonly waitForImages: number;
    /** Summed over the inference threads. */
    readonly inference: number;
  };
  readonly out?: string;
}

const DEFAULT_BATCH = 16;

export async function evaluate(req: EvalRequest): Promise<EvalResult> {
  const t0 = performance.now();
  const batch = req.batch ?? DEFAULT_BATCH;
  if (!Number.isInteger(batch) || batch < 1) throw new UsageError(`--batch must be a positive integer; got ${batch}.`);
  if (req.against && req.againstPreset) throw new UsageError('Give --against or --against-preset, not both: an agreement run compares one thing at a time.');
  if (req.resume && !req.out) throw new UsageError('--resume continues the run recorded in --out; give --out too.');
  const devices = parseDevices(req.devices, req.provider ?? 'auto');

  const model = loadModel(req.weights, { weightsKey: req.weightsKey });
  const other = req.against ? loadModel(req.against, { weightsKey: req.againstKey }) : undefined;
  const classes = classCount(model);
  if (other && classCount(other) !== classes) {
    throw new UsageError(`${req.against} has ${classCount(other)} classes, ${req.weights} has ${classes}: an agreement run needs the same head.`);
  }
  const tooBig = req.dataset.images.find((im) => im.label >= classes);
  if (tooBig) throw new UsageError(`${tooBig.name}: label ${tooBig.label}, but ${model.variant.name}'s head has ${classes} classes (0..${classes - 1}).`);
  // ImageNet's names for an ImageNet head (synset folders or a list); a folder layout's own names otherwise.
  const imagenet = classes === IMAGENET_CLASSES.length && req.dataset.labelling !== 'sorted-folders';
  const className = (i: number): string => (imagenet ? IMAGENET_CLASSES[i]?.name : req.dataset.classNames?.get(i)) ?? String(i);

  const header: RunHeader = {
    dlaLensEval: 1, weights: req.weights, ...(req.against ? { against: req.against } : {}), preset: req.preset.name,
    ...(req.againstPreset ? { againstPreset: req.againstPreset.name } : {}), dataset: req.dataset.source, count: req.dataset.images.length,
  };
  const tally = new Tally(className);
  const failed: FailedImage[] = [];
  let todo: { i: number; image: LabelledImage }[] = req.dataset.images.map((image, i) => ({ i, image }));
  let resumed = 0;
  if (req.resume && req.out && fs.existsSync(req.out)) {
    const r = readPredictions(req.out, header);
    for (const rec of r.records) tally.add(rec);
    failed.push(...r.failed);
    const done = new Set([...r.records, ...r.failed].map((l) => l.i));
    todo = todo.filter((t) => !done.has(t.i));
    resumed = done.size;
    fs.truncateSync(req.out, r.validBytes);
  }
  const writer = req.out ? new PredictionsWriter(req.out, req.resume && resumed > 0 ? undefined : header) : undefined;

  const presets = [req.preset, ...(req.againstPreset ? [req.againstPreset] : [])];
  // The look-ahead window of preprocessed images, and each batch's input, are allocated per image.
  const imageBytes = presets.reduce((sum, p) => sum + 4 * 3 * (p.crop?.height ?? 224) * (p.crop?.width ?? 224), 0);
  checkMemory(`A batch of ${batch} images (with ${batch * (devices.length + 1)} preprocessed ahead)`, 2 * imageBytes * batch * (devices.length + 1),
    'give a smaller --batch.');
  const graphs = [buildFastGraph(model.tree, model.weights).bytes, ...(other ? [buildFastGraph(other.tree, other.weights).bytes] : [])];
  const tLoad = performance.now() - t0;
  const inference = await InferencePool.start(graphs, devices);
  const pre = new PreprocessPool(presets, req.preprocessThreads ?? Math.max(1, Math.min(4, os.availableParallelism())));
  const timing = { preprocess: 0, wait: 0, inference: 0 };
  const tLoop = performance.now();
  let evaluated = 0;
  let partial = false;
  try {
    // A bounded look-ahead: enough preprocessed images for the batches in flight and the next one.
    const window = batch * (inference.size + 1);
    const ahead: { i: number; image: LabelledImage; p: Promise<Preprocessed> }[] = [];
    let next = 0;
    const refill = (): void => {
      while (ahead.length < window && next < todo.length) {
        const t = todo[next++];
        const p = pre.submit(t.image.file);
        p.catch(() => undefined); // a failure is read when its turn comes
        ahead.push({ ...t, p });
      }
    };
    const running: Promise<void>[] = [];
    refill();
    while (ahead.length > 0) {
      if (await req.isCancelled?.()) {
        partial = true;
        break;
      }
      // The next batch: images in order, of one shape (a preset without a crop gives varying sizes).
      const items: { i: number; image: LabelledImage; t: Preprocessed }[] = [];
      const tWait = performance.now();
      while (items.length < batch && ahead.length > 0) {
        const head = ahead[0];
        let t: Preprocessed;
        try {
          t = await head.p;
        } catch (err) {
          ahead.shift();
          const line: FailedImage = { i: head.i, image: head.image.name, error: (err as Error).message };
          failed.push(line);
          timing.preprocess += (err as { ms?: number }).ms ?? 0;
          writer?.write([line]);
          refill();
          continue;
        }
        if (items.length > 0 && !sameShapes(items[0].t.shapes, t.shapes)) break;
        ahead.shift();
        timing.preprocess += t.ms;
        items.push({ i: head.i, image: head.image, t });
        refill();
      }
      timing.wait += performance.now() - tWait;
      if (items.length === 0) continue;
      // At most one batch waiting per inference thread: the look-ahead is where images queue.
      while (inference.inFlight >= inference.size) await Promise.race(running);
      const runs: [number, number][] = other ? [[0, 0], [1, 0]] : req.againstPreset ? [[0, 0], [0, 1]] : [[0, 0]];
      const job = runBatch(items, runs, inference, (records) => {
        for (const r of records) tally.add(r);
        writer?.write(records);
        evaluated += records.length;
        const elapsed = (performance.now() - tLoop) / 1000;
        const rate = evaluated / elapsed;
        const done = tally.count + failed.length;
        req.onProgress?.({ done, total: req.dataset.images.length, imagesPerSecond: rate, etaSeconds: rate > 0 ? (req.dataset.images.length - done) / rate : undefined, top1: tally.top1 });
      }, timing);
      running.push(job);
      // Off the list once settled; a rejection is handled by the race above or Promise.all below,
      // so this chain must not leave one unhandled (Node would end the process on it).
      const drop = (): void => { running.splice(running.indexOf(job), 1); };
      job.then(drop, drop);
    }
    await Promise.all(running);
  } finally {
    writer?.close();
    await Promise.all([pre.close(), inference.close()]);
  }
  const loopMs = performance.now() - tLoop;
  const totals = tally.result();
  const { against, ...rest } = totals;
  return {
    ...rest,
    weights: req.weights,
    ...(against ? { against: { ...against, source: req.against ?? req.againstPreset!.name, kind: req.against ? 'checkpoint' as const : 'preset' as const } } : {}),
    dataset: req.dataset.source,
    preset: req.preset.name,
    presetDescription: req.preset.description,
    ...(req.againstPreset ? { againstPreset: req.againstPreset.name } : {}),
    provider: inference.providers[0],
    devices: devices.map(describeDevice),
    batchesPerDevice: inference.batchesDone,
    batch,
    imagesPerSecond: evaluated / Math.max(1e-9, loopMs / 1000),
    failed: failed.sort((a, b) => a.i - b.i),
    partial,
    resumed,
    total: req.dataset.images.length,
    timingsMs: { load: tLoad, loop: loopMs, preprocess: timing.preprocess, waitForImages: timing.wait, inference: timing.inference },
    ...(req.out ? { out: req.out } : {}),
  };
}

/** One batch through every model; its images scored against their labels. */
async function runBatch(
  items: readonly { i: number; image: LabelledImage; t: Preprocessed }[], runs: readonly (readonly [number, number])[], pool: InferencePool,
  done: (records: ImageRecord[]) => void, timing: { inference: number },
): Promise<void> {
  const shapes = items[0].t.shapes.map((s) => [items.length, ...s.slice(1)]);
  const inputs = shapes.map((shape, k) => {
    const plane = shape[1] * shape[2] * shape[3];
    const x = new Float32Array(items.length * plane);
    items.forEach((it, n) => x.set(it.t.tensors[k], n * plane));
    return x;
  });
  const out = await pool.run(inputs, shapes, runs);
  timing.inference += out.ms;
  const k = out.classes;
  const records = items.map((it, n): ImageRecord => {
    const a = out.logits[0].subarray(n * k, (n + 1) * k);
    const sa = score(a, it.image.label);
    if (out.logits.length === 1) return { i: it.i, image: it.image.name, label: it.image.label, ...sa };
    const b = out.logits[1].subarray(n * k, (n + 1) * k);
    return { i: it.i, image: it.image.name, label: it.image.label, ...sa, b: score(b, it.image.label), logitDiff: meanAbsDiff(a, b) };
  });
  done(records);
}

function sameShapes(a: readonly number[][], b: readonly number[][]): boolean {
  return a.length === b.length && a.every((s, i) => s.join('x') === b[i].join('x'));
}

function classCount(m: LoadedModel): number {
  return m.variant.numClasses;
}

