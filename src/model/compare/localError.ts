import type { LoadedModel } from '../run/loadModel';
import type { ProviderSetting } from '../run/session';
import { walk } from '../dla/moduleTree';
import { toFloat32, type Tensor } from '../tensor';
import { diffMetrics } from './metrics';
import { inputsFor, rerunModules, type RerunRequest } from './rerun';
import type { DiffMetrics, ToleranceRule } from './types';

/** Modules whose local error is reported: blocks, HDA roots, trees and the stages. */
const LOCAL_ROLES = new Set(['block', 'root', 'tree', 'stage', 'stem']);

/**
 * The error each block adds by itself: the reference's block re-run from the candidate's own
 * inputs, compared with the candidate's own output. Inherited error cancels out, so a block whose
 * accumulated error is large but whose local error is tiny is not where the port went wrong.
 */
export async function localErrors(
  model: LoadedModel, candidate: ReadonlyMap<string, Tensor>, rule: ToleranceRule, provider: ProviderSetting,
  isCancelled: () => boolean = () => false,
): Promise<Map<string, DiffMetrics>> {
  const requests: RerunRequest[] = [];
  for (const n of walk(model.tree)) {
    if (!LOCAL_ROLES.has(n.role) || (n.kind === 'Sequential' && n.role === 'block')) continue;
    if (!candidate.has(n.id)) continue;
    const feeds = inputsFor(model, n.id, candidate);
    if (feeds) requests.push({ moduleId: n.id, feeds, taps: [n.id] });
  }
  const out = new Map<string, DiffMetrics>();
  if (isCancelled()) return out;
  const reruns = await rerunModules(model, requests, provider);
  requests.forEach((req, i) => {
    const ref = reruns[i].get(req.moduleId);
    const own = candidate.get(req.moduleId)!;
    if (ref && ref.data.length === own.data.length) out.set(req.moduleId, diffMetrics(toFloat32(ref), toFloat32(own), rule));
  });
  return out;
}
