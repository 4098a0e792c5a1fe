import type { ComparisonData, ComparisonView, ViewLayer } from '../../shared/comparisonProtocol';
import type { ViewModule } from '../../shared/moduleView';
import { buildModuleTree, type ModuleNode } from '../dla/moduleTree';
import { variantByName } from '../dla/variants';
import type { CompareReport, LayerResult } from './types';

/**
 * Report vocabulary -> page vocabulary, for both producers of a comparison page: the extension
 * (its webview) and the HTML report (htmlReport.ts). The page's protocol mirrors the model types
 * structurally; the assignments below are the compile-time check that they have not drifted apart.
 * Nothing is decided here: the verdicts are the report's.
 */

const _layerFits: (l: LayerResult) => ViewLayer = (l) => l;
void _layerFits;

export function toViewModule(n: ModuleNode): ViewModule {
  return {
    id: n.id,
    name: n.name,
    kind: n.kind,
    role: n.role,
    calls: n.calls,
    children: n.children.map(toViewModule),
    ...(n.rootInputs ? { rootInputs: n.rootInputs.map((r) => ({ id: r.id, edge: r.edge })) } : {}),
    ...(n.tree ? { levelRoot: n.tree.levelRoot } : {}),
  };
}

export function moduleTreeOf(variant: string): ModuleNode {
  const v = variantByName(variant);
  if (!v) throw new Error(`Unknown DLA variant '${variant}'; DLA Lens knows the 12 timm variants (dla34 … dla60_res2next).`);
  return buildModuleTree(v);
}

/** The variant a report is about: the reference's, else the candidate's. */
export function reportVariant(report: CompareReport): string {
  const v = report.reference.variant ?? report.candidate.variant;
  if (!v) {
    throw new Error(
      `Neither side of the comparison (${report.reference.file}, ${report.candidate.file}) was recognised as a timm DLA variant, so there is no tree to draw.`,
    );
  }
  return v;
}

/** The page's view of a report (everything but the host's title, detail availability and restore key). */
export function toComparisonView(report: CompareReport, tree?: ModuleNode): ComparisonView {
  const variant = reportVariant(report);
  return {
    variant,
    reference: report.reference,
    candidate: report.candidate,
    input: report.input,
    provider: report.provider,
    rule: report.tolerance,
    tree: toViewModule(tree ?? moduleTreeOf(variant)),
    layers: report.layers,
    firstDivergence: report.firstDivergence,
    // Reports written before shape mismatches carried their place: at the end of the order.
    unpaired: report.unmatched.shapeMismatch.map((m) => ({ name: m.name, index: m.index ?? report.layers.length })),
    uncovered: report.uncovered,
    notes: report.notes ?? [],
    diagnosis: report.diagnosis,
    timingsMs: report.timingsMs,
    ...(report.batch
      ? { batch: { images: report.batch.images, firstDivergence: report.batch.firstDivergence, focus: report.batch.focus, method: report.batch.method } }
      : {}),
  };
}

export function toComparisonData(
  report: CompareReport, title: string, detailAvailable: boolean, restoreKey: string, tree?: ModuleNode,
): ComparisonData {
  return { ...toComparisonView(report, tree), title, detailAvailable, restoreKey };
}
