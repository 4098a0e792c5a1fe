import { boundOf, passes, scaleOf, type VerdictFacts } from '../../shared/tolerance';
import { mergeEnvelopes } from './envelope';
import type { DiffMetrics, TensorStats, ToleranceRule } from './types';

/**
 * The sufficient statistics of one compared record pair (one image, or one whole tensor): every
 * metric of a report follows from them, and the statistics of several images add up (sums add,
 * extremes take their extreme), so a batch's metrics are those of its images combined without
 * their tensors. Produced by the JavaScript pass over two arrays (metrics.ts, exact in float64)
 * and by the in-graph reduction (pairGraph.ts, read by graphSums.ts).
 */

/** One side's running figures, over its finite values. */
export interface SideSums {
  readonly finite: number;
  readonly sum: number;
  readonly sumSq: number;
  /** Over finite values; +Infinity / -Infinity when there are none. */
  readonly min: number;
  readonly max: number;
  readonly nan: number;
  readonly inf: number;
}

export interface PairSums {
  /** Elements per side. */
  readonly count: number;
  /** max |r - c| over pairs where both are finite; NaN when a non-finite value differs between the sides. */
  readonly maxAbs: number;
  /** Over pairs where both are finite: sum |r - c|, sum (r - c)², sum r·c. */
  readonly sumAbs: number;
  readonly sumD2: number;
  readonly dot: number;
  readonly reference: SideSums;
  readonly candidate: SideSums;
  /**
   * Allclose reports: the error envelope (envelope.ts), exact for any atol/rtol; absent when it was
   * given up (too many vertices) or when the statistics came from the graph.
   */
  readonly envelope?: readonly number[];
  /** Allclose: max over pairs of |r - c| - rtol·|r| at this rtol (the verdict at any atol for it). */
  readonly excess?: { readonly rtol: number; readonly max: number };
  /** Allclose with neither of the above: the verdict of an elementwise scan at the report's rule. */
  readonly scanPass?: boolean;
}

function addSides(parts: readonly SideSums[]): SideSums {
  let finite = 0, sum = 0, sumSq = 0, min = Infinity, max = -Infinity, nan = 0, inf = 0;
  for (const s of parts) {
    finite += s.finite; sum += s.sum; sumSq += s.sumSq; nan += s.nan; inf += s.inf;
    if (s.min < min) min = s.min;
    if (s.max > max) max = s.max;
  }
  return { finite, sum, sumSq, min, max, nan, inf };
}

export function sideStats(s: SideSums, shape: readonly number[]): TensorStats {
  const f = s.finite;
  const mean = f ? s.sum / f : NaN;
  return {
    shape: [...shape], mean, std: f ? Math.sqrt(Math.max(0, s.sumSq / f - mean * mean)) : NaN,
    min: f ? s.min : NaN, max: f ? s.max : NaN, absMax: f ? Math.max(Math.abs(s.min), Math.abs(s.max)) : 0, nan: s.nan, inf: s.inf,
  };
}

/** The excess at `rtol` read off an envelope: its largest d - rtol·r (the vertices bound every point). */
export function excessOf(envelope: readonly number[], rtol: number): number {
  let m = -Infinity;
  for (let i = 0; i < envelope.length; i += 2) m = Math.max(m, envelope[i + 1] - rtol * envelope[i]);
  return m;
}

/** The allclose figures of a set of parts: a merged envelope where every part has one, else the largest excess at the rule's rtol. */
function allcloseFacts(parts: readonly PairSums[], rule: ToleranceRule & { mode: 'allclose' }): Pick<VerdictFacts['diff'], 'envelope' | 'excess'> {
  if (parts.every((p) => p.envelope)) {
    const envelope = parts.length === 1 ? parts[0].envelope! : mergeEnvelopes(parts.map((p) => p.envelope));
    if (envelope) return { envelope };
  }
  let max = -Infinity;
  for (const p of parts) {
    const e = p.envelope ? excessOf(p.envelope, rule.rtol) : p.excess && p.excess.rtol === rule.rtol ? p.excess.max : undefined;
    if (e === undefined) return {};
    max = Math.max(max, e);
  }
  return { excess: { rtol: rule.rtol, max } };
}

function partPasses(p: PairSums, maxAbs: number, rule: ToleranceRule & { mode: 'allclose' }): boolean {
  if (p.envelope) return passes({ reference: { absMax: 0 }, diff: { maxAbs, envelope: p.envelope } }, rule);
  if (p.excess && p.excess.rtol === rule.rtol) return p.excess.max <= rule.atol;
  if (p.scanPass !== undefined) return p.scanPass;
  throw new Error(`A record's allclose verdict at rtol ${rule.rtol} cannot be decided from its statistics (they were reduced at another rtol).`);
}

/**
 * A record's statistics and metrics from the sums of its parts (one part: one tensor pair; several:
 * a batch, image by image). `shapes` are the shapes shown (the batch's, for a batch). The verdict
 * is the shared rule (src/shared/tolerance.ts) applied to the combined figures: the batch is judged
 * as one tensor, which for allclose means every image passes.
 */
export function metricsFromSums(
  parts: readonly PairSums[], shapes: { ref: readonly number[]; cand: readonly number[] }, rule: ToleranceRule,
): { reference: TensorStats; candidate: TensorStats; diff: DiffMetrics } {
  const a = addSides(parts.map((p) => p.reference));
  const b = addSides(parts.map((p) => p.candidate));
  let count = 0, maxAbs = 0, sumAbs = 0, sumD2 = 0, dot = 0;
  for (const p of parts) {
    count += p.count; sumAbs += p.sumAbs; sumD2 += p.sumD2; dot += p.dot;
    // NaN (a non-finite value that differs) wins: it must show.
    if (maxAbs === maxAbs && !(p.maxAbs <= maxAbs)) maxAbs = p.maxAbs;
  }
  const reference = sideStats(a, shapes.ref);
  const candidate = sideStats(b, shapes.cand);
  const refAbsMax = reference.absMax;
  const sumR2 = a.sumSq, sumC2 = b.sumSq;
  const relL2 = sumR2 > 0 ? Math.sqrt(sumD2 / sumR2) : sumD2 > 0 ? Infinity : 0;
  const cosine = sumR2 > 0 && sumC2 > 0 ? dot / Math.sqrt(sumR2 * sumC2) : sumR2 === sumC2 ? 1 : 0;
  const extra = rule.mode === 'allclose' ? allcloseFacts(parts, rule) : {};
  const facts: VerdictFacts = { reference: { absMax: refAbsMax }, diff: { maxAbs, ...extra } };
  // Allclose: the batch passes when every part does, each judged by its own exact figures (an
  // envelope's vertices, the excess, or its scan); the combined figures are what a view re-applies.
  const pass = rule.mode === 'allclose'
    ? maxAbs === maxAbs && parts.every((p) => partPasses(p, maxAbs, rule))
    : passes(facts, rule);
  return {
    reference,
    candidate,
    diff: {
      maxAbs, meanAbs: count ? sumAbs / count : 0, relL2, cosine, bound: boundOf(rule, refAbsMax),
      scaledMaxAbs: maxAbs / scaleOf(refAbsMax), pass, ...extra,
    },
  };
}
