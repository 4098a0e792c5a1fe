import type { Tensor } from '../tensor';
import { GraphBuildError, GraphEmitter, type Val } from './graphEmitter';
import type { GraphVariation } from './graphVariations';
import { expectedWeights, findNode, type ModuleNode } from './moduleTree';
import { OnnxGraphBuilder } from './onnxBuilder';
import { dryRun, moduleInputs } from './recordOrder';

/**
 * ONNX graphs of timm's DLA built from a module tree and a state dict (timm names):
 * - the TAP graph exposes records (the reference dump's hook keys) as graph outputs of the same name;
 * - the FAST graph computes logits only, BatchNorm folded into the convolutions;
 * - a MODULE graph re-runs one module (block, root, tree, stage, leaf) from the records that feed it.
 * Input 'input' is [N, 3, H, W] with N, H, W symbolic, so one graph serves every input size.
 */

export { GraphBuildError } from './graphEmitter';
export type { GraphVariation } from './graphVariations';
export { moduleInputs, recordOrder, recordShapes } from './recordOrder';

export interface TapGraphOptions {
  /** Records to expose as outputs; default 'all'. Unknown keys are an error. */
  readonly taps?: 'all' | readonly string[];
  /** Known porting mistakes to build in (see graphVariations.ts). */
  readonly variations?: readonly GraphVariation[];
  /**
   * Records that hold the same value as another (a block and its last ReLU, a stage and its root,
   * Identity modules: 55 of dla60's 251). 'identity' (default): each is a graph output of its own
   * name, through an Identity copy, as ONNX allows a value to be one output only. 'share': the value
   * is output once and `records` maps every key to it: a quarter fewer bytes to hand over per run.
   */
  readonly aliases?: 'identity' | 'share';
}

export interface FastGraphOptions {
  readonly variations?: readonly GraphVariation[];
}

export interface GraphInput {
  /** The record key it stands for (`input` for the whole model). */
  readonly name: string;
  readonly channels: number;
}

export interface BuiltGraph {
  /** An encoded ModelProto, ready for InferenceSession.create. */
  readonly bytes: Uint8Array;
  readonly inputs: readonly GraphInput[];
  /** Graph outputs to fetch, in record order (`logits` alone for the fast graph). */
  readonly outputNames: readonly string[];
  /**
   * The requested records in hook order, each with the name of the graph output or graph input
   * that holds its value (itself, unless an input such as `input`, or an alias in 'share' mode).
   */
  readonly records: ReadonlyMap<string, string>;
  /** Requested records whose value is a graph input (`input`; in 'share' mode also aliases of one): take them from the feeds. */
  readonly recordsFromInputs: readonly string[];
}

/** The requested records of a run, in hook order, from its outputs and its feeds (no copies). */
export function collectRecords(
  graph: BuiltGraph, outputs: ReadonlyMap<string, Tensor>, feeds: Readonly<Record<string, Tensor>>,
): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const [key, source] of graph.records) {
    const t = outputs.get(source) ?? feeds[source];
    if (!t) throw new GraphBuildError(`Record '${key}' needs '${source}', which is neither among the outputs nor the feeds.`, key);
    out.set(key, t);
  }
  return out;
}

interface Plan {
  readonly target: ModuleNode;
  readonly inputKeys: readonly string[];
  /** Shapes for the nominal 224x224 input, so the walk's shape checks hold inside a sub-graph too. */
  readonly inputShapes: ReadonlyMap<string, readonly number[]>;
  readonly isModel: boolean;
}

function plan(tree: ModuleNode, moduleId: string): Plan {
  const target = moduleId === '' ? tree : findNode(tree, moduleId);
  if (!target) throw new GraphBuildError(`There is no module '${moduleId}' in ${tree.name}.`);
  if (target === tree) return { target, inputKeys: ['input'], inputShapes: new Map([['input', [1, 3, 224, 224]]]), isModel: true };
  const inputKeys = moduleInputs(tree, moduleId);
  const shapes = new Map(dryRun(tree).records.filter((r) => r.val).map((r) => [r.key, r.val!.shape]));
  return { target, inputKeys, inputShapes: shapes, isModel: false };
}

function build(
  tree: ModuleNode, weights: ReadonlyMap<string, Tensor>, p: Plan,
  taps: 'all' | readonly string[], fold: boolean, variations: readonly GraphVariation[], share: boolean,
): BuiltGraph {
  const wanted = taps === 'all' ? undefined : new Set(taps);
  const isTapped = (k: string): boolean => wanted === undefined || wanted.has(k);
  const graph = new OnnxGraphBuilder();
  const e = new GraphEmitter({ graph, weights, expected: expectedWeights(tree), variations, fold, isTapped });

  const inputs: GraphInput[] = [];
  const vals = new Map<string, Val>();
  for (const key of p.inputKeys) {
    if (vals.has(key)) continue;
    const shape = p.inputShapes.get(key)!;
    const channels = shape[1];
    // Distinct symbolic H/W per input: a block's x and its shortcut differ in size by the stride.
    graph.input(key, p.isModel ? ['N', 3, 'H', 'W'] : ['N', channels, `${key}:H`, `${key}:W`]);
    const v: Val = { name: key, shape };
    e.adopt(key, v, p.isModel);
    vals.set(key, v);
    inputs.push({ name: key, channels });
  }
  e.emit(p.target, p.inputKeys.map((k) => vals.get(k)!));

  const produced = new Map(e.records.map((r) => [r.key, r.val]));
  if (wanted) {
    const unknown = [...wanted].filter((k) => !produced.has(k) && !vals.has(k));
    if (unknown.length > 0) {
      throw new GraphBuildError(
        `No record ${unknown.map((k) => `'${k}'`).join(', ')} in ${p.target.id || tree.name}; records look like ` +
          `${[...produced.keys()].slice(0, 4).map((k) => `'${k}'`).join(', ')}.`, unknown[0]);
    }
  }
  const outputNames: string[] = [];
  const records = new Map<string, string>();
  const expose = (name: string): void => {
    if (vals.has(name) || outputNames.includes(name)) return;
    graph.output(name);
    outputNames.push(name);
  };
  for (const [key, val] of produced) {
    if (!isTapped(key)) continue;
    if (!val) throw new GraphBuildError(`Record '${key}' was folded away, so it cannot be exposed.`, key);
    if (share || val.name === key || vals.has(key)) {
      records.set(key, val.name);
    } else {
      // ONNX lets a value be a graph output once, under its own name: an alias gets a copy.
      graph.node('Identity', [val.name], [key]);
      records.set(key, key);
    }
    expose(records.get(key)!);
  }
  if (wanted) for (const k of wanted) if (vals.has(k) && !records.has(k)) records.set(k, k);
  if (outputNames.length === 0) {
    throw new GraphBuildError(`Nothing to compute: the requested records (${[...(wanted ?? [])].join(', ')}) are all graph inputs; take them from the feeds.`);
  }
  const recordsFromInputs = [...records].filter(([, source]) => vals.has(source)).map(([key]) => key);
  return { bytes: graph.encode(`${tree.name}${p.target.id ? `:${p.target.id}` : ''}`), inputs, outputNames, records, recordsFromInputs };
}

/** The whole model with records exposed as outputs named by their keys (default: every record). */
export function buildTapGraph(tree: ModuleNode, weights: ReadonlyMap<string, Tensor>, options: TapGraphOptions = {}): BuiltGraph {
  return build(tree, weights, plan(tree, ''), options.taps ?? 'all', false, options.variations ?? [], options.aliases === 'share');
}

/** Logits only, BatchNorm folded into the convolutions (float64, rounded once): for classification. */
export function buildFastGraph(tree: ModuleNode, weights: ReadonlyMap<string, Tensor>, options: FastGraphOptions = {}): BuiltGraph {
  return build(tree, weights, plan(tree, ''), ['logits'], true, options.variations ?? [], false);
}

/**
 * Module `moduleId` alone, fed by the records `moduleInputs(tree, moduleId)` names (graph inputs of
 * those names), exposing the records inside it: "re-run this block from the reference's inputs".
 */
export function buildModuleGraph(
  tree: ModuleNode, weights: ReadonlyMap<string, Tensor>, moduleId: string, options: TapGraphOptions = {},
): BuiltGraph {
  return build(tree, weights, plan(tree, moduleId), options.taps ?? 'all', false, options.variations ?? [], options.aliases === 'share');
}
