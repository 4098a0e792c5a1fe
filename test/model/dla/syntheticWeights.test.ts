import * as assert from 'node:assert/strict';
import * as crypto from 'crypto';
import { describe, test } from 'node:test';
import { expectedWeights, buildModuleTree } from '../../../src/model/dla/moduleTree';
import { buildFastGraph } from '../../../src/model/dla/onnxGraph';
import { batchNormInputs, syntheticInput, syntheticWeights } from '../../../src/model/dla/syntheticWeights';
import { calibratedSyntheticWeights, channelMoments } from '../../../src/model/run/calibratedWeights';
import { VARIANTS, variantByName } from '../../../src/model/dla/variants';
import { createSession, releaseSession, run } from '../../../src/model/run/session';
import type { Tensor } from '../../../src/model/tensor';

/**
 * Synthetic weights: the state dict timm would have (names, shapes, dtypes, order), timm's init
 * statistics, the same bytes for the same seed, and calibrated BatchNorm statistics that keep a
 * dla60's logits at a normal scale.
 */

const tree46 = buildModuleTree(variantByName('dla46_c')!);
const tree60 = buildModuleTree(variantByName('dla60')!);

function digest(weights: ReadonlyMap<string, Tensor>): string {
  const h = crypto.createHash('sha256');
  for (const [k, t] of weights) {
    h.update(`${k}:${t.dtype}:${t.shape.join('x')};`);
    h.update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  }
  return h.digest('hex');
}

function moments(d: Float32Array): { mean: number; std: number; min: number; max: number } {
  let s = 0, ss = 0, min = Infinity, max = -Infinity;
  for (const x of d) {
    s += x; ss += x * x;
    if (x < min) min = x;
    if (x > max) max = x;
  }
  const mean = s / d.length;
  return { mean, std: Math.sqrt(ss / d.length - mean * mean), min, max };
}

async function logits(weights: Map<string, Tensor>, input: Tensor): Promise<Float32Array> {
  const s = await createSession(buildFastGraph(tree60, weights).bytes, { provider: 'cpu' });
  try {
    return (await run(s, { input }, ['logits'])).get('logits')!.data as Float32Array;
  } finally {
    await releaseSession(s);
  }
}

describe('synthetic weights', () => {
  test('every tensor timm\'s state_dict holds, in its order, with its shape and dtype', () => {
    for (const v of VARIANTS) {
      const tree = buildModuleTree(v);
      const expected = expectedWeights(tree);
      const w = syntheticWeights(tree);
      assert.deepEqual([...w.keys()], [...expected.keys()], v.name);
      for (const [k, shape] of expected) {
        assert.deepEqual(w.get(k)!.shape, shape, k);
        assert.equal(w.get(k)!.dtype, k.endsWith('num_batches_tracked') ? 'int64' : 'float32', k);
      }
      if (v.name === 'dla60') break; // the larger variants only repeat the pattern, and cost seconds
    }
  });

  test('the same seed gives the same bytes; another seed other values', () => {
    const a = digest(syntheticWeights(tree46, { seed: 3 }));
    assert.equal(digest(syntheticWeights(tree46, { seed: 3 })), a);
    assert.notEqual(digest(syntheticWeights(tree46, { seed: 4 })), a);
    // One tensor's stream does not depend on the others: the same key, the same values in a bigger variant.
    const small = syntheticWeights(tree46, { seed: 3 }).get('base_layer.0.weight')!;
    const big = syntheticWeights(tree60, { seed: 3 }).get('base_layer.0.weight')!;
    assert.deepEqual(big.data, small.data);
  });

  test('timm\'s init: conv N(0, sqrt(2/(k*k*O))), BatchNorm weight U(0.5, 1.5) and bias N(0, 0.1)', () => {
    const w = syntheticWeights(tree60);
    const conv = moments(w.get('level3.tree1.tree2.conv2.weight')!.data as Float32Array);
    assert.deepEqual(w.get('level3.tree1.tree2.conv2.weight')!.shape, [128, 128, 3, 3]);
    const std = Math.sqrt(2 / (3 * 3 * 128));
    assert.ok(Math.abs(conv.mean) < 0.01 * std, `mean ${conv.mean}`);
    assert.ok(Math.abs(conv.std / std - 1) < 0.01, `std ${conv.std} vs ${std}`);
    const gamma = moments(w.get('level5.root.bn.weight')!.data as Float32Array);
    assert.ok(gamma.min >= 0.5 && gamma.max <= 1.5 && Math.abs(gamma.mean - 1) < 0.05, JSON.stringify(gamma));
    const beta = moments(w.get('level5.root.bn.bias')!.data as Float32Array);
    assert.ok(Math.abs(beta.std - 0.1) < 0.01, JSON.stringify(beta));
    assert.deepEqual([...w.get('level5.root.bn.running_var')!.data.slice(0, 3)], [1, 1, 1]);
  });

  test('every BatchNorm is fed a recorded conv output, in every variant', () => {
    for (const v of VARIANTS) {
      const tree = buildModuleTree(v);
      const bns = batchNormInputs(tree);
      assert.ok(bns.length > 20, v.name);
      for (const b of bns) assert.match(b.input, /(\.conv\d?|\.\d+|convs\.\d+|\.conv)$/, `${v.name}: ${b.bn} <- ${b.input}`);
    }
  });

  test('channelMoments: per-channel mean and unbiased variance over N, H, W', () => {
    // 2 x 2 x 1 x 2: channel 0 holds 1, 2, 5, 6; channel 1 holds 3, 4, 7, 8.
    const t: Tensor = { dtype: 'float32', shape: [2, 2, 1, 2], data: Float32Array.of(1, 2, 3, 4, 5, 6, 7, 8) };
    const m = channelMoments(t);
    assert.deepEqual([...m.mean], [3.5, 5.5]);
    assert.deepEqual([...m.variance], [(2.5 ** 2 * 2 + 1.5 ** 2 * 2) / 3, (2.5 ** 2 * 2 + 1.5 ** 2 * 2) / 3]);
  });

  test('calibrated dla60: logits finite and O(1..10) at 64x64 (uncalibrated: hundreds), same bytes twice', async () => {
    const raw = syntheticWeights(tree60);
    const input = syntheticInput(1, 64, 99);
    const rawLogits = await logits(raw, input);
    const cal = await calibratedSyntheticWeights(tree60);
    const out = await logits(cal.weights, input);
    const rawMax = Math.max(...rawLogits.map(Math.abs));
    const max = Math.max(...out.map(Math.abs));
    console.log(`  dla60 synthetic: drawn in ${cal.ms.draw.toFixed(0)} ms, calibrated in ${cal.ms.calibrate.toFixed(0)} ms; ` +
      `max |logit| at 64x64 ${max.toFixed(2)} (uncalibrated ${rawMax.toFixed(0)})`);
    assert.ok(out.every(Number.isFinite));
    assert.ok(max > 1 && max < 10, `max |logit| ${max}`);
    assert.ok(rawMax > 10 * max, `uncalibrated ${rawMax} should be much larger`);
    assert.equal(cal.weights.get('level3.tree1.tree1.bn1.num_batches_tracked')!.data[0], 1n);
    const again = await calibratedSyntheticWeights(tree60);
    assert.equal(digest(again.weights), digest(cal.weights));
  });
});
