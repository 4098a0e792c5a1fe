import { walk, type ModuleNode } from '../dla/moduleTree';
import { toFloat32, type Tensor } from '../tensor';
import { firstDivergence as firstFailing } from '../../shared/tolerance';
import { compareArrays } from './metrics';
import type { LayerResult, ToleranceRule, Unmatched } from './types';

const sameShape = (a: readonly number[], b: readonly number[]): boolean =>
  a.length === b.length && a.every((d, i) => d === b[i]);

export interface LayerDiff {
  readonly layers: LayerResult[];
  readonly firstDivergence: string | null;
  readonly unmatched: Unmatched;
}

/**
 * Every record both sides hold, in the reference's execution order. The first divergence is the
 * first failing record in that order (by the shared rule, as the views decide it); a record whose
 * shapes differ diverges there too.
 */
export function diffLayers(
  reference: ReadonlyMap<string, Tensor>, candidate: ReadonlyMap<string, Tensor>, rule: ToleranceRule,
): LayerDiff {
  const layers: LayerResult[] = [];
  const onlyReference: string[] = [];
  const shapeMismatch: Unmatched['shapeMismatch'][number][] = [];
  for (const [name, ref] of reference) {
    const cand = candidate.get(name);
    if (!cand) {
      onlyReference.push(name);
      continue;
    }
    // A dump may keep a batch-less or flattened copy of the same values ([C,H,W] vs [1,C,H,W]).
    if (!sameShape(ref.shape, cand.shape) && ref.data.length !== cand.data.length) {
      shapeMismatch.push({ name, reference: [...ref.shape], candidate: [...cand.shape], index: layers.length });
      continue;
    }
    const m = compareArrays(toFloat32(ref), toFloat32(cand), { ref: ref.shape, cand: cand.shape }, rule);
    layers.push({ name, ...m });
  }
  const onlyCandidate = [...candidate.keys()].filter((k) => !reference.has(k));
  return { layers, firstDivergence: firstFailing(layers, (l) => !l.diff.pass, shapeMismatch), unmatched: { onlyReference, onlyCandidate, shapeMismatch } };
}

/** The record keys that belong to module `id` (itself, its `#k` calls, and everything inside). */
function belongs(key: string, id: string): boolean {
  return key === id || key.startsWith(`${id}.`) || key.startsWith(`${id}#`);
}

/**
 * Modules of the tree for which the candidate holds no record at all, outermost only: a porter's
 * dump that logged `level3` but nothing inside it leaves `level3`'s insides uncovered but not
 * `level3`, so this lists the modules a divergence could hide in unseen.
 */
export function uncoveredModules(tree: ModuleNode, candidateKeys: Iterable<string>): string[] {
  const keys = [...candidateKeys];
  const out: string[] = [];
  const visit = (n: ModuleNode): void => {
    if (n.id !== '' && !keys.some((k) => belongs(k, n.id))) {
      out.push(n.id);
      return;
    }
    for (const c of n.children) visit(c);
  };
  visit(tree);
  return out;
}

/** Leaf modules with no record of their own, for a "covers N of M layers" summary. */
export function coverage(tree: ModuleNode, candidateKeys: Iterable<string>): { covered: number; total: number } {
  const keys = new Set([...candidateKeys].map((k) => k.replace(/#\d+$/, '')));
  let covered = 0, total = 0;
  for (const n of walk(tree)) {
    if (n.children.length || n.id === '') continue;
    total++;
    if (keys.has(n.id)) covered++;
  }
  return { covered, total };
}
