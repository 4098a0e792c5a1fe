import { checkWeights } from '../dla/weightCheck';
import { isIgnoredForComparison } from '../dla/keymap';
import type { ModuleNode } from '../dla/moduleTree';
import type { DlaVariant } from '../dla/variants';
import { toFloat32, type Tensor } from '../tensor';
import type { WeightDiff, WeightResult } from './types';

/**
 * Weight-by-weight comparison after key mapping (both sides in timm names). timm loads DLA with
 * strict=False, so a weight missing from a port silently keeps its random init: the lists of
 * missing/unexpected/mismatched keys are checked against the architecture, not just the other file.
 */
export function diffWeights(
  variant: DlaVariant, tree: ModuleNode, reference: ReadonlyMap<string, Tensor>, candidate: ReadonlyMap<string, Tensor>,
): WeightDiff {
  const check = checkWeights(variant, candidate, tree);
  const mismatched = new Set(check.mismatched.map((m) => m.name));
  const compared: WeightResult[] = [];
  for (const [name, ref] of reference) {
    const cand = candidate.get(name);
    if (!cand || mismatched.has(name) || isIgnoredForComparison(name)) continue;
    if (cand.data.length !== ref.data.length) continue;
    const a = toFloat32(ref);
    const b = toFloat32(cand);
    let maxAbs = 0;
    let identical = true;
    for (let i = 0; i < a.length; i++) {
      const d = Math.abs(a[i] - b[i]);
      // NaN compares unequal to everything, so a NaN weight is never "identical" and shows as NaN.
      if (!(a[i] === b[i] || (Number.isNaN(a[i]) && Number.isNaN(b[i])))) identical = false;
      if (d > maxAbs || Number.isNaN(d)) maxAbs = Number.isNaN(d) ? NaN : d;
      if (Number.isNaN(maxAbs)) break;
    }
    compared.push({ name, shape: [...ref.shape], maxAbs, identical });
  }
  return { compared, missing: check.missing, unexpected: check.unexpected, mismatched: check.mismatched };
}

export function weightsRunnable(w: WeightDiff): boolean {
  return w.missing.length === 0 && w.mismatched.length === 0;
}
