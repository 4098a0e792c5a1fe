import type { CompareReport, DiffMetrics, LayerResult, TensorStats } from '../../../src/model/compare/types';
import { buildModuleTree } from '../../../src/model/dla/moduleTree';
import { recordOrder } from '../../../src/model/dla/onnxGraph';
import { variantByName } from '../../../src/model/dla/variants';
import type { ComparisonData } from '../../../src/shared/comparisonProtocol';
import { toComparisonData } from '../../../src/model/compare/viewModel';

/**
 * A dla60 comparison with every record of timm's hook order, numbers made up but shaped like a
 * BatchNorm-epsilon mistake from `firstBad` on: everything before passes (scaled error 1e-6), the
 * record `firstBad` and every later one fails (2e-3, growing). Blocks carry a local error.
 */
export const TREE = buildModuleTree(variantByName('dla60')!);
export const RECORDS = recordOrder(TREE);

const stats: TensorStats = { shape: [1, 8, 4, 4], mean: 0, std: 1, min: -3, max: 3, absMax: 3, nan: 0, inf: 0 };
export function diff(scaled: number, tol = 1e-3): DiffMetrics {
  return { maxAbs: 3 * scaled, meanAbs: scaled / 3, relL2: scaled / 2, cosine: 1 - scaled / 10, bound: 3 * tol, scaledMaxAbs: scaled, pass: scaled <= tol };
}

export function report(firstBad = 'level3.tree1.project.1'): CompareReport {
  const start = RECORDS.indexOf(firstBad);
  if (start < 0) throw new Error(`no record ${firstBad}`);
  const layers: LayerResult[] = RECORDS.map((name, i) => {
    const scaled = i < start ? 1e-6 : 2e-3 * (1 + (i - start) / 10);
    const isBlock = /\.tree[12]$/.test(name) && i >= start;
    return { name, reference: stats, candidate: stats, diff: diff(scaled), ...(isBlock ? { local: diff(1e-7) } : {}) };
  });
  return {
    version: 1,
    reference: { file: '/r/dla60.pth', format: 'pth', kind: 'checkpoint', variant: 'dla60' },
    candidate: { file: '/c/acts.npz', format: 'npz', kind: 'dump', variant: 'dla60' },
    input: { source: 'seeded', shape: [1, 3, 64, 64] },
    provider: 'cpu',
    tolerance: { mode: 'scaled-max', tol: 1e-3 },
    weights: null,
    layers,
    firstDivergence: firstBad,
    uncovered: [],
    unmatched: { onlyReference: [], onlyCandidate: [], shapeMismatch: [] },
    diagnosis: [{ cause: 'bn-eps', at: firstBad, residual: 1e-7, explanation: 'BatchNorm epsilon 1e-3' }],
    timingsMs: { diff: 3 },
  };
}

export function comparisonData(firstBad?: string): ComparisonData {
  return toComparisonData(report(firstBad), 'test', true, 'key');
}
