import { float32Tensor, type Tensor } from '../tensor';
import { GraphBuildError } from './graphEmitter';
import { expectedWeights, walk, type ModuleNode } from './moduleTree';
import { moduleInputs } from './recordOrder';

/**
 * Deterministic synthetic weights for any DLA variant, from its module tree alone: what the demo
 * workspace, benchmarks and tests use where no real checkpoint may be shipped. They follow timm's
 * own initialisation and the reference data's recipe (../shared/reference/README.md, "Weights"):
 *
 * - Conv2d weight ~ N(0, sqrt(2 / (k*k*O))), timm DLA's `_init_weights` (fan-out Kaiming); the
 *   classifier's bias (fc is a 1x1 conv) ~ N(0, 0.01);
 * - BatchNorm weight ~ U(0.5, 1.5), bias ~ N(0, 0.1);
 * - BatchNorm running statistics *calibrated*: one forward pass in training mode on a seeded
 *   N(0,1) batch, each BatchNorm's `running_mean` / `running_var` set to the mean and unbiased
 *   variance of its own input over N, H, W. That is what PyTorch computes with `momentum=None`
 *   after one batch, and `num_batches_tracked` says 1. Training-mode BatchNorm normalises with the
 *   batch's statistics, never the running ones, so a single pass gives every layer's statistics at
 *   once, each under the (train-mode) layers above it, just as in PyTorch. In eval mode the
 *   network then computes on that batch what it computed in train mode, and activations stay O(1)
 *   all the way to the logits (dla60: |logits| of a few units), where uncalibrated statistics
 *   (mean 0, var 1) let them grow by orders of magnitude with depth.
 *
 * The calibration pass runs the graph, so it lives beside the runner: src/model/run/calibratedWeights.ts.
 *
 * Random numbers: every tensor has its own stream, seeded from the seed and the tensor's name
 * (FNV-1a into sfc32), normals by Box-Muller. So a tensor's values do not depend on the other
 * tensors, and the same seed gives the same bytes on every machine. The calibrated statistics come
 * out of onnxruntime's CPU kernels, run single-threaded: the same bytes on one machine every time;
 * another CPU (AVX2 vs AVX-512 kernels) may differ in the last bits.
 */

export interface SyntheticWeightOptions {
  /** Seed of every random stream (default 0). */
  readonly seed?: number;
}

// ---------------------------------------------------------------------------------------------
// Random streams

/** FNV-1a, 32 bit: a name to a seed. */
function fnv1a(s: string, h = 0x811c9dc5): number {
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** sfc32 state (PractRand-tested, 128 bit) for a seed and a stream name. */
function sfc32State(seed: number, name: string): Uint32Array {
  const st = Uint32Array.of(fnv1a(name, (seed >>> 0) ^ 0x811c9dc5), fnv1a(name, 0x9e3779b9 ^ (seed >>> 0)), seed >>> 0, 1);
  const next = sfc32(st);
  for (let i = 0; i < 12; i++) next(); // mix the seeding
  return st;
}

function sfc32(st: Uint32Array): () => number {
  let a = st[0] | 0, b = st[1] | 0, c = st[2] | 0, d = st[3] | 0;
  return () => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    st[0] = a; st[1] = b; st[2] = c; st[3] = d;
    return t >>> 0;
  };
}

/** Uniforms in (0, 1), never 0 (Box-Muller takes a log), from the stream `name` of `seed`. */
export function uniformStream(seed: number, name = ''): () => number {
  const next = sfc32(sfc32State(seed, name));
  return () => (next() + 0.5) / 4294967296;
}

/** `n` values mean + std * N(0,1), Box-Muller on the named stream (sfc32 inlined: dla60 draws 22M). */
export function normals(n: number, mean: number, std: number, seed: number, name: string): Float32Array {
  const st = sfc32State(seed, name);
  let a = st[0] | 0, b = st[1] | 0, c = st[2] | 0, d = st[3] | 0;
  const out = new Float32Array(n);
  const TWO_PI = 2 * Math.PI;
  for (let i = 0; i < n; i += 2) {
    let t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0; a = b ^ (b >>> 9); b = (c + (c << 3)) | 0; c = (c << 21) | (c >>> 11); c = (c + t) | 0;
    const u1 = ((t >>> 0) + 0.5) / 4294967296;
    t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0; a = b ^ (b >>> 9); b = (c + (c << 3)) | 0; c = (c << 21) | (c >>> 11); c = (c + t) | 0;
    const u2 = ((t >>> 0) + 0.5) / 4294967296;
    const r = std * Math.sqrt(-2 * Math.log(u1));
    const ang = TWO_PI * u2;
    out[i] = mean + r * Math.cos(ang);
    if (i + 1 < n) out[i + 1] = mean + r * Math.sin(ang);
  }
  return out;
}

function uniforms(n: number, lo: number, hi: number, seed: number, name: string): Float32Array {
  const u = uniformStream(seed, name);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * u();
  return out;
}

/** A seeded N(0,1) batch, N x 3 x size x size (not torch.randn's stream). */
export function syntheticInput(batch: number, size: number, seed = 0): Tensor {
  return float32Tensor([batch, 3, size, size], normals(batch * 3 * size * size, 0, 1, seed, 'input'));
}

// ---------------------------------------------------------------------------------------------
// Weights

/**
 * Every tensor of the variant's state dict, in state_dict order, drawn as described above, with
 * BatchNorm running statistics at PyTorch's initial values (mean 0, var 1, 0 batches tracked).
 * Deep variants' activations grow with depth under these: see calibratedSyntheticWeights.
 */
export function syntheticWeights(tree: ModuleNode, options: SyntheticWeightOptions = {}): Map<string, Tensor> {
  const seed = options.seed ?? 0;
  const convs = new Set([...walk(tree)].filter((n) => n.conv).map((n) => n.id));
  const out = new Map<string, Tensor>();
  for (const [key, shape] of expectedWeights(tree)) {
    const n = shape.reduce((x, y) => x * y, 1);
    if (key.endsWith('.num_batches_tracked')) {
      out.set(key, { dtype: 'int64', shape: [], data: new BigInt64Array(1) });
      continue;
    }
    let data: Float32Array;
    if (shape.length === 4) data = normals(n, 0, Math.sqrt(2 / (shape[2] * shape[3] * shape[0])), seed, key);
    else if (key.endsWith('.running_mean')) data = new Float32Array(n);
    else if (key.endsWith('.running_var')) data = new Float32Array(n).fill(1);
    else if (key.endsWith('.weight')) data = uniforms(n, 0.5, 1.5, seed, key); // BatchNorm gamma
    else if (convs.has(key.slice(0, -'.bias'.length))) data = normals(n, 0, 0.01, seed, key);
    else data = normals(n, 0, 0.1, seed, key); // BatchNorm beta
    out.set(key, float32Tensor(shape, data));
  }
  return out;
}

/** Each BatchNorm's id with the record its input is (the conv before it), in execution order. */
export function batchNormInputs(tree: ModuleNode): { bn: string; input: string }[] {
  const out: { bn: string; input: string }[] = [];
  for (const n of walk(tree)) {
    if (n.kind !== 'BatchNorm2d') continue;
    const [input] = moduleInputs(tree, n.id);
    if (!input) throw new GraphBuildError(`BatchNorm '${n.id}' is fed a value no record holds; it cannot be calibrated.`, n.id);
    out.push({ bn: n.id, input });
  }
  return out;
}
