import { GraphBuildError } from '../dla/graphEmitter';
import type { ModuleNode } from '../dla/moduleTree';
import { buildTapGraph, collectRecords } from '../dla/onnxGraph';
import { batchNormInputs, syntheticInput, syntheticWeights, type SyntheticWeightOptions } from '../dla/syntheticWeights';
import { float32Tensor, type Tensor } from '../tensor';
import { createSession, releaseSession, run } from './session';

/**
 * Synthetic weights (src/model/dla/syntheticWeights.ts) with their BatchNorm running statistics
 * calibrated by one training-mode forward pass: each BatchNorm's running_mean / running_var become
 * the mean and unbiased variance of its own input over N, H, W on a seeded N(0,1) batch, as
 * PyTorch computes them with momentum=None after one batch. Here, beside the runner, because it
 * runs the graph; drawing the weights alone needs no runtime.
 */

export interface CalibrationOptions extends SyntheticWeightOptions {
  /** Calibration batch: N x 3 x size x size, N(0,1). Default 4 x 3 x 96 x 96. */
  readonly batch?: number;
  readonly size?: number;
}

export interface CalibratedWeights {
  readonly weights: Map<string, Tensor>;
  /** What was done, for a README or a log line. */
  readonly description: string;
  readonly ms: { readonly draw: number; readonly calibrate: number };
}

/** Per channel (dim 1) mean and unbiased variance of an N x C x H x W tensor, in float64. */
export function channelMoments(t: Tensor): { mean: Float64Array; variance: Float64Array } {
  const [n, c] = t.shape;
  const plane = t.shape.slice(2).reduce((x, y) => x * y, 1);
  const data = t.data as Float32Array;
  const mean = new Float64Array(c);
  const variance = new Float64Array(c);
  const count = n * plane;
  for (let ch = 0; ch < c; ch++) {
    let s = 0;
    for (let b = 0; b < n; b++) {
      const base = (b * c + ch) * plane;
      for (let i = 0; i < plane; i++) s += data[base + i];
    }
    const m = s / count;
    let ss = 0;
    for (let b = 0; b < n; b++) {
      const base = (b * c + ch) * plane;
      for (let i = 0; i < plane; i++) {
        const d = data[base + i] - m;
        ss += d * d;
      }
    }
    mean[ch] = m;
    variance[ch] = count > 1 ? ss / (count - 1) : 0;
  }
  return { mean, variance };
}

/**
 * syntheticWeights with calibrated BatchNorm statistics (see the file comment): one training-mode
 * forward pass through onnxruntime (the project's own tap graph with the `bn-train` variation),
 * tapping every BatchNorm's input.
 */
export async function calibratedSyntheticWeights(tree: ModuleNode, options: CalibrationOptions = {}): Promise<CalibratedWeights> {
  const seed = options.seed ?? 0;
  const batch = options.batch ?? 4;
  const size = options.size ?? 96;
  const t0 = performance.now();
  const weights = syntheticWeights(tree, { seed });
  const t1 = performance.now();
  const bns = batchNormInputs(tree);
  const graph = buildTapGraph(tree, weights, { taps: [...new Set(bns.map((b) => b.input))], variations: [{ kind: 'bn-train' }] });
  const session = await createSession(graph.bytes, { provider: 'cpu', threads: 1 });
  let records: Map<string, Tensor>;
  try {
    const feeds = { input: syntheticInput(batch, size, seed) };
    records = collectRecords(graph, await run(session, feeds, graph.outputNames), feeds);
  } finally {
    await releaseSession(session);
  }
  for (const { bn, input } of bns) {
    const x = records.get(input);
    if (!x) throw new GraphBuildError(`The calibration pass produced no record '${input}' (the input of '${bn}').`, bn);
    const { mean, variance } = channelMoments(x);
    weights.set(`${bn}.running_mean`, float32Tensor([mean.length], Float32Array.from(mean)));
    weights.set(`${bn}.running_var`, float32Tensor([variance.length], Float32Array.from(variance)));
    weights.set(`${bn}.num_batches_tracked`, { dtype: 'int64', shape: [], data: BigInt64Array.of(1n) });
  }
  const t2 = performance.now();
  return {
    weights,
    description:
      `Synthetic ${tree.name} weights (seed ${seed}): convs N(0, sqrt(2/(k*k*O))) as timm initialises DLA, BatchNorm ` +
      `weight U(0.5, 1.5) and bias N(0, 0.1); running statistics calibrated by one training-mode pass on a seeded ` +
      `N(0,1) batch of ${batch}x3x${size}x${size} (mean and unbiased variance of each BatchNorm's input).`,
    ms: { draw: t1 - t0, calibrate: t2 - t1 },
  };
}
