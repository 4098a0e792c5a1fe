import * as fs from 'fs';
import { reportFromJson, reportToJson } from '../../model/compare/reportJson';
import type { CompareReport } from '../../model/compare/types';

export { reportFromJson, reportToJson };

export function readReport(file: string): CompareReport {
  return reportFromJson(fs.readFileSync(file, 'utf8'), file);
}

export function writeReport(file: string, report: CompareReport): void {
  fs.writeFileSync(file, reportToJson(report));
}
