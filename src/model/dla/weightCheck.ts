import { formatShape, type Tensor } from '../tensor';
import { isIgnoredForComparison } from './keymap';
import { buildModuleTree, expectedWeights, walk, type ModuleNode } from './moduleTree';
import type { DlaVariant } from './variants';

export interface MissingKey { readonly name: string; readonly expected: readonly number[] }
export interface UnexpectedKey { readonly name: string; readonly shape: readonly number[] }
export interface MismatchedKey { readonly name: string; readonly expected: readonly number[]; readonly found: readonly number[] }

export interface WeightCheck {
  readonly missing: MissingKey[];
  readonly unexpected: UnexpectedKey[];
  readonly mismatched: MismatchedKey[];
  /**
   * Keys the original DLA code wrote but timm never uses: `project` layers of trees with
   * levels > 1 (timm moved them to the levels == 1 case; old checkpoints load with strict=False).
   */
  readonly knownUnused: string[];
  /** Expected keys that are absent but carry no meaning for a forward pass (num_batches_tracked). */
  readonly ignoredAbsent: string[];
  /** Expected keys present with the expected shape. */
  matched: number;
}

/** Project layers present in checkpoints of the original DLA code for trees with levels > 1. */
function legacyProjectKeys(tree: ModuleNode): Set<string> {
  const keys = new Set<string>();
  for (const n of walk(tree)) {
    if (n.kind === 'DlaTree' && n.tree && n.tree.levels > 1 && n.tree.inChannels !== n.tree.outChannels) {
      keys.add(`${n.id}.project.0.weight`);
      for (const p of ['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked']) keys.add(`${n.id}.project.1.${p}`);
    }
  }
  return keys;
}

const sameShape = (a: readonly number[], b: readonly number[]): boolean =>
  a.length === b.length && a.every((d, i) => d === b[i]);

/** Compare a state dict (timm names) against what `variant` expects. */
export function checkWeights(variant: DlaVariant, tensors: ReadonlyMap<string, Pick<Tensor, 'shape'>>, tree = buildModuleTree(variant)): WeightCheck {
  const expected = expectedWeights(tree);
  const legacy = legacyProjectKeys(tree);
  const result: WeightCheck = { missing: [], unexpected: [], mismatched: [], knownUnused: [], ignoredAbsent: [], matched: 0 };
  for (const [name, shape] of expected) {
    const t = tensors.get(name);
    if (!t) {
      if (isIgnoredForComparison(name)) result.ignoredAbsent.push(name);
      else result.missing.push({ name, expected: shape });
    } else if (!sameShape(t.shape, shape)) {
      result.mismatched.push({ name, expected: shape, found: t.shape });
    } else {
      result.matched++;
    }
  }
  for (const [name, t] of tensors) {
    if (expected.has(name)) continue;
    if (legacy.has(name)) result.knownUnused.push(name);
    else result.unexpected.push({ name, shape: t.shape });
  }
  return result;
}

/** One line per problem, for terminal output. */
export function describeWeightCheck(c: WeightCheck, limit = 10): string[] {
  const lines: string[] = [];
  const more = (n: number): void => {
    if (n > limit) lines.push(`  ... and ${n - limit} more`);
  };
  if (c.missing.length) lines.push(`${c.missing.length} missing:`);
  for (const m of c.missing.slice(0, limit)) lines.push(`  ${m.name} (expected ${formatShape(m.expected)})`);
  more(c.missing.length);
  if (c.mismatched.length) lines.push(`${c.mismatched.length} with the wrong shape:`);
  for (const m of c.mismatched.slice(0, limit)) lines.push(`  ${m.name}: expected ${formatShape(m.expected)}, found ${formatShape(m.found)}`);
  more(c.mismatched.length);
  if (c.unexpected.length) lines.push(`${c.unexpected.length} unexpected:`);
  for (const u of c.unexpected.slice(0, limit)) lines.push(`  ${u.name} ${formatShape(u.shape)}`);
  more(c.unexpected.length);
  if (c.knownUnused.length) lines.push(`${c.knownUnused.length} known-unused (original DLA 'project' layers that timm never runs)`);
  return lines;
}
