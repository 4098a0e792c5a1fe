import * as assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { buildModuleTree } from '../../../src/model/dla/moduleTree';
import { buildTapGraph, recordOrder, type GraphVariation } from '../../../src/model/dla/onnxGraph';
import { variantByName } from '../../../src/model/dla/variants';
import { createSession, releaseSession, run } from '../../../src/model/run/session';
import type { Tensor } from '../../../src/model/tensor';
import { loadReference, randomInput, randomWeights } from './graphHelpers';

/**
 * Each known porting mistake changes the records from the module it is applied at onwards, leaves
 * every earlier record bit-for-bit alone, and computes what the mistake computes (checked by hand
 * on one record each).
 */

const tree46 = buildModuleTree(variantByName('dla46_c')!);

async function runTap(tree: ReturnType<typeof buildModuleTree>, weights: Map<string, Tensor>, input: Tensor,
  variations: GraphVariation[] = []): Promise<Map<string, Tensor>> {
  const s = await createSession(buildTapGraph(tree, weights, { taps: 'all', variations }).bytes, { provider: 'cpu', graphOptimization: 'basic' });
  try {
    const out = await run(s, { input });
    out.set('input', input);
    return out;
  } finally {
    await releaseSession(s);
  }
}

const f32 = (t: Tensor): Float32Array => t.data as Float32Array;

function maxDiff(a: Tensor, b: Tensor): number {
  if (a.shape.join() !== b.shape.join()) return Infinity;
  let d = 0;
  for (let i = 0; i < f32(a).length; i++) d = Math.max(d, Math.abs(f32(a)[i] - f32(b)[i]));
  return d;
}

/** The first record (in hook order) that differs, asserting all earlier ones are identical. */
function firstChanged(order: readonly string[], base: Map<string, Tensor>, varied: Map<string, Tensor>): string | undefined {
  return order.find((k) => maxDiff(base.get(k)!, varied.get(k)!) > 0);
}

describe('GraphVariation on dla46_c (reference weights, 96x96)', () => {
  const order = recordOrder(tree46);
  let weights: Map<string, Tensor>;
  let input: Tensor;
  let base: Map<string, Tensor>;
  before(async () => {
    weights = loadReference('dla46_c.pth');
    input = loadReference('dla46_c_acts_96.npz').get('input')!;
    base = await runTap(tree46, weights, input);
  });

  const changesFrom = async (variations: GraphVariation[], expected: string): Promise<Map<string, Tensor>> => {
    const out = await runTap(tree46, weights, input, variations);
    assert.equal(firstChanged(order, base, out), expected);
    assert.ok(maxDiff(out.get('logits')!, base.get('logits')!) > 0, 'logits change');
    return out;
  };

  /** BN of record `x` by hand, per channel: (x - mean) / sqrt(var + eps) * w + b. */
  const batchNorm = (x: Tensor, bn: string, mean: Float64Array, variance: Float64Array, eps: number): Float32Array => {
    const [, C, H, W] = x.shape;
    const w = f32(weights.get(`${bn}.weight`)!), b = f32(weights.get(`${bn}.bias`)!);
    const y = new Float32Array(f32(x).length);
    for (let c = 0; c < C; c++) {
      for (let i = c * H * W; i < (c + 1) * H * W; i++) y[i] = ((f32(x)[i] - mean[c]) / Math.sqrt(variance[c] + eps)) * w[c] + b[c];
    }
    return y;
  };
  const close = (a: Float32Array, b: Float32Array, tol: number): void => {
    let d = 0;
    for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
    assert.ok(d < tol, `max diff ${d}`);
  };

  test('bn-epsilon 1e-3 at one BN', async () => {
    const bn = 'level3.tree1.tree1.bn2';
    const out = await changesFrom([{ kind: 'bn-epsilon', epsilon: 1e-3, at: bn }], bn);
    const stats = (p: string): Float64Array => Float64Array.from(f32(weights.get(`${bn}.${p}`)!));
    close(f32(out.get(bn)!), batchNorm(out.get('level3.tree1.tree1.conv2')!, bn, stats('running_mean'), stats('running_var'), 1e-3), 1e-4);
  });

  test('bn-epsilon everywhere starts at the first BN', async () => {
    await changesFrom([{ kind: 'bn-epsilon', epsilon: 1e-3 }], 'base_layer.1');
  });

  test('bn-train normalises with the batch\'s mean and biased variance', async () => {
    const bn = 'level2.tree1.bn1';
    const out = await changesFrom([{ kind: 'bn-train', at: bn }], bn);
    const x = out.get('level2.tree1.conv1')!;
    const [, C, H, W] = x.shape;
    const mean = new Float64Array(C), variance = new Float64Array(C);
    for (let c = 0; c < C; c++) {
      const v = f32(x).subarray(c * H * W, (c + 1) * H * W);
      mean[c] = v.reduce((s, q) => s + q, 0) / v.length;
      variance[c] = v.reduce((s, q) => s + (q - mean[c]) ** 2, 0) / v.length;
    }
    close(f32(out.get(bn)!), batchNorm(x, bn, mean, variance, 1e-5), 1e-4);
  });

  test('same-padding pads stride-2 convs at the bottom/right only', async () => {
    const conv = 'level2.tree1.conv2';
    const out = await changesFrom([{ kind: 'same-padding', at: 'level2' }], conv);
    for (const k of order) assert.deepEqual(out.get(k)!.shape, base.get(k)!.shape, k);
    // Output pixel (0, 0) of TF 'SAME' on an even size reads input rows/cols 0..2: no padding at the top/left.
    const x = out.get('level2.tree1.relu#0')!;
    const w = f32(weights.get(`${conv}.weight`)!);
    const [, C, H, W] = x.shape;
    for (const o of [0, 5]) {
      let s = 0;
      for (let c = 0; c < C; c++) for (let ky = 0; ky < 3; ky++) for (let kx = 0; kx < 3; kx++) s += w[((o * C + c) * 3 + ky) * 3 + kx] * f32(x)[(c * H + ky) * W + kx];
      const got = f32(out.get(conv)!)[o * (H / 2) * (W / 2)];
      assert.ok(Math.abs(got - s) < 1e-4, `channel ${o}: ${got} vs ${s}`);
    }
  });

  test('bgr-input equals the plain graph fed reversed channels', async () => {
    const out = await changesFrom([{ kind: 'bgr-input' }], 'base_layer.0');
    const [, C, H, W] = input.shape;
    const rev = new Float32Array(f32(input).length);
    for (let c = 0; c < C; c++) rev.set(f32(input).subarray((C - 1 - c) * H * W, (C - c) * H * W), c * H * W);
    const plain = await runTap(tree46, weights, { dtype: 'float32', shape: input.shape, data: rev });
    for (const k of order.filter((q) => q !== 'input')) assert.equal(maxDiff(out.get(k)!, plain.get(k)!), 0, k);
  });

  test('drop-relu at a root leaves its BN output unrectified', async () => {
    const out = await changesFrom([{ kind: 'drop-relu', at: 'level2.root' }], 'level2.root.relu');
    assert.equal(maxDiff(out.get('level2.root.relu')!, out.get('level2.root.bn')!), 0);
  });

  test('drop-relu at a block skips only the ReLU after the residual add', async () => {
    const out = await changesFrom([{ kind: 'drop-relu', at: 'level3.tree1.tree2' }], 'level3.tree1.tree2.relu#2');
    assert.ok(f32(out.get('level3.tree1.tree2')!).some((v) => v < 0));
  });
});

test('avgpool-exclude-pad (dla60_res2net, random weights, 32x32) divides border windows by their real size', async () => {
  const tree = buildModuleTree(variantByName('dla60_res2net')!);
  const weights = randomWeights(tree, 5);
  const input = randomInput([1, 3, 32, 32]);
  const pool = 'level2.tree1.pool';
  const base = await runTap(tree, weights, input);
  const out = await runTap(tree, weights, input, [{ kind: 'avgpool-exclude-pad', at: pool }]);
  assert.equal(firstChanged(recordOrder(tree), base, out), pool);
  const [, C, H, W] = out.get(pool)!.shape;
  for (const c of [0, C - 1]) {
    const i = c * H * W;
    // A corner window holds 4 real pixels of 9; an interior one holds 9 either way.
    assert.ok(Math.abs(f32(out.get(pool)!)[i] * 4 - f32(base.get(pool)!)[i] * 9) < 1e-5);
    const mid = i + (H >> 1) * W + (W >> 1);
    assert.equal(f32(out.get(pool)!)[mid], f32(base.get(pool)!)[mid]);
  }
});
