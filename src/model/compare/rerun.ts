import { buildModuleGraph, moduleInputs, type BuiltGraph, type GraphVariation } from '../dla/onnxGraph';
import { mergeModels, partName } from '../dla/mergeGraphs';
import type { LoadedModel } from '../run/loadModel';
import { createSession, releaseSession, run, type ProviderSetting } from '../run/session';
import { numel, type Tensor } from '../tensor';

/**
 * Re-running one module of the reference on the candidate's own records: the basis of the local
 * error (what a block adds by itself) and of the diagnosis (which known mistake reproduces it).
 */

/** The candidate records module `id` needs, or null when the candidate lacks one of them. */
export function inputsFor(model: LoadedModel, id: string, candidate: ReadonlyMap<string, Tensor>): Map<string, Tensor> | null {
  let keys: string[];
  try {
    keys = moduleInputs(model.tree, id);
  } catch {
    return null; // fed by an intermediate value no record holds (inside a Bottle2neck)
  }
  const feeds = new Map<string, Tensor>();
  for (const k of keys) {
    const t = candidate.get(k);
    if (!t) return null;
    feeds.set(k, t);
  }
  return feeds;
}

/** A dump may store [C,H,W] or a flattened copy: give each feed the rank the graph declares (4-d). */
function asNchw(t: Tensor, channels: number): Tensor {
  if (t.shape.length === 4) return t;
  const n = numel(t.shape);
  if (t.shape.length === 3) return { ...t, shape: [1, ...t.shape] };
  return { ...t, shape: [1, channels, 1, n / channels] };
}

export interface RerunRequest {
  readonly moduleId: string;
  readonly feeds: ReadonlyMap<string, Tensor>;
  readonly taps: readonly string[];
  readonly variations?: readonly GraphVariation[];
}

/**
 * Several re-runs in ONE session and one run: the module graphs are merged side by side (each
 * part's values prefixed by its index). Session creation, not compute, dominated per-module runs.
 */
export async function rerunModules(model: LoadedModel, reqs: readonly RerunRequest[], provider: ProviderSetting): Promise<Map<string, Tensor>[]> {
  if (reqs.length === 0) return [];
  const graphs: BuiltGraph[] = reqs.map((r) => buildModuleGraph(model.tree, model.weights, r.moduleId, { taps: r.taps, variations: r.variations }));
  const prefix = (i: number): string => `m${i}`;
  const bytes = graphs.length === 1 ? graphs[0].bytes : mergeModels(graphs.map((g, i) => ({ prefix: prefix(i), bytes: g.bytes })));
  const name = (i: number, n: string): string => (graphs.length === 1 ? n : partName(prefix(i), n));
  const session = await createSession(bytes, { provider });
  try {
    const feeds: Record<string, Tensor> = {};
    const outputNames: string[] = [];
    graphs.forEach((g, i) => {
      for (const input of g.inputs) feeds[name(i, input.name)] = asNchw(reqs[i].feeds.get(input.name)!, input.channels);
      for (const o of g.outputNames) outputNames.push(name(i, o));
    });
    const out = await run(session, feeds, outputNames);
    return graphs.map((g, i) => {
      const records = new Map<string, Tensor>();
      for (const o of g.outputNames) records.set(o, out.get(name(i, o))!);
      for (const k of g.recordsFromInputs) if (reqs[i].feeds.has(k)) records.set(k, reqs[i].feeds.get(k)!);
      return records;
    });
  } finally {
    await releaseSession(session);
  }
}
