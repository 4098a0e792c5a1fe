import { GraphBuildError, GraphEmitter } from './graphEmitter';
import { expectedWeights, findNode, type ModuleNode } from './moduleTree';

/**
 * Facts about the records (the reference dump's hook keys) that need no weights: their
 * hook-firing order, their shapes for an input size, and which records feed each module. All come
 * from a dry run of the same walk that emits the ONNX graph, so they cannot drift apart.
 */

/** The walk without a graph: every record with its shape for a batch x 3 x height x width input. */
export function dryRun(tree: ModuleNode, height = 224, width = height, batch = 1): GraphEmitter {
  const e = new GraphEmitter({ expected: expectedWeights(tree), variations: [], fold: false, isTapped: () => true });
  const input = { name: 'input', shape: [batch, 3, height, width] };
  e.adopt('input', input, true);
  e.emit(tree, [input]);
  return e;
}

/** Every record key in hook-firing order, `input` first and `logits` last. */
export function recordOrder(tree: ModuleNode): string[] {
  return dryRun(tree).records.map((r) => r.key);
}

/** The shape of every record for a batch x 3 x height x width input (throws where timm would fail). */
export function recordShapes(tree: ModuleNode, height: number, width = height, batch = 1): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const r of dryRun(tree, height, width, batch).records) if (r.val) out.set(r.key, [...r.val.shape]);
  return out;
}

/**
 * The records whose values module `id` receives, in its argument order: [x] for most modules,
 * [x, shortcut] for a block fed a projected shortcut, the concatenated values for a root, and
 * [x, ...children] for a DlaTree. A value held by several records is named by the latest of them
 * when the module is called (`level2`, not `level2.root.relu`), pass-through modules aside (an
 * Identity `project` passes on its `downsample` record, `head_drop` its `global_pool.pool`).
 * Repeated keys are possible (a tree's x is also one of its children). Throws when an input is not
 * a recorded value (the split chunks inside a Bottle2neck).
 */
export function moduleInputs(tree: ModuleNode, id: string): string[] {
  if (!findNode(tree, id)) throw new GraphBuildError(`There is no module '${id}' in ${tree.name}.`);
  const keys = dryRun(tree).inputsOf.get(id);
  if (!keys) throw new GraphBuildError(`Module '${id}' is never called in ${tree.name}'s forward pass (a container such as a ModuleList).`);
  const missing = keys.findIndex((k) => k === undefined);
  if (missing >= 0) {
    throw new GraphBuildError(`Input ${missing} of module '${id}' is an intermediate value no record holds, so '${id}' cannot be re-run on its own.`);
  }
  return keys as string[];
}
