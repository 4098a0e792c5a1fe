import * as path from 'path';
import * as vscode from 'vscode';
import { assertNever, type ReplyBody } from '../../shared/channel';
import { checkpointProtocol, type CheckpointProtocol, type CheckpointRequest } from '../../shared/checkpointProtocol';
import * as config from '../config';
import { Disposable } from '../disposable';
import type { EngineHost } from '../engineHost';
import type { Log } from '../log';
import { fileOf } from '../commands/pickFile';
import { WebviewChannel } from '../webviewChannel';
import { webviewHtml, webviewOptions } from '../webviewHtml';

/** A checkpoint file opened read-only; what it holds is read by the engine. */
class CheckpointDocument implements vscode.CustomDocument {
  constructor(readonly uri: vscode.Uri, private readonly engine: EngineHost) {}

  get file(): string {
    return fileOf(this.uri);
  }

  dispose(): void {
    // The engine keeps the tensors read for hover stats until the document closes.
    if (this.uri.scheme === 'file') this.engine.release('releaseCheckpoint', { file: this.uri.fsPath });
  }
}

/**
 * The read-only "DLA Checkpoint" editor (priority "option": offered by Open With…, never forced on
 * a .pth): format, detected variant and why, parameter count, the module tree, every tensor's
 * shape with stats computed on hover, and missing/unexpected keys. The engine reads the file.
 */
export class CheckpointEditorProvider implements vscode.CustomReadonlyEditorProvider<CheckpointDocument> {
  static readonly viewType = 'dlaLens.checkpointEditor';

  static register(context: vscode.ExtensionContext, engine: EngineHost, log: Log): vscode.Disposable {
    return vscode.window.registerCustomEditorProvider(
      CheckpointEditorProvider.viewType,
      new CheckpointEditorProvider(context.extensionUri, engine, log),
      { supportsMultipleEditorsPerDocument: true },
    );
  }

  private constructor(private readonly extensionUri: vscode.Uri, private readonly engine: EngineHost, private readonly log: Log) {}

  openCustomDocument(uri: vscode.Uri): CheckpointDocument {
    return new CheckpointDocument(uri, this.engine);
  }

  resolveCustomEditor(document: CheckpointDocument, panel: vscode.WebviewPanel): void {
    panel.webview.options = webviewOptions(this.extensionUri);
    panel.webview.html = webviewHtml(panel.webview, this.extensionUri, 'checkpoint', path.basename(document.uri.path));
    const editor = new CheckpointEditor(document, panel.webview, this.engine, this.log);
    panel.onDidDispose(() => editor.dispose());
  }
}

class CheckpointEditor extends Disposable {
  constructor(private readonly document: CheckpointDocument, webview: vscode.Webview, private readonly engine: EngineHost, private readonly log: Log) {
    super();
    this._register(new WebviewChannel(webview, checkpointProtocol, this, log));
  }

  async request<R extends CheckpointRequest>(req: R): Promise<ReplyBody<CheckpointProtocol, R['type']>> {
    return (await this.answer(req)) as ReplyBody<CheckpointProtocol, R['type']>;
  }

  notify(msg: never): void {
    assertNever(msg, 'notification');
  }

  private async answer(req: CheckpointRequest): Promise<ReplyBody<CheckpointProtocol, CheckpointRequest['type']>> {
    switch (req.type) {
      case 'ready': {
        const file = this.document.file;
        const data = await this.log.time(`Inspect ${file}`, () => this.engine.call('inspectCheckpoint', { file, weightsKey: config.weightsKey() }));
        return { type: 'checkpointData', data };
      }
      case 'getTensorStats':
        return { type: 'tensorStats', name: req.name, stats: await this.engine.call('tensorStats', { file: this.document.file, name: req.name, weightsKey: config.weightsKey() }) };
      default:
        return assertNever(req, 'request');
    }
  }
}
