import { buildModuleGraph, moduleInputs, type GraphVariation } from '../dla/onnxGraph';
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

/** Runs module `moduleId` of the reference model from `feeds`, returning the records in `taps`. */
export async function rerunModule(model: LoadedModel, req: RerunRequest, provider: ProviderSetting): Promise<Map<string, Tensor>> {
  const graph = buildModuleGraph(model.tree, model.weights, req.moduleId, { taps: req.taps, variations: req.variations });
  const session = await createSession(graph.bytes, { provider });
  try {
    const feeds: Record<string, Tensor> = {};
    for (const input of graph.inputs) feeds[input.name] = asNchw(req.feeds.get(input.name)!, input.channels);
    const out = await run(session, feeds, graph.outputNames);
    for (const k of graph.recordsFromInputs) if (req.feeds.has(k)) out.set(k, req.feeds.get(k)!);
    return out;
  } finally {
    await releaseSession(session);
  }
}
