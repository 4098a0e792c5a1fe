import * as path from 'path';
import * as vscode from 'vscode';
import type { Classification } from '../classifier';
import { Disposable } from '../disposable';

/**
 * Classification results as read-only Markdown documents under the `dla-lens` scheme: selectable,
 * copyable, searchable, and shown in an ordinary editor beside the image.
 */
export class ClassificationDocuments extends Disposable implements vscode.TextDocumentContentProvider {
  static readonly scheme = 'dla-lens';
  private readonly contents = new Map<string, string>();
  private readonly changed = this._register(new vscode.EventEmitter<vscode.Uri>());
  readonly onDidChange = this.changed.event;

  static register(): ClassificationDocuments {
    const docs = new ClassificationDocuments();
    docs._register(vscode.workspace.registerTextDocumentContentProvider(ClassificationDocuments.scheme, docs));
    return docs;
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.contents.get(uri.toString()) ?? 'This classification result is no longer available; run DLA: Classify Image again.';
  }

  async show(c: Classification): Promise<vscode.TextEditor> {
    const uri = vscode.Uri.from({ scheme: ClassificationDocuments.scheme, path: `/${path.basename(c.image)} — top-5.md` });
    this.contents.set(uri.toString(), render(c));
    this.changed.fire(uri);
    const doc = await vscode.workspace.openTextDocument(uri);
    await vscode.languages.setTextDocumentLanguage(doc, 'markdown');
    return vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.Beside, preview: true, preserveFocus: false });
  }
}

function render(c: Classification): string {
  const ms = (x: number) => `${x.toFixed(0)} ms`;
  const rows = c.top.map((p, i) => `| ${i + 1} | ${p.label} | ${(p.prob * 100).toFixed(2)} % | ${p.index} (${p.wnid}) |`);
  return [
    `# ${path.basename(c.image)}: ${c.top[0]?.label ?? '?'}`,
    '',
    '| # | class | probability | index (wnid) |',
    '|---|---|---:|---|',
    ...rows,
    '',
    `- checkpoint: ${c.checkpoint} (${c.variant})`,
    `- preprocessing: ${c.preset}: ${c.presetDescription}`,
    `- provider: ${c.providerDetail}`,
    `- time: ${ms(c.timingsMs.preprocess)} preprocessing, ${ms(c.timingsMs.inference)} inference` +
      (c.timingsMs.load > 1 ? `, ${ms(c.timingsMs.load)} loading the model` : ' (model already loaded)'),
    '',
  ].join('\n');
}
