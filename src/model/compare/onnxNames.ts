import { findNode, walk, type ModuleNode } from '../dla/moduleTree';
import { moduleInputs, recordOrder } from '../dla/recordOrder';

/**
 * From the tensor names of a PyTorch ONNX export to our record keys (timm module paths).
 *
 * torch.onnx.export (1.13 and later) names each node after the module scope it was traced in:
 * `/level2/tree1/conv2/Conv`, with the output `/level2/tree1/conv2/Conv_output_0`. A Sequential's
 * children repeat the parent in their segment (`/base_layer/base_layer.0/Conv`), and a module
 * called again gets `_k` appended (`/level2/tree1/relu_1/Relu` is the shared ReLU's second call); a
 * ModuleList's children, never called as a whole, appear as one dotted segment (`/convs.0/Conv`).
 * From those scopes:
 * - a record is the output of the last node inside its module (and inside its call, for `#k`)
 *   that is used outside it, or is a graph output; a block's record is thus its final ReLU;
 * - in eval mode the exporter folds each BatchNorm into the convolution before it, so no node is
 *   left in the BatchNorm's scope: the convolution's output then carries the BatchNorm's value and
 *   is mapped to the BatchNorm's record ('fused-bn'); the convolution's own record is not
 *   observable and stays unmapped;
 * - Identity and Dropout leave no node: they pass their input's record on ('pass-through');
 * - modules whose output nothing uses (a DlaTree's own downsample when its subtrees project for
 *   themselves) are removed by the exporter as dead code and stay unmapped;
 * - `input` is the graph input and `logits` the graph's first output.
 * A model wrapped in another module (`/model/level2/...`) has the wrapper's segments dropped.
 */

export interface OnnxNodeInfo {
  readonly name: string;
  readonly opType: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
}

export interface OnnxGraphInfo {
  readonly nodes: readonly OnnxNodeInfo[];
  /** The graph's data input (initializers excluded). */
  readonly input: string;
  readonly outputs: readonly string[];
}

export type MappingKind = 'output' | 'fused-bn' | 'pass-through' | 'input' | 'graph-output';

export interface RecordMapping {
  readonly record: string;
  /** The ONNX tensor holding the record's value. */
  readonly tensor: string;
  readonly kind: MappingKind;
}

export interface OnnxNameMap {
  /** In the reference's record order. */
  readonly records: readonly RecordMapping[];
  /** Records the export has no tensor for (convolutions with a folded BatchNorm among them). */
  readonly missing: readonly string[];
  /** BatchNorm records read from their folded convolution. */
  readonly fusedBatchNorms: readonly string[];
  /** Nodes whose scope names no module of the tree (shown so a mapping failure can be seen). */
  readonly unscoped: readonly string[];
  /** Leading scope segments dropped (a wrapper module around the model), '' when none. */
  readonly droppedPrefix: string;
}

/** Scope segments and op of a node, from its name (or its first output's name). */
export function scopeSegments(node: Pick<OnnxNodeInfo, 'name' | 'outputs'>): string[] | null {
  const fromName = node.name.startsWith('/') ? node.name : undefined;
  const fromOutput = node.outputs[0]?.startsWith('/') ? node.outputs[0].replace(/_output_\d+$/, '') : undefined;
  const full = fromName ?? fromOutput;
  if (!full) return null;
  const parts = full.split('/').filter((p) => p.length > 0);
  parts.pop(); // the op name (Conv, Relu, Add_1, ...)
  // Sequential children repeat their parent: /base_layer/base_layer.0 -> base_layer, 0
  return parts.map((p, i) => (i > 0 && p.startsWith(`${parts[i - 1]}.`) ? p.slice(parts[i - 1].length + 1) : p));
}

interface Resolved {
  /** The deepest module the scope names. */
  readonly id: string;
  /** Whether every segment resolved (false: the node sits in an unknown submodule of `id`). */
  readonly complete: boolean;
  /** Call index per module id along the path (`relu_2` -> relu: 2). */
  readonly calls: ReadonlyMap<string, number>;
}

function childNamed(node: ModuleNode, name: string): ModuleNode | undefined {
  return node.children.find((c) => c.name === name);
}

function resolve(tree: ModuleNode, scope: readonly string[]): Resolved | null {
  let node = tree;
  const calls = new Map<string, number>();
  let depth = 0;
  // A ModuleList is never called, so its children appear as one dotted segment (`convs.0`).
  const segments = scope.flatMap((seg) => (seg.includes('.') ? seg.split('.') : [seg]));
  for (const seg of segments) {
    let child = childNamed(node, seg);
    let call = 0;
    const repeated = /^(.*)_(\d+)$/.exec(seg);
    if (!child && repeated && childNamed(node, repeated[1])) {
      child = childNamed(node, repeated[1]);
      call = Number(repeated[2]);
    }
    if (!child) break;
    calls.set(child.id, call);
    node = child;
    depth++;
  }
  if (depth === 0) return null;
  return { id: node.id, complete: depth === segments.length, calls };
}

/** The wrapper segments to drop: the count (0-2) under which most scoped nodes resolve. */
function wrapperDepth(tree: ModuleNode, scopes: readonly (string[] | null)[]): number {
  let best = 0;
  let bestCount = -1;
  for (let drop = 0; drop <= 2; drop++) {
    const count = scopes.filter((s) => s && s.length > drop && resolve(tree, s.slice(drop))).length;
    if (count > bestCount) {
      best = drop;
      bestCount = count;
    }
  }
  return best;
}

/** The BatchNorm that follows convolution `conv` (the module tree records it on the conv). */
export function batchNormAfter(tree: ModuleNode, conv: ModuleNode): ModuleNode | undefined {
  const bn = conv.batchNorm ? findNode(tree, conv.batchNorm) : undefined;
  return bn?.kind === 'BatchNorm2d' ? bn : undefined;
}

const recordModule = (key: string): string => key.replace(/#\d+$/, '');
const recordCall = (key: string): number | undefined => {
  const m = /#(\d+)$/.exec(key);
  return m ? Number(m[1]) : undefined;
};

function inside(id: string, moduleId: string): boolean {
  return id === moduleId || id.startsWith(`${moduleId}.`);
}

export function mapOnnxNames(tree: ModuleNode, graph: OnnxGraphInfo): OnnxNameMap {
  const scopes = graph.nodes.map((n) => scopeSegments(n));
  const drop = wrapperDepth(tree, scopes);
  const droppedPrefix = scopes.find((s) => s && s.length > drop)?.slice(0, drop).join('/') ?? '';
  const resolved = scopes.map((s) => (s && s.length > drop ? resolve(tree, s.slice(drop)) : null));
  const unscoped = graph.nodes.filter((n, i) => !resolved[i] && n.opType !== 'Constant').map((n) => n.name || n.outputs[0] || n.opType);

  const consumers = new Map<string, number[]>();
  graph.nodes.forEach((n, i) => {
    for (const t of n.inputs) {
      const list = consumers.get(t);
      if (list) list.push(i);
      else consumers.set(t, [i]);
    }
  });
  const graphOutputs = new Set(graph.outputs);
  // Nodes per module id (a node counts for every module on its path).
  const nodesIn = (moduleId: string, call: number | undefined): number[] => {
    const out: number[] = [];
    resolved.forEach((r, i) => {
      if (!r || !inside(r.id, moduleId)) return;
      if (call !== undefined && (r.calls.get(moduleId) ?? 0) !== call) return;
      out.push(i);
    });
    return out;
  };
  /** The output of the last node in `set` that leaves the set (used outside it, or a graph output). */
  const outputOf = (set: readonly number[]): string | undefined => {
    const members = new Set(set);
    for (let k = set.length - 1; k >= 0; k--) {
      for (const t of graph.nodes[set[k]].outputs) {
        if (!t) continue;
        if (graphOutputs.has(t) || (consumers.get(t) ?? []).some((c) => !members.has(c))) return t;
      }
    }
    return undefined;
  };

  const hasNodes = (id: string): boolean => nodesIn(id, undefined).length > 0;
  // BatchNorms folded into their convolution: no node of their own, a convolution before them with nodes.
  const foldedInto = new Map<string, string>(); // bn id -> conv id
  for (const n of walk(tree)) {
    if (n.kind !== 'Conv2d') continue;
    const bn = batchNormAfter(tree, n);
    if (bn && !hasNodes(bn.id) && hasNodes(n.id)) foldedInto.set(bn.id, n.id);
  }
  const foldedConvs = new Set(foldedInto.values());

  const records: RecordMapping[] = [];
  const byRecord = new Map<string, string>();
  const missing: string[] = [];
  const add = (record: string, tensor: string | undefined, kind: MappingKind): void => {
    if (tensor === undefined) {
      missing.push(record);
      return;
    }
    records.push({ record, tensor, kind });
    byRecord.set(record, tensor);
  };
  for (const key of recordOrder(tree)) {
    if (key === 'input') {
      add(key, graph.input, 'input');
      continue;
    }
    if (key === 'logits') {
      add(key, graph.outputs[0], 'graph-output');
      continue;
    }
    const id = recordModule(key);
    const node = findNode(tree, id);
    if (foldedConvs.has(id)) {
      missing.push(key);
      continue;
    }
    const conv = foldedInto.get(id);
    if (conv !== undefined) {
      add(key, outputOf(nodesIn(conv, undefined)), 'fused-bn');
      continue;
    }
    const own = nodesIn(id, recordCall(key));
    if (own.length > 0) {
      add(key, outputOf(own), 'output');
      continue;
    }
    if (node && (node.kind === 'Identity' || node.kind === 'Dropout') && node.children.length === 0) {
      add(key, passThrough(tree, id, byRecord), 'pass-through');
      continue;
    }
    missing.push(key);
  }
  return { records, missing, fusedBatchNorms: [...foldedInto.keys()], unscoped, droppedPrefix };
}

/** The tensor of the record feeding a node-less pass-through module. */
function passThrough(tree: ModuleNode, id: string, byRecord: ReadonlyMap<string, string>): string | undefined {
  try {
    const [first] = moduleInputs(tree, id);
    return first === undefined ? undefined : byRecord.get(first);
  } catch {
    return undefined;
  }
}
