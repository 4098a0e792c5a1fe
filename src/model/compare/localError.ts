import type { LoadedModel } from '../run/loadModel';
import type { ProviderSetting } from '../run/session';
import { walk } from '../dla/moduleTree';
import { toFloat32, type Tensor } from '../tensor';
import { diffMetrics } from './metrics';
import { inputsFor, rerunModules, type RerunRequest } from './rerun';
import type { DiffMetrics, ToleranceRule } from './types';

/**
 * Modules whose local error is reported: blocks, HDA roots, the stem and the plain conv stages.
 * Trees and tree stages are left out on purpose: they contain those blocks and roots, so their
 * re-runs would repeat the same weights (a dla60 merged graph grew to ~3x the model) for no new
 * information; a tree's local error is read off its blocks and root.
 */
const LOCAL_KINDS = new Set(['DlaBasic', 'DlaBottleneck', 'DlaBottle2neck', 'DlaRoot', 'Sequential']);

/**
 * The error each block adds by itself: the reference's block re-run from the candidate's own
 * inputs, compared with the candidate's own output. Inherited error cancels out, so a block whose
 * accumulated error is large but whose local error is tiny is not where the port went wrong.
 */
export async function localErrors(
  model: LoadedModel, candidate: ReadonlyMap<string, Tensor>, rule: ToleranceRule, provider: ProviderSetting,
): Promise<Map<string, DiffMetrics>> {
  const requests: RerunRequest[] = [];
  for (const n of walk(model.tree)) {
    if (!LOCAL_KINDS.has(n.kind) || (n.kind === 'Sequential' && n.role !== 'stem' && n.role !== 'stage')) continue;
    if (!candidate.has(n.id)) continue;
    const feeds = inputsFor(model, n.id, candidate);
    if (feeds) requests.push({ moduleId: n.id, feeds, taps: [n.id] });
  }
  const out = new Map<string, DiffMetrics>();
  const reruns = await rerunModules(model, requests, provider);
  requests.forEach((req, i) => {
    const ref = reruns[i].get(req.moduleId);
    const own = candidate.get(req.moduleId)!;
    if (ref && ref.data.length === own.data.length) out.set(req.moduleId, diffMetrics(toFloat32(ref), toFloat32(own), rule));
  });
  return out;
}
