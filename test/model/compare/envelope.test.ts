import * as assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EnvelopeBuilder, mergeEnvelopes } from '../../../src/model/compare/envelope';
import { compareArrays } from '../../../src/model/compare/metrics';
import { passes, type ToleranceRule } from '../../../src/shared/tolerance';
import { readReference } from '../../helpers/reference';
import { readCheckpointBytes } from '../../../src/model/formats/registry';

/**
 * The error envelope is exact: the allclose verdict read off its vertices equals numpy's
 * elementwise `|a-b| <= atol + rtol*|ref|` over every element, for any atol and rtol, on random
 * points of every shape of spread and on real activations (timm's dla46_c dump, perturbed).
 */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return s / 4294967296;
  };
}

function bruteForce(ref: Float32Array, cand: Float32Array, atol: number, rtol: number): boolean {
  for (let i = 0; i < ref.length; i++) {
    const r = ref[i], c = cand[i];
    const d = r > c ? r - c : c - r;
    if (d > atol + rtol * (r < 0 ? -r : r)) return false;
  }
  return true;
}

/** Rules on both sides of each array's own boundary, so that passes and failures are both tried. */
function rulesFor(ref: Float32Array, cand: Float32Array, next: () => number): ToleranceRule[] {
  let maxD = 0;
  for (let i = 0; i < ref.length; i++) maxD = Math.max(maxD, Math.abs(ref[i] - cand[i]));
  const rules: ToleranceRule[] = [];
  for (let k = 0; k < 60; k++) {
    const atol = k % 5 === 0 ? 0 : maxD * next() * 1.2;
    const rtol = k % 7 === 0 ? 0 : Math.pow(10, -6 + 6 * next());
    rules.push({ mode: 'allclose', atol, rtol });
  }
  return rules;
}

describe('the error envelope', () => {
  test('random data: the verdict at the vertices equals the elementwise verdict for every rule', () => {
    const next = rng(7);
    let checked = 0, passed = 0;
    for (let trial = 0; trial < 40; trial++) {
      const n = 1 + Math.floor(next() * 5000);
      const ref = new Float32Array(n), cand = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        // Zeros (after a ReLU), wide and narrow spreads, errors that grow with |ref| or not.
        ref[i] = next() < 0.3 ? 0 : (next() - 0.5) * Math.pow(10, trial % 4);
        cand[i] = ref[i] + (next() - 0.5) * (trial % 2 ? 1e-3 * Math.abs(ref[i]) : 1e-4) * (next() < 0.01 ? 50 : 1);
      }
      const env = compareArrays(ref, cand, { ref: [n], cand: [n] }, { mode: 'allclose', atol: 0, rtol: 0 }).diff;
      assert.ok(env.envelope && env.envelope.length <= 2 * n);
      for (const rule of rulesFor(ref, cand, next)) {
        if (rule.mode !== 'allclose') continue;
        const expected = bruteForce(ref, cand, rule.atol, rule.rtol);
        assert.equal(passes({ reference: { absMax: 0 }, diff: env }, rule), expected, `trial ${trial}, atol ${rule.atol}, rtol ${rule.rtol}`);
        // The report's own verdict under that rule is the same function's.
        assert.equal(compareArrays(ref, cand, { ref: [n], cand: [n] }, rule).diff.pass, expected);
        checked++;
        if (expected) passed++;
      }
    }
    assert.ok(passed > 100 && checked - passed > 100, `both verdicts were tried (${passed} passes of ${checked})`);
  });

  test('real activations: every record of timm\'s dla46_c dump against a perturbed copy', () => {
    const acts = readCheckpointBytes(readReference('dla46_c_acts_96.npz'), 'dla46_c_acts_96.npz').tensors;
    const next = rng(11);
    let vertices = 0;
    for (const [name, t] of acts) {
      const ref = t.data as Float32Array;
      const cand = new Float32Array(ref.length);
      for (let i = 0; i < ref.length; i++) cand[i] = ref[i] * (1 + (next() - 0.5) * 1e-4) + (next() - 0.5) * 1e-6;
      const diff = compareArrays(ref, cand, { ref: t.shape, cand: t.shape }, { mode: 'allclose', atol: 1e-8, rtol: 1e-8 }).diff;
      vertices = Math.max(vertices, diff.envelope!.length / 2);
      for (const rule of rulesFor(ref, cand, next).slice(0, 12)) {
        if (rule.mode === 'allclose') assert.equal(passes({ reference: { absMax: 0 }, diff }, rule), bruteForce(ref, cand, rule.atol, rule.rtol), name);
      }
    }
    // A few dozen numbers stand for tensors of up to 150k elements.
    assert.ok(vertices < 200, `at most ${vertices} vertices`);
  });

  test('merged envelopes give the verdict of all their points (a batch from its images)', () => {
    const next = rng(5);
    const parts: Float32Array[][] = [];
    for (let k = 0; k < 6; k++) {
      const ref = Float32Array.from({ length: 800 }, () => (next() - 0.5) * 4);
      parts.push([ref, ref.map((r) => r + (next() - 0.5) * 1e-3 * (k + 1))]);
    }
    const envs = parts.map(([r, c]) => compareArrays(r, c, { ref: [r.length], cand: [c.length] }, { mode: 'allclose', atol: 0, rtol: 0 }).diff.envelope);
    const merged = mergeEnvelopes(envs)!;
    const all = [Float32Array.from(parts.flatMap(([r]) => [...r])), Float32Array.from(parts.flatMap(([, c]) => [...c]))];
    for (const rule of rulesFor(all[0], all[1], next)) {
      if (rule.mode === 'allclose') {
        assert.equal(passes({ reference: { absMax: 0 }, diff: { maxAbs: 0, envelope: merged } }, rule), bruteForce(all[0], all[1], rule.atol, rule.rtol));
      }
    }
  });

  test('vertices are the upper-left hull: increasing r, increasing d, strictly concave', () => {
    const b = new EnvelopeBuilder();
    const next = rng(3);
    for (let i = 0; i < 20000; i++) {
      const r = next() * 10, d = next() * next();
      if (r < b.r0 || d > b.d0) b.add(r, d);
    }
    const e = b.result()!;
    for (let i = 2; i < e.length; i += 2) {
      assert.ok(e[i] > e[i - 2] && e[i + 1] > e[i - 1], 'increasing');
      if (i >= 4) {
        const [ra, da, rb, db, rc, dc] = e.slice(i - 4, i + 2);
        assert.ok((db - da) * (rc - ra) > (dc - da) * (rb - ra), 'strictly concave');
      }
    }
  });
});
