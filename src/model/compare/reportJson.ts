import { nonFiniteReplacer, nonFiniteReviver } from '../../shared/nonFinite';
import type { CompareReport, LayerResult } from './types';

/**
 * The report as JSON, the one form the CLI (`--json`, `--out`) and the extension (Export/Open
 * Report) write and read. Two choices:
 * - each layer also carries its headline figures at the top level (name, maxAbs, meanAbs, relL2,
 *   cosine, maxRef, pass, local; `worstImage` on many inputs), so a CI script reads
 *   `layers[i].maxAbs` without knowing our nesting; the nested `diff`, `reference`, `candidate`
 *   and `batch` (every image's own figures) keep the rest;
 * - JSON has no NaN or Infinity, yet a NaN in a layer is exactly what a report must keep, so
 *   non-finite numbers are written as the strings "NaN", "Infinity", "-Infinity".
 */
function flatLayer(l: LayerResult): Record<string, unknown> {
  const { name, reference, candidate, diff, local } = l;
  return {
    name,
    maxAbs: diff.maxAbs, meanAbs: diff.meanAbs, relL2: diff.relL2, cosine: diff.cosine,
    maxRef: reference.absMax, scaledMaxAbs: diff.scaledMaxAbs, pass: diff.pass,
    ...(local ? { localScaledMaxAbs: local.scaledMaxAbs, localPass: local.pass } : {}),
    ...(l.batch ? { worstImage: l.batch.worst } : {}),
    reference, candidate, diff, ...(local ? { local } : {}), ...(l.batch ? { batch: l.batch } : {}),
  };
}

export function reportToJson(report: CompareReport): string {
  return JSON.stringify({ ...report, layers: report.layers.map(flatLayer) }, nonFiniteReplacer, 2);
}

export function reportFromJson(text: string, file: string): CompareReport {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text, nonFiniteReviver);
  } catch (err) {
    throw new Error(`${file} is not valid JSON (${(err as Error).message}); a DLA Lens report is the JSON that \`dla-lens compare --json\` or DLA: Export Report writes.`);
  }
  const r = parsed as Partial<CompareReport> | null;
  if (!r || typeof r !== 'object' || r.version !== 1 || !Array.isArray(r.layers) || !r.reference || !r.candidate) {
    throw new Error(`${file} is not a DLA Lens comparison report (expected "version": 1 with "reference", "candidate" and "layers").`);
  }
  return r as CompareReport;
}
