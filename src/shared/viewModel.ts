import type { CompareReport, LayerResult } from '../model/compare/types';
import { buildModuleTree, type ModuleNode } from '../model/dla/moduleTree';
import { variantByName } from '../model/dla/variants';
import type { ComparisonData, ViewLayer, ViewModule } from './protocol';

/**
 * Model vocabulary -> protocol vocabulary, for both producers of a comparison page: the extension
 * host (the webview) and the HTML report (src/model/compare/htmlReport.ts). Host side only: it
 * imports model code, so the webview bundle never imports this file (it sees protocol.ts alone).
 * The protocol mirrors the model types structurally; the assignments below are the compile-time
 * check that the two have not drifted apart.
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
    ...(n.rootInputs ? { rootInputs: [...n.rootInputs] } : {}),
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

export function toComparisonData(
  report: CompareReport, title: string, detailAvailable: boolean, restoreKey: string, tree?: ModuleNode,
): ComparisonData {
  const variant = reportVariant(report);
  const tolerance = report.tolerance.mode === 'scaled-max' ? report.tolerance.tol : report.tolerance.atol;
  return {
    title,
    variant,
    reference: report.reference,
    candidate: report.candidate,
    input: report.input,
    provider: report.provider,
    tolerance,
    tree: toViewModule(tree ?? moduleTreeOf(variant)),
    layers: report.layers,
    firstDivergence: report.firstDivergence,
    uncovered: report.uncovered,
    notes: report.notes ?? [],
    diagnosis: report.diagnosis,
    timingsMs: report.timingsMs,
    detailAvailable,
    restoreKey,
  };
}
