import * as fs from 'fs';
import { readCheckpoint } from '../../../src/model/formats/registry';
import { expectedWeights, type ModuleNode } from '../../../src/model/dla/moduleTree';
import type { Tensor } from '../../../src/model/tensor';
import { referencePath } from '../../helpers/reference';

/** Shared by the graph tests: reference loading, deterministic random weights, error ratios. */

export function loadReference(name: string): Map<string, Tensor> {
  return readCheckpoint(referencePath(name)).tensors;
}

/** Per key, the reference's measured float32 noise floor: the worse of its two stats columns, over max(1, max|ref|). */
export function noiseFloor(statsName: string): Map<string, number> {
  const lines = fs.readFileSync(referencePath(statsName), 'utf8').split('\n').filter((l) => l.length > 0);
  const head = lines[0].split('\t');
  const a = head.indexOf('fp32_vs_fp64_over_max(1,max_abs)');
  const b = head.indexOf('fp32_other_conv_over_max(1,max_abs)');
  return new Map(lines.slice(1).map((l) => {
    const f = l.split('\t');
    return [f[0], Math.max(Number(f[a]), Number(f[b]))];
  }));
}

/** max|a - ref| / max(1, max|ref|), the reference README's per-key criterion. */
export function errorRatio(a: Tensor, ref: Tensor): number {
  const x = a.data as Float32Array;
  const r = ref.data as Float32Array;
  if (x.length !== r.length) throw new Error(`Length ${x.length} vs ${r.length}.`);
  let diff = 0;
  let max = 0;
  for (let i = 0; i < r.length; i++) {
    diff = Math.max(diff, Math.abs(x[i] - r[i]));
    max = Math.max(max, Math.abs(r[i]));
  }
  return diff / Math.max(1, max);
}

/** max|a - b| / max|b|: for comparing two of our own outputs whatever their scale. */
export function relativeError(a: Tensor, b: Tensor): number {
  const x = a.data as Float32Array;
  const y = b.data as Float32Array;
  let diff = 0;
  let max = 0;
  for (let i = 0; i < y.length; i++) {
    diff = Math.max(diff, Math.abs(x[i] - y[i]));
    max = Math.max(max, Math.abs(y[i]));
  }
  return diff / max;
}

/** xorshift32: fast, seeded, good enough to fill weights. */
function uniform(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s / 4294967296;
  };
}

/**
 * Deterministic random weights for every tensor `expectedWeights` lists: convs uniform with timm's
 * init variance 2/(k*k*O), BN near identity. Values are drawn from one shared pool of 2^20 uniforms
 * at a random offset per tensor, which keeps 50M-parameter variants to a fraction of a second;
 * enough for structure tests, where values mean nothing.
 */
export function randomWeights(tree: ModuleNode, seed = 1): Map<string, Tensor> {
  const rand = uniform(seed);
  const mask = (1 << 20) - 1;
  const pool = new Float32Array(mask + 1);
  for (let i = 0; i <= mask; i++) pool[i] = 2 * rand() - 1;
  const out = new Map<string, Tensor>();
  for (const [key, shape] of expectedWeights(tree)) {
    if (key.endsWith('num_batches_tracked')) continue;
    const n = shape.reduce((x, y) => x * y, 1);
    const data = new Float32Array(n);
    const fill = (centre: number, halfWidth: number): void => {
      const off = Math.floor(rand() * mask);
      for (let i = 0; i < n; i++) data[i] = centre + halfWidth * pool[(off + i) & mask];
    };
    if (shape.length === 4) fill(0, Math.sqrt(3) * Math.sqrt(2 / (shape[2] * shape[3] * shape[0])));
    else if (key.endsWith('.running_var') || key.endsWith('.weight')) fill(1, 0.5);
    else fill(0, 0.1);
    out.set(key, { dtype: 'float32', shape, data });
  }
  return out;
}

/** A float32 tensor of N(0,1)-ish values (sum of uniforms), for inputs. */
export function randomInput(shape: readonly number[], seed = 7): Tensor {
  const rand = uniform(seed);
  const n = shape.reduce((x, y) => x * y, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = (rand() + rand() + rand() - 1.5) * 2;
  return { dtype: 'float32', shape: [...shape], data };
}
