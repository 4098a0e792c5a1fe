import type { ViewDiffMetrics, ViewLayer } from '../../shared/comparisonProtocol';

/**
 * The error metrics a node can be coloured by. All are "bigger is worse" and positive, so one log
 * colour scale serves every metric; cosine similarity is shown as 1 - cosine for that reason.
 */
export type MetricId = 'scaledMaxAbs' | 'maxAbs' | 'meanAbs' | 'relL2' | 'cosineDistance' | 'localScaledMaxAbs';

export const METRICS: readonly { readonly id: MetricId; readonly label: string; readonly help: string }[] = [
  { id: 'scaledMaxAbs', label: 'max|a−b| / max(1, max|ref|)', help: 'What the tolerance applies to; comparable across layers.' },
  { id: 'maxAbs', label: 'max |a−b|', help: 'Largest absolute difference.' },
  { id: 'meanAbs', label: 'mean |a−b|', help: 'Average absolute difference.' },
  { id: 'relL2', label: 'relative L2', help: '‖a−b‖ / ‖ref‖.' },
  { id: 'cosineDistance', label: '1 − cosine', help: 'Direction disagreement of the flattened tensors.' },
  { id: 'localScaledMaxAbs', label: 'local error (block alone)', help: 'Error the module adds by itself, re-run on the candidate\'s own inputs.' },
];

export function isMetric(x: unknown): x is MetricId {
  return METRICS.some((m) => m.id === x);
}

function fromDiff(d: ViewDiffMetrics, metric: Exclude<MetricId, 'localScaledMaxAbs'>): number {
  switch (metric) {
    case 'scaledMaxAbs': return d.scaledMaxAbs;
    case 'maxAbs': return d.maxAbs;
    case 'meanAbs': return d.meanAbs;
    case 'relL2': return d.relL2;
    case 'cosineDistance': return 1 - d.cosine;
  }
}

/** The metric's value for a layer; undefined where it does not apply (no local error recorded). */
export function metricValue(layer: ViewLayer, metric: MetricId): number | undefined {
  if (metric === 'localScaledMaxAbs') return layer.local?.scaledMaxAbs;
  return fromDiff(layer.diff, metric);
}

/** Record key -> module path: drops the `#k` call suffix of shared modules (`relu#2`). */
export function moduleOfRecord(key: string): string {
  const hash = key.indexOf('#');
  return hash < 0 ? key : key.slice(0, hash);
}
