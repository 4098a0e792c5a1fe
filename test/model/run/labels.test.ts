import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UsageError } from '../../../src/model/errors';
import { IMAGENET_CLASSES, labelOf, topK } from '../../../src/model/run/labels';

test('1000 ImageNet-1k classes in index order, sorted by WordNet id', () => {
  assert.equal(IMAGENET_CLASSES.length, 1000);
  assert.deepEqual(IMAGENET_CLASSES[0], { index: 0, wnid: 'n01440764', name: 'tench' });
  assert.equal(labelOf(999), 'toilet tissue');
  IMAGENET_CLASSES.forEach((c, i) => {
    assert.equal(c.index, i);
    assert.match(c.wnid, /^n\d{8}$/);
    if (i > 0) assert.ok(IMAGENET_CLASSES[i - 1].wnid < c.wnid, `wnid ${i} out of order`);
  });
  assert.throws(() => labelOf(1000), (e: Error) => e instanceof UsageError && /0\.\.999/.test(e.message));
  assert.throws(() => labelOf(1.5), UsageError);
});

test('topK ranks by logit with a softmax that survives large logits', () => {
  const logits = new Float32Array(1000).fill(-5);
  logits[3] = 320; // the probe's logits are about this large: exp(320) would overflow
  logits[7] = 319;
  logits[1] = 319; // tie with 7: the lower index ranks first
  const top = topK(logits, 3);
  assert.deepEqual(top.map((p) => p.index), [3, 1, 7]);
  assert.deepEqual(top.map((p) => p.label), [labelOf(3), 'goldfish', labelOf(7)]);
  assert.equal(top[0].wnid, IMAGENET_CLASSES[3].wnid);
  const e1 = Math.exp(-1);
  const z = 1 + 2 * e1 + 997 * Math.exp(-325);
  assert.ok(Math.abs(top[0].prob - 1 / z) < 1e-15);
  assert.ok(Math.abs(top[1].prob - e1 / z) < 1e-15);
});

test('topK probabilities of all classes sum to 1 and are non-increasing', () => {
  const logits = new Float32Array(1000).map((_, i) => Math.sin(i * 12.9898) * 4);
  const all = topK(logits, 1000);
  assert.equal(all.length, 1000);
  assert.ok(Math.abs(all.reduce((s, p) => s + p.prob, 0) - 1) < 1e-12);
  for (let i = 1; i < all.length; i++) assert.ok(all[i].prob <= all[i - 1].prob);
  assert.equal(topK(logits, 5000).length, 1000);
});

test('topK refuses the wrong number of logits, bad k and non-finite logits', () => {
  assert.throws(() => topK(new Float32Array(10), 1), (e: Error) => e instanceof UsageError && /1000 ImageNet-1k logits, got 10/.test(e.message));
  assert.throws(() => topK(new Float32Array(1000), 0), UsageError);
  const nan = new Float32Array(1000);
  nan[5] = NaN;
  assert.throws(() => topK(nan, 1), /Logit 5 .*NaN/);
});
