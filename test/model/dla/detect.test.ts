import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VARIANTS, variantByName } from '../../../src/model/dla/variants';
import { buildModuleTree, expectedWeights } from '../../../src/model/dla/moduleTree';
import { detectVariant } from '../../../src/model/dla/detect';
import { checkWeights } from '../../../src/model/dla/weightCheck';
import { paddleName, toTimmNames } from '../../../src/model/dla/keymap';
import { numel, type Tensor } from '../../../src/model/tensor';

/** A state dict with the right keys and shapes (values are irrelevant to detection). */
function stateDict(variantName: string, classes = 1000): Map<string, Tensor> {
  const v = { ...variantByName(variantName)!, numClasses: classes };
  const out = new Map<string, Tensor>();
  for (const [name, shape] of expectedWeights(buildModuleTree(v))) {
    out.set(name, name.endsWith('num_batches_tracked')
      ? { dtype: 'int64', shape, data: new BigInt64Array(1) }
      : { dtype: 'float32', shape, data: new Float32Array(numel(shape)) });
  }
  return out;
}

// timm's published parameter counts (model cards), in millions, rounded to two decimals.
const TIMM_PARAMS_M: Record<string, number> = {
  dla34: 15.74, dla46_c: 1.30, dla46x_c: 1.07, dla60x_c: 1.32, dla60: 22.04, dla60x: 17.35,
  dla102: 33.27, dla102x: 26.31, dla102x2: 41.28, dla169: 53.39, dla60_res2net: 20.85, dla60_res2next: 17.03,
};

test('every variant has timm parameter count', () => {
  for (const v of VARIANTS) {
    let params = 0;
    for (const [name, shape] of expectedWeights(buildModuleTree(v))) {
      if (!/running_|num_batches/.test(name)) params += numel(shape);
    }
    assert.equal(Math.round(params / 1e4) / 100, TIMM_PARAMS_M[v.name], v.name);
  }
});

test('each of the 12 variants is detected from its own keys and shapes, and only it', () => {
  for (const v of VARIANTS) {
    const d = detectVariant(stateDict(v.name));
    assert.equal(d.variant?.name, v.name, d.reason);
    assert.match(d.reason, new RegExp(`^${v.name}: all \\d+ expected weights`));
    // No other variant is a clean fit: detection is unambiguous.
    assert.ok(d.candidates.slice(1).every((c) => c.check.missing.length + c.check.mismatched.length > 0));
  }
});

test('a fine-tuned head is detected with its class count', () => {
  const d = detectVariant(stateDict('dla34', 10));
  assert.equal(d.variant?.name, 'dla34');
  assert.equal(d.variant?.numClasses, 10);
  assert.match(d.reason, /10-class head/);
});

test('missing, mismatched and unexpected keys are named', () => {
  const sd = stateDict('dla60');
  sd.delete('level3.tree1.root.bn.running_var');
  sd.set('level2.tree1.conv2.weight', { dtype: 'float32', shape: [64, 64, 3, 1], data: new Float32Array(64 * 64 * 3) });
  sd.set('aux.head.weight', { dtype: 'float32', shape: [3], data: new Float32Array(3) });
  const c = checkWeights(variantByName('dla60')!, sd);
  assert.deepEqual(c.missing, [{ name: 'level3.tree1.root.bn.running_var', expected: [256] }]);
  assert.deepEqual(c.mismatched, [{ name: 'level2.tree1.conv2.weight', expected: [64, 64, 3, 3], found: [64, 64, 3, 1] }]);
  assert.deepEqual(c.unexpected, [{ name: 'aux.head.weight', shape: [3] }]);
  const d = detectVariant(sd);
  assert.equal(d.variant, null);
  assert.match(d.reason, /Closest is dla60: 1 missing, 1 with the wrong shape, 1 unexpected/);
});

test("old checkpoints' unused project layers are known, not unexpected", () => {
  const sd = stateDict('dla60');
  // Original DLA code kept `project` in level3 (levels=2, 128 -> 256); timm moved it.
  sd.set('level3.project.0.weight', { dtype: 'float32', shape: [256, 128, 1, 1], data: new Float32Array(256 * 128) });
  sd.set('level3.project.1.weight', { dtype: 'float32', shape: [256], data: new Float32Array(256) });
  const d = detectVariant(sd);
  assert.equal(d.variant?.name, 'dla60');
  assert.equal(d.candidates[0].check.knownUnused.length, 2);
  assert.equal(d.candidates[0].check.unexpected.length, 0);
});

test('num_batches_tracked absent (Paddle) is not missing; Paddle BN names map to timm', () => {
  const sd = stateDict('dla46_c');
  const paddle = new Map([...sd].filter(([k]) => !k.endsWith('num_batches_tracked')).map(([k, t]) => [paddleName(k), t] as const));
  assert.ok([...paddle.keys()].some((k) => k.endsWith('._variance')));
  const { tensors, renamed } = toTimmNames(paddle);
  assert.equal(renamed.length, 2 * [...sd.keys()].filter((k) => k.endsWith('running_var')).length);
  const d = detectVariant(tensors);
  assert.equal(d.variant?.name, 'dla46_c', d.reason);
  assert.equal(d.candidates[0].check.missing.length, 0);
  assert.ok(d.candidates[0].check.ignoredAbsent.length > 0);
});

test('a state dict of another architecture is refused with its keys quoted', () => {
  const sd = new Map<string, Tensor>([['conv1.weight', { dtype: 'float32', shape: [64, 3, 7, 7], data: new Float32Array(64 * 147) }]]);
  const d = detectVariant(sd);
  assert.equal(d.variant, null);
  assert.match(d.reason, /^Not a DLA checkpoint: missing 'base_layer\.0\.weight' and \d+ more; closest variant dla\w+ \(0 of its \d+ weights fit\); the file's first keys are 'conv1\.weight'\.$/);
});

test("a Paddle dump's `pool` record is timm's `global_pool.pool`, unless the dump has both", async () => {
  const { toTimmRecordNames } = await import('../../../src/model/dla/keymap');
  const t: Tensor = { dtype: 'float32', shape: [1], data: new Float32Array(1) };
  const r = toTimmRecordNames(new Map([['level5', t], ['pool', t], ['fc', t]]));
  assert.deepEqual([...r.tensors.keys()], ['level5', 'global_pool.pool', 'fc']);
  assert.deepEqual(r.renamed, [['pool', 'global_pool.pool']]);
  const both = toTimmRecordNames(new Map([['pool', t], ['global_pool.pool', t]]));
  assert.deepEqual([...both.tensors.keys()], ['pool', 'global_pool.pool']);
});
