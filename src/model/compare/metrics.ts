import { DEFAULT_RULE, boundOf, passes, scaleOf } from '../../shared/tolerance';
import { EnvelopeBuilder } from './envelope';
import type { DiffMetrics, TensorStats, ToleranceRule } from './types';

/**
 * Per-layer statistics and differences, in float64. Non-finite values are counted, never allowed
 * to poison the other figures silently: a NaN anywhere in either side fails the layer.
 */

/** One tensor's statistics (the fused pass below, against itself). */
export function tensorStats(x: Float32Array, shape: readonly number[]): TensorStats {
  return compareArrays(x, x, { ref: shape, cand: shape }, DEFAULT_TOLERANCE).reference;
}

export const DEFAULT_TOLERANCE: ToleranceRule = DEFAULT_RULE;
export { describeRule as describeTolerance } from '../../shared/tolerance';

/** Compare candidate `cand` against reference `ref` (same length). */
export function diffMetrics(ref: Float32Array, cand: Float32Array, rule: ToleranceRule): DiffMetrics {
  return compareArrays(ref, cand, { ref: [ref.length], cand: [cand.length] }, rule).diff;
}

/** Running sums for one side's statistics, filled inside the fused pass below. */
class StatsAccumulator {
  sum = 0; sumSq = 0; min = Infinity; max = -Infinity; absMax = 0; nan = 0; inf = 0; finite = 0;

  result(shape: readonly number[]): TensorStats {
    const f = this.finite;
    const mean = f ? this.sum / f : NaN;
    return {
      shape: [...shape], mean, std: f ? Math.sqrt(Math.max(0, this.sumSq / f - mean * mean)) : NaN,
      min: f ? this.min : NaN, max: f ? this.max : NaN, absMax: this.absMax, nan: this.nan, inf: this.inf,
    };
  }
}

/**
 * Both sides' statistics and their difference in ONE pass over the data: a dla60 comparison at
 * 224x224 walks about 2 x 40M values, and three separate passes were most of its time.
 * Finite values are tested with `v - v === 0` (false for NaN and +-Infinity) to keep the loop tight.
 */
export function compareArrays(
  ref: Float32Array, cand: Float32Array, shapes: { ref: readonly number[]; cand: readonly number[] }, rule: ToleranceRule,
): { reference: TensorStats; candidate: TensorStats; diff: DiffMetrics } {
  if (ref.length !== cand.length) throw new Error(`compareArrays: lengths differ (${ref.length} vs ${cand.length}).`);
  const a = new StatsAccumulator();
  const b = new StatsAccumulator();
  let maxAbs = 0, sumAbs = 0, sumD2 = 0, dot = 0, nonFinite = false;
  // Only an allclose report needs the envelope (its view re-applies the rule at other atol/rtol).
  const envelope = rule.mode === 'allclose' ? new EnvelopeBuilder() : undefined;
  for (let i = 0; i < ref.length; i++) {
    const r = ref[i], c = cand[i];
    const rFinite = r - r === 0, cFinite = c - c === 0;
    if (rFinite) {
      a.finite++; a.sum += r; a.sumSq += r * r;
      if (r < a.min) a.min = r;
      if (r > a.max) a.max = r;
    } else if (r !== r) a.nan++; else a.inf++;
    if (cFinite) {
      b.finite++; b.sum += c; b.sumSq += c * c;
      if (c < b.min) b.min = c;
      if (c > b.max) b.max = c;
    } else if (c !== c) b.nan++; else b.inf++;
    if (!(rFinite && cFinite)) {
      if (!(r === c && r === r)) nonFinite = true;
      continue;
    }
    const d = r > c ? r - c : c - r;
    if (d > maxAbs) maxAbs = d;
    sumAbs += d;
    sumD2 += d * d;
    dot += r * c;
    if (envelope) {
      const ar = r < 0 ? -r : r;
      if (ar < envelope.r0 || d > envelope.d0) envelope.add(ar, d);
    }
  }
  // Over finite values only; 0 when there are none (the NaN/Inf counts say why).
  a.absMax = a.finite ? Math.max(Math.abs(a.min), Math.abs(a.max)) : 0;
  b.absMax = b.finite ? Math.max(Math.abs(b.min), Math.abs(b.max)) : 0;
  const refAbsMax = a.absMax;
  const sumR2 = a.sumSq, sumC2 = b.sumSq;
  const relL2 = sumR2 > 0 ? Math.sqrt(sumD2 / sumR2) : sumD2 > 0 ? Infinity : 0;
  const cosine = sumR2 > 0 && sumC2 > 0 ? dot / Math.sqrt(sumR2 * sumC2) : sumR2 === sumC2 ? 1 : 0;
  const shownMax = nonFinite ? NaN : maxAbs;
  const env = envelope?.result();
  const reference = a.result(shapes.ref);
  const facts = { reference: { absMax: refAbsMax }, diff: { maxAbs: shownMax, ...(env ? { envelope: env } : {}) } };
  return {
    reference,
    candidate: b.result(shapes.cand),
    diff: {
      maxAbs: shownMax, meanAbs: ref.length ? sumAbs / ref.length : 0, relL2, cosine, bound: boundOf(rule, refAbsMax),
      scaledMaxAbs: shownMax / scaleOf(refAbsMax),
      // The shared rule (src/shared/tolerance.ts), the same function the views call.
      pass: envelope && !env ? allcloseByScan(ref, cand, rule) : passes(facts, rule),
      ...(env ? { envelope: env } : {}),
    },
  };
}

/** The elementwise allclose verdict, for the rare record whose envelope was too large to keep. */
function allcloseByScan(ref: Float32Array, cand: Float32Array, rule: ToleranceRule): boolean {
  if (rule.mode !== 'allclose') throw new Error('allcloseByScan applies to the allclose rule.');
  for (let i = 0; i < ref.length; i++) {
    const r = ref[i], c = cand[i];
    const d = r > c ? r - c : c - r;
    if (!(d <= rule.atol + rule.rtol * (r < 0 ? -r : r)) && !(r === c)) return false;
  }
  return true;
}
