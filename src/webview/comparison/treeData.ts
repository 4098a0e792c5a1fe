import type { ComparisonData, ViewLayer } from '../../shared/comparisonProtocol';
import type { ViewModule, ViewRootInput } from '../../shared/moduleView';
import { moduleOfRecord } from './metrics';

/**
 * The tree the view draws, derived once from the comparison: module paths as ids, the stages as
 * the IDA spine under the model, and the head's modules grouped under one "head" node, as DLA
 * papers draw it. Each node knows the record that stands for its output.
 */
export interface TreeNodeData {
  readonly id: string;
  readonly name: string;
  readonly kind: string;
  readonly role: string;
  readonly children: TreeNodeData[];
  /** The record of this module's output (the last call for shared modules), if recorded. */
  readonly layer: ViewLayer | undefined;
  /** Every record of this module (several for a shared ReLU). */
  readonly records: readonly ViewLayer[];
  readonly rootInputs: readonly ViewRootInput[];
  readonly levelRoot: boolean;
}

export const HEAD_ID = '#head';
const HEAD_MODULES = new Set(['global_pool', 'head_drop', 'fc', 'flatten']);

export function buildTreeData(data: ComparisonData): TreeNodeData {
  const byModule = new Map<string, ViewLayer[]>();
  for (const l of data.layers) {
    const m = l.name === 'logits' ? '' : moduleOfRecord(l.name);
    const list = byModule.get(m) ?? [];
    list.push(l);
    byModule.set(m, list);
  }
  const convert = (m: ViewModule): TreeNodeData => {
    const records = byModule.get(m.id) ?? [];
    return {
      id: m.id,
      name: m.id === '' ? data.variant : m.name,
      kind: m.kind,
      role: m.role,
      children: m.children.map(convert),
      layer: records[records.length - 1],
      records,
      rootInputs: m.rootInputs ?? [],
      levelRoot: m.levelRoot ?? false,
    };
  };
  const root = convert(data.tree);
  const head = root.children.filter((c) => HEAD_MODULES.has(c.id));
  if (head.length > 0) {
    const logits = data.layers.find((l) => l.name === 'logits') ?? head[head.length - 1].layer;
    const group: TreeNodeData = {
      id: HEAD_ID, name: 'head', kind: 'Head', role: 'head', children: head,
      layer: logits, records: logits ? [logits] : [], rootInputs: [], levelRoot: false,
    };
    root.children.splice(root.children.indexOf(head[0]), head.length, group);
  }
  return root;
}

/** Whether the node or anything below it fails (by the page's verdicts): what the "only failing" filter keeps. */
export function subtreeFails(n: TreeNodeData, fails: (l: ViewLayer) => boolean, memo = new Map<string, boolean>()): boolean {
  const known = memo.get(n.id);
  if (known !== undefined) return known;
  const f = n.records.some(fails) || n.children.some((c) => subtreeFails(c, fails, memo));
  memo.set(n.id, f);
  return f;
}

/** Ids from the root to the node that owns `id` (inclusive), following module-path prefixes. */
export function pathTo(root: TreeNodeData, id: string): string[] {
  const out: string[] = [];
  let node: TreeNodeData | undefined = root;
  while (node) {
    out.push(node.id);
    if (node.id === id) return out;
    node = node.children.find((c) => c.id === id || id.startsWith(`${c.id}.`) || (c.id === HEAD_ID && c.children.some((h) => h.id === id || id.startsWith(`${h.id}.`))));
  }
  return out;
}
