import { DEFAULT_RULE } from '../../shared/tolerance';
import { EnvelopeBuilder } from './envelope';
import { metricsFromSums, type PairSums, type SideSums } from './pairSums';
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
class SideAccumulator {
  sum = 0; sumSq = 0; min = Infinity; max = -Infinity; nan = 0; inf = 0; finite = 0;

  result(): SideSums {
    return { finite: this.finite, sum: this.sum, sumSq: this.sumSq, min: this.min, max: this.max, nan: this.nan, inf: this.inf };
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
  return metricsFromSums([pairSums(ref, cand, rule)], shapes, rule);
}

/** The sufficient statistics of two arrays (pairSums.ts), exact in float64: the pass compareArrays makes. */
export function pairSums(ref: Float32Array, cand: Float32Array, rule: ToleranceRule): PairSums {
  if (ref.length !== cand.length) throw new Error(`compareArrays: lengths differ (${ref.length} vs ${cand.length}).`);
  const a = new SideAccumulator();
  const b = new SideAccumulator();
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
  const env = envelope?.result();
  const sums: PairSums = {
    count: ref.length, maxAbs: nonFinite ? NaN : maxAbs, sumAbs, sumD2, dot, reference: a.result(), candidate: b.result(),
    ...(env ? { envelope: env } : {}),
  };
  // The rare record whose envelope was too large to keep: its verdict by a second, elementwise scan.
  return envelope && !env ? { ...sums, scanPass: allcloseByScan(ref, cand, rule) } : sums;
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
