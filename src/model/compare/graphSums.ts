import { PAIR_STAT, SAME_STAT, type PairBlock } from '../dla/pairGraph';
import { boundOf } from '../../shared/tolerance';
import type { PairSums, SideSums } from './pairSums';
import type { ToleranceRule } from './types';

/**
 * The in-graph statistics (pairGraph.ts) of one record and one image, as PairSums; undefined when
 * they cannot stand for the exact figures, and the image must be re-run and compared in
 * JavaScript instead (exact, float64):
 * - a non-finite statistic (a NaN or an infinity in either side, or a float32 sum that overflowed):
 *   the exact pass counts NaN and Inf and keeps the other figures over finite values;
 * - a verdict too close to call: float32's R - C is exact when R and C are within a factor 2 of
 *   each other and otherwise within 2^-24 relative, so a max |R - C| within 2^-22 of the bound (or
 *   an allclose excess within 2^-21 of atol, the excess having three float32 roundings) could fall
 *   on either side of it in float64.
 */
export function graphSums(
  data: Float64Array, block: PairBlock, columns: number, image: number, count: number, rule: ToleranceRule,
): PairSums | undefined {
  const col = (c: number): number => data[image * columns + c];
  if (block.kind === 'same') {
    const side: SideSums = {
      finite: count, sum: col(SAME_STAT.sumR), sumSq: col(SAME_STAT.sumR2), min: col(SAME_STAT.minR), max: col(SAME_STAT.maxR), nan: 0, inf: 0,
    };
    if (!allFinite(side.sum, side.sumSq, side.min, side.max)) return undefined;
    const sums: PairSums = { count, maxAbs: 0, sumAbs: 0, sumD2: 0, dot: side.sumSq, reference: side, candidate: side };
    return rule.mode === 'allclose' ? { ...sums, envelope: [0, 0], excess: { rtol: rule.rtol, max: 0 } } : sums;
  }
  const v = new Float64Array(columns);
  for (let c = 0; c < columns; c++) v[c] = col(c);
  if (!allFinite(...v)) return undefined;
  const S = v[PAIR_STAT.sumR2], P = v[PAIR_STAT.sumRD], Q = v[PAIR_STAT.sumD2];
  const reference: SideSums = { finite: count, sum: v[PAIR_STAT.sumR], sumSq: S, min: v[PAIR_STAT.minR], max: v[PAIR_STAT.maxR], nan: 0, inf: 0 };
  const candidate: SideSums = {
    finite: count, sum: v[PAIR_STAT.sumR] - v[PAIR_STAT.sumD], sumSq: Math.max(0, S - 2 * P + Q), min: v[PAIR_STAT.minC], max: v[PAIR_STAT.maxC], nan: 0, inf: 0,
  };
  const maxAbs = Math.max(v[PAIR_STAT.maxD], -v[PAIR_STAT.minD], 0);
  const refAbsMax = Math.max(Math.abs(reference.min), Math.abs(reference.max));
  const sums: PairSums = { count, maxAbs, sumAbs: v[PAIR_STAT.sumAbsD], sumD2: Q, dot: S - P, reference, candidate };
  if (rule.mode === 'scaled-max') {
    const bound = boundOf(rule, refAbsMax);
    return Math.abs(maxAbs - bound) <= 2 ** -22 * Math.max(maxAbs, bound) ? undefined : sums;
  }
  if (columns <= PAIR_STAT.excess) throw new Error('graphSums: an allclose rule needs the pair graph built with its rtol.');
  const excess = v[PAIR_STAT.excess];
  const margin = 2 ** -21 * (maxAbs + rule.rtol * refAbsMax + rule.atol);
  return Math.abs(excess - rule.atol) <= margin ? undefined : { ...sums, excess: { rtol: rule.rtol, max: excess } };
}

function allFinite(...xs: number[]): boolean {
  for (const x of xs) if (!(x - x === 0)) return false;
  return true;
}
