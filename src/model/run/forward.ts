import { buildFastGraph, buildTapGraph, collectRecords, recordShapes, type GraphVariation } from '../dla/onnxGraph';
import { formatShape, numel, toFloat32, type Tensor } from '../tensor';
import { checkMemory } from './memoryBudget';
import { topK, type Prediction } from './labels';
import type { LoadedModel } from './loadModel';
import { createSession, describeSession, releaseSession, run, type ProviderSetting } from './session';

export interface ForwardOptions {
  readonly provider?: ProviderSetting;
  /** Records to expose; default every record. */
  readonly taps?: 'all' | readonly string[];
  readonly variations?: readonly GraphVariation[];
}

export interface ForwardResult {
  /** Records in execution order (`input` first when asked for). */
  readonly records: Map<string, Tensor>;
  /** The provider that ran, with the failed attempts before it: "cpu (cuda failed: ...)". */
  readonly provider: string;
  readonly timingsMs: { build: number; session: number; run: number };
}

/** The tap graph of `model` on `input`, every requested record returned under its timm key. */
export async function forwardTaps(model: LoadedModel, input: Tensor, options: ForwardOptions = {}): Promise<ForwardResult> {
  const t0 = performance.now();
  checkMemory(`Running ${model.variant.name} with every record on an input of ${formatShape(input.shape)}`, recordBytes(model, input.shape, options.taps),
    'give a smaller input (fewer images, or 224x224), or fewer records (--layers).');
  // 'share': records that hold the same value (a block and its last ReLU) come back as one output,
  // which cut about 14% of a tap-all run at 224 (ORT copies every output into a fresh JS buffer).
  const graph = buildTapGraph(model.tree, model.weights, { taps: options.taps ?? 'all', variations: options.variations, aliases: 'share' });
  const t1 = performance.now();
  const session = await createSession(graph.bytes, { provider: options.provider });
  const t2 = performance.now();
  try {
    const outputs = await run(session, { input }, graph.outputNames);
    const t3 = performance.now();
    const records = collectRecords(graph, outputs, { input });
    return { records, provider: describeSession(session), timingsMs: { build: t1 - t0, session: t2 - t1, run: t3 - t2 } };
  } finally {
    await releaseSession(session);
  }
}

export interface Classification {
  readonly top: Prediction[];
  readonly logits: Float32Array;
  readonly provider: string;
  readonly timingsMs: { build: number; session: number; run: number };
}

/** Top-k ImageNet classes through the fast graph (BatchNorm folded, logits only). */
export async function classify(model: LoadedModel, input: Tensor, k = 5, provider: ProviderSetting = 'auto'): Promise<Classification> {
  const t0 = performance.now();
  const graph = buildFastGraph(model.tree, model.weights);
  const t1 = performance.now();
  const session = await createSession(graph.bytes, { provider });
  const t2 = performance.now();
  try {
    const out = await run(session, { input }, ['logits']);
    const t3 = performance.now();
    const logits = toFloat32(out.get('logits')!);
    return { top: topK(logits, k), logits, provider: describeSession(session), timingsMs: { build: t1 - t0, session: t2 - t1, run: t3 - t2 } };
  } finally {
    await releaseSession(session);
  }
}

/** Bytes of the float32 records a tap run returns (each record once, the batch included). */
function recordBytes(model: LoadedModel, shape: readonly number[], taps: ForwardOptions['taps']): number {
  const [n, , h, w] = shape;
  const wanted = taps === undefined || taps === 'all' ? undefined : new Set(taps);
  let bytes = 0;
  for (const [key, s] of recordShapes(model.tree, h, w)) {
    if (!wanted || wanted.has(key)) bytes += 4 * numel(s) * (n ?? 1);
  }
  return bytes;
}
