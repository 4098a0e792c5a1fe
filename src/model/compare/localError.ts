import type { LoadedModel } from '../run/loadModel';
import type { ProviderSetting } from '../run/session';
import { walk } from '../dla/moduleTree';
import { toFloat32, type Tensor } from '../tensor';
import { diffMetrics } from './metrics';
import { inputsFor, rerunModule } from './rerun';
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
  const out = new Map<string, DiffMetrics>();
  for (const n of walk(model.tree)) {
    if (isCancelled()) break;
    if (!LOCAL_ROLES.has(n.role) || n.kind === 'Sequential' && n.role === 'block') continue;
    const own = candidate.get(n.id);
    if (!own) continue;
    const feeds = inputsFor(model, n.id, candidate);
    if (!feeds) continue;
    const rerun = await rerunModule(model, { moduleId: n.id, feeds, taps: [n.id] }, provider);
    const ref = rerun.get(n.id);
    if (ref && ref.data.length === own.data.length) out.set(n.id, diffMetrics(toFloat32(ref), toFloat32(own), rule));
  }
  return out;
}
