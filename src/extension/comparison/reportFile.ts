import * as fs from 'fs';
import type { CompareReport } from '../../model/compare/types';
import { nonFiniteReplacer, nonFiniteReviver } from '../../shared/nonFinite';

/**
 * Reports as JSON files. JSON has no NaN or Infinity, yet a NaN in a layer is exactly what a report
 * must keep, so non-finite numbers are written as the strings "NaN", "Infinity", "-Infinity".
 */
export function reportToJson(report: CompareReport): string {
  return JSON.stringify(report, nonFiniteReplacer, 2);
}

export function reportFromJson(text: string, file: string): CompareReport {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text, nonFiniteReviver);
  } catch (err) {
    throw new Error(`${file} is not valid JSON (${(err as Error).message}); a DLA Lens report is the JSON that DLA: Export Report writes.`);
  }
  const r = parsed as Partial<CompareReport> | null;
  if (!r || typeof r !== 'object' || r.version !== 1 || !Array.isArray(r.layers) || !r.reference || !r.candidate) {
    throw new Error(`${file} is not a DLA Lens comparison report (expected "version": 1 with "reference", "candidate" and "layers").`);
  }
  return r as CompareReport;
}

export function readReport(file: string): CompareReport {
  return reportFromJson(fs.readFileSync(file, 'utf8'), file);
}

export function writeReport(file: string, report: CompareReport): void {
  fs.writeFileSync(file, reportToJson(report));
}
