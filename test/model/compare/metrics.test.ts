import { test } from 'node:test';
import assert from 'node:assert/strict';
import { diffMetrics, tensorStats } from '../../../src/model/compare/metrics';

const f = (xs: number[]) => Float32Array.from(xs);

test('stats count NaN/Inf apart and describe the finite values', () => {
  const s = tensorStats(f([1, -3, NaN, Infinity, 2]), [5]);
  assert.deepEqual([s.nan, s.inf, s.min, s.max, s.absMax], [1, 1, -3, 2, 3]);
  assert.equal(s.mean, 0);
  assert.ok(Math.abs(s.std - Math.sqrt(14 / 3)) < 1e-12);
});

test('scaled-max rule: the bound grows with max|ref| above 1 only', () => {
  const small = diffMetrics(f([0.5, -0.5]), f([0.5009, -0.5]), { mode: 'scaled-max', tol: 1e-3 });
  assert.ok(small.pass && Math.abs(small.bound - 1e-3) < 1e-15);
  const big = diffMetrics(f([10, 0]), f([10.009, 0]), { mode: 'scaled-max', tol: 1e-3 });
  assert.ok(big.pass && Math.abs(big.bound - 1e-2) < 1e-12);
  const fail = diffMetrics(f([10, 0]), f([10.02, 0]), { mode: 'scaled-max', tol: 1e-3 });
  assert.equal(fail.pass, false);
  assert.ok(Math.abs(fail.scaledMaxAbs - 0.002) < 1e-6);
});

test('allclose rule is elementwise like numpy', () => {
  const r = f([100, 0.001]);
  // |d| = 0.05 at 100 passes rtol 1e-3 (bound 0.1 + atol); at 0.001 a d of 0.05 fails.
  assert.equal(diffMetrics(r, f([100.05, 0.001]), { mode: 'allclose', atol: 1e-5, rtol: 1e-3 }).pass, true);
  assert.equal(diffMetrics(r, f([100, 0.051]), { mode: 'allclose', atol: 1e-5, rtol: 1e-3 }).pass, false);
});

test('cosine, relative L2 and mean abs', () => {
  const m = diffMetrics(f([3, 4]), f([3, 4.5]), { mode: 'scaled-max', tol: 1e-3 });
  assert.ok(Math.abs(m.relL2 - 0.1) < 1e-7);
  assert.ok(Math.abs(m.meanAbs - 0.25) < 1e-7);
  assert.ok(m.cosine < 1 && m.cosine > 0.99);
  const opposite = diffMetrics(f([1, 2]), f([-1, -2]), { mode: 'scaled-max', tol: 1e-3 });
  assert.ok(Math.abs(opposite.cosine + 1) < 1e-12);
});

test('a NaN in the candidate fails the layer even when every finite value agrees', () => {
  const m = diffMetrics(f([1, 2, 3]), f([1, NaN, 3]), { mode: 'scaled-max', tol: 1e-3 });
  assert.equal(m.pass, false);
  assert.ok(Number.isNaN(m.maxAbs));
  assert.equal(diffMetrics(f([Infinity, 1]), f([Infinity, 1]), { mode: 'scaled-max', tol: 1e-3 }).pass, true);
});
