import * as path from 'path';
import * as vscode from 'vscode';
import { tensorStats } from '../../model/compare/metrics';
import { buildModuleTree } from '../../model/dla/moduleTree';
import { variantByName } from '../../model/dla/variants';
import { readCheckpoint } from '../../model/formats/registry';
import { inspectCheckpoint, type InspectResult } from '../../model/inspect';
import { toFloat32, type Checkpoint } from '../../model/tensor';
import { MessageType, assertNever, type CheckpointData, type FromWebviewMessage, type FromWebviewRequest } from '../../shared/protocol';
import { Disposable } from '../disposable';
import type { Log } from '../log';
import { toViewModule } from '../../shared/viewModel';
import { WebviewChannel, type ReplyBody } from '../webviewChannel';
import { webviewHtml, webviewOptions } from '../webviewHtml';

/** A checkpoint file opened read-only. Tensors are read only when a hover first asks for stats. */
class CheckpointDocument implements vscode.CustomDocument {
  private checkpoint: Checkpoint | undefined;

  constructor(readonly uri: vscode.Uri) {}

  get file(): string {
    if (this.uri.scheme !== 'file') {
      throw new Error(`DLA Lens reads checkpoints from the file system; '${this.uri.toString()}' is not a file on this machine.`);
    }
    return this.uri.fsPath;
  }

  inspect(): InspectResult {
    return inspectCheckpoint(this.file);
  }

  tensors(): Checkpoint {
    this.checkpoint ??= readCheckpoint(this.file);
    return this.checkpoint;
  }

  dispose(): void {
    this.checkpoint = undefined;
  }
}

/**
 * The read-only "DLA Checkpoint" editor (priority "option": offered by Open With…, never forced on
 * a .pth): format, detected variant and why, parameter count, the module tree, every tensor's
 * shape with stats computed on hover, and missing/unexpected keys.
 */
export class CheckpointEditorProvider implements vscode.CustomReadonlyEditorProvider<CheckpointDocument> {
  static readonly viewType = 'dlaLens.checkpointEditor';

  static register(context: vscode.ExtensionContext, log: Log): vscode.Disposable {
    return vscode.window.registerCustomEditorProvider(
      CheckpointEditorProvider.viewType,
      new CheckpointEditorProvider(context.extensionUri, log),
      { supportsMultipleEditorsPerDocument: true },
    );
  }

  private constructor(private readonly extensionUri: vscode.Uri, private readonly log: Log) {}

  openCustomDocument(uri: vscode.Uri): CheckpointDocument {
    return new CheckpointDocument(uri);
  }

  resolveCustomEditor(document: CheckpointDocument, panel: vscode.WebviewPanel): void {
    panel.webview.options = webviewOptions(this.extensionUri);
    panel.webview.html = webviewHtml(panel.webview, this.extensionUri, 'checkpoint', path.basename(document.uri.path));
    const editor = new CheckpointEditor(document, panel.webview, this.log);
    panel.onDidDispose(() => editor.dispose());
  }
}

class CheckpointEditor extends Disposable {
  constructor(private readonly document: CheckpointDocument, webview: vscode.Webview, private readonly log: Log) {
    super();
    this._register(new WebviewChannel(webview, this, log));
  }

  async request<R extends FromWebviewRequest>(req: R): Promise<ReplyBody<R>> {
    return (await this.answer(req)) as ReplyBody<R>;
  }

  private async answer(req: FromWebviewRequest): Promise<ReplyBody<FromWebviewRequest>> {
    switch (req.type) {
      case MessageType.Ready: {
        const data = await this.log.time(`Inspect ${this.document.uri.fsPath}`, () => this.describe());
        return { type: MessageType.CheckpointData, data };
      }
      case MessageType.GetTensorStats: {
        const t = this.document.tensors().tensors.get(req.name);
        if (!t) throw new Error(`'${req.name}' is not a tensor of ${path.basename(this.document.file)}.`);
        return { type: MessageType.TensorStatsReply, name: req.name, stats: tensorStats(toFloat32(t), t.shape) };
      }
      case MessageType.GetLayerDetail:
      case MessageType.ExportReport:
        throw new Error(`The checkpoint editor has no comparison; '${req.type}' applies to the comparison view.`);
      default:
        return assertNever(req, 'request');
    }
  }

  notify(_msg: Exclude<FromWebviewMessage, FromWebviewRequest>): void {
    // Render timings of this page are not interesting enough to log.
  }

  private describe(): CheckpointData {
    const start = performance.now();
    const r = this.document.inspect();
    const variant = r.variant ? variantByName(r.variant) : undefined;
    return {
      file: r.file,
      format: r.format,
      variant: r.variant,
      variantReason: r.variantReason,
      parameters: r.parameters,
      tensors: r.tensors,
      tree: variant ? toViewModule(buildModuleTree(variant)) : null,
      missing: r.missing,
      unexpected: r.unexpected,
      mismatched: r.mismatched,
      knownUnused: r.knownUnused,
      renamed: r.renamed,
      metadata: r.metadata,
      readMs: performance.now() - start,
    };
  }
}
