import type { DiffMetrics, TensorStats, ToleranceRule } from './types';

/**
 * Per-layer statistics and differences, in one float64 pass each. Non-finite values are counted,
 * never allowed to poison the other figures silently: a NaN anywhere in either side fails the layer.
 */

export function tensorStats(x: Float32Array, shape: readonly number[]): TensorStats {
  let sum = 0, sumSq = 0, min = Infinity, max = -Infinity, absMax = 0, nan = 0, inf = 0, finite = 0;
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    if (Number.isNaN(v)) { nan++; continue; }
    if (!Number.isFinite(v)) { inf++; continue; }
    finite++;
    sum += v;
    sumSq += v * v;
    if (v < min) min = v;
    if (v > max) max = v;
    const a = Math.abs(v);
    if (a > absMax) absMax = a;
  }
  const mean = finite ? sum / finite : NaN;
  const variance = finite ? Math.max(0, sumSq / finite - mean * mean) : NaN;
  return {
    shape: [...shape], mean, std: Math.sqrt(variance),
    min: finite ? min : NaN, max: finite ? max : NaN, absMax, nan, inf,
  };
}

export const DEFAULT_TOLERANCE: ToleranceRule = { mode: 'scaled-max', tol: 1e-3 };

/** The printed form of a rule, for reports. */
export function describeTolerance(rule: ToleranceRule): string {
  return rule.mode === 'scaled-max'
    ? `max|a-b| <= ${rule.tol}*max(1, max|ref|)`
    : `|a-b| <= ${rule.atol} + ${rule.rtol}*|ref| elementwise`;
}

/** Compare candidate `b` against reference `a` (same length). */
export function diffMetrics(ref: Float32Array, cand: Float32Array, rule: ToleranceRule): DiffMetrics {
  if (ref.length !== cand.length) throw new Error(`diffMetrics: lengths differ (${ref.length} vs ${cand.length}).`);
  let maxAbs = 0, sumAbs = 0, sumD2 = 0, sumR2 = 0, sumC2 = 0, dot = 0, refAbsMax = 0;
  let nonFinite = false, allcloseOk = true;
  for (let i = 0; i < ref.length; i++) {
    const r = ref[i], c = cand[i];
    if (!Number.isFinite(r) || !Number.isFinite(c)) {
      // Equal infinities of the same sign agree; anything else with a NaN/Inf is a failure.
      if (!(r === c && !Number.isNaN(r))) nonFinite = true;
      continue;
    }
    const d = Math.abs(r - c);
    if (d > maxAbs) maxAbs = d;
    sumAbs += d;
    sumD2 += d * d;
    sumR2 += r * r;
    sumC2 += c * c;
    dot += r * c;
    const ar = Math.abs(r);
    if (ar > refAbsMax) refAbsMax = ar;
    if (rule.mode === 'allclose' && d > rule.atol + rule.rtol * ar) allcloseOk = false;
  }
  const scale = Math.max(1, refAbsMax);
  const relL2 = sumR2 > 0 ? Math.sqrt(sumD2 / sumR2) : sumD2 > 0 ? Infinity : 0;
  const cosine = sumR2 > 0 && sumC2 > 0 ? dot / Math.sqrt(sumR2 * sumC2) : sumR2 === sumC2 ? 1 : 0;
  const bound = rule.mode === 'scaled-max' ? rule.tol * scale : rule.atol + rule.rtol * refAbsMax;
  const ok = rule.mode === 'scaled-max' ? maxAbs <= bound : allcloseOk;
  if (nonFinite) maxAbs = NaN;
  return {
    maxAbs, meanAbs: ref.length ? sumAbs / ref.length : 0, relL2, cosine, bound,
    scaledMaxAbs: nonFinite ? NaN : maxAbs / scale, pass: ok && !nonFinite,
  };
}
