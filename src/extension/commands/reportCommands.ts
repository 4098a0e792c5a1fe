import * as path from 'path';
import * as vscode from 'vscode';
import { ComparisonPanel, exportReport, type PanelDeps } from '../comparison/comparisonPanel';
import * as config from '../config';
import type { EngineHost } from '../engineHost';
import { fileOf, pickFile } from './pickFile';

/** DLA: Export Report: the comparison shown last, as JSON or as a self-contained HTML page. */
export async function exportActiveReport(engine: EngineHost, arg?: unknown): Promise<string | undefined> {
  const panel = ComparisonPanel.active;
  if (!panel) {
    throw new Error('There is no comparison to export: run DLA: Compare Checkpoints (or DLA: Open Report) first.');
  }
  const target = arg instanceof vscode.Uri ? arg : undefined;
  const format = target
    ? (target.path.endsWith('.html') ? 'html' : 'json')
    : (await vscode.window.showQuickPick(
      [{ label: 'JSON', description: 'the report, reopenable with DLA: Open Report', value: 'json' as const },
        { label: 'HTML', description: 'a self-contained page: the tree, the worst layers, the diagnosis', value: 'html' as const }],
      { title: 'DLA: Export Report', placeHolder: 'Format' }))?.value;
  if (!format) return undefined;
  const saved = await exportReport(engine, panel.report, format, target);
  if (saved && !target) void vscode.window.showInformationMessage(`DLA: report saved to ${saved}.`);
  return saved;
}

/** DLA: Open Report: a report JSON written by Export Report, shown in the comparison view. */
export async function openReport(deps: PanelDeps, arg?: unknown): Promise<ComparisonPanel | undefined> {
  let file: string | undefined;
  if (arg instanceof vscode.Uri) file = fileOf(arg);
  else {
    const picked = await pickFile({ title: 'DLA: Open Report', placeHolder: 'A report JSON written by DLA: Export Report', extensions: ['json'], filterName: 'DLA Lens report' });
    file = picked instanceof vscode.Uri ? fileOf(picked) : picked;
  }
  if (!file) return undefined;
  const report = file;
  const result = await deps.log.time(`Open report ${file}`, () => deps.engine.call('openReport', { file: report, provider: config.executionProvider() }));
  if (result.detailUnavailable) deps.log.info(`${file}: ${result.detailUnavailable}`);
  return ComparisonPanel.show(deps, { result, title: `DLA: ${path.basename(file)}`, reportFile: file });
}
