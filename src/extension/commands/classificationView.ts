import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { thumbnail, type Thumbnail } from '../../model/run/thumbnail';
import { MessageType, assertNever, type ClassificationData, type FromWebviewMessage, type FromWebviewRequest } from '../../shared/protocol';
import type { Classification } from '../classifier';
import { Disposable } from '../disposable';
import type { Log } from '../log';
import { WebviewChannel, type ReplyBody } from '../webviewChannel';
import { webviewHtml, webviewOptions } from '../webviewHtml';

/**
 * Classify Image's result, rendered: a small read-only webview showing the image and, beside it,
 * the top-5 as a table with probability bars, then the checkpoint, preprocessing preset, provider
 * and timings. The image travels as a thumbnail in the data (the page reads nothing of the file
 * system), and the page is the only webview the command opens: VS Code in the browser can leave
 * one of two webviews that load at the same moment blank (they share one service worker scope).
 * Run from the image preview's title bar, the result opens beside the preview.
 * One panel per image: classifying the same image again (another checkpoint, preset or provider)
 * replaces its content rather than opening a second tab.
 */
export class ClassificationViews extends Disposable {
  static readonly viewType = 'dlaLens.classification';
  private readonly panels = new Map<string, ClassificationPanel>();
  /** The data last answered to a page's Ready or pushed to a live page: for tests, proof that the page got it. */
  lastServed: ClassificationData | undefined;

  constructor(private readonly extensionUri: vscode.Uri, private readonly log: Log) {
    super();
    this._register({ dispose: () => { for (const p of [...this.panels.values()]) p.dispose(); } });
  }

  async show(c: Classification): Promise<ClassificationPanel> {
    let thumb: Thumbnail | null = null;
    try {
      thumb = await thumbnail(fs.readFileSync(c.image));
    } catch (err) {
      this.log.error(`No thumbnail of ${c.image}; the result is shown without the image`, err);
    }
    const data = toClassificationData(c, thumb);
    const existing = this.panels.get(c.image);
    if (existing) {
      existing.update(data);
      return existing;
    }
    // Beside the image when it is what the user is looking at; in the active group otherwise.
    const tab = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
    const onImage = tab instanceof vscode.TabInputCustom && tab.uri.scheme === 'file' && tab.uri.fsPath === c.image;
    const panel = vscode.window.createWebviewPanel(
      ClassificationViews.viewType, titleOf(c.image),
      { viewColumn: onImage ? vscode.ViewColumn.Beside : vscode.ViewColumn.Active, preserveFocus: false },
      webviewOptions(this.extensionUri),
    );
    const p = new ClassificationPanel(panel, this.extensionUri, this.log, data, (served) => (this.lastServed = served));
    this.panels.set(c.image, p);
    p.onDispose(() => this.panels.delete(c.image));
    return p;
  }
}

export class ClassificationPanel extends Disposable {
  private readonly channel: WebviewChannel;
  private readonly disposeListeners: (() => void)[] = [];

  constructor(
    private readonly panel: vscode.WebviewPanel,
    private readonly extensionUri: vscode.Uri,
    log: Log,
    private data: ClassificationData,
    private readonly served: (d: ClassificationData) => void,
  ) {
    super();
    panel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'dla.svg');
    this.channel = this._register(new WebviewChannel(panel.webview, this, log));
    this.render();
    this._register(panel.onDidDispose(() => this.dispose()));
  }

  get title(): string {
    return this.panel.title;
  }

  get viewColumn(): vscode.ViewColumn | undefined {
    return this.panel.viewColumn;
  }

  /**
   * A new result for the same image. A loaded page gets it pushed; a page still loading (or
   * hidden, hence discarded) asks with Ready and is answered with it: no result is lost either way.
   */
  update(data: ClassificationData): void {
    this.data = data;
    this.panel.reveal(this.panel.viewColumn, false);
    void this.channel.post({ type: MessageType.ClassificationChanged, data }).then((delivered) => {
      if (delivered && this.data === data) this.served(data);
    });
  }

  onDispose(f: () => void): void {
    this.disposeListeners.push(f);
  }

  override dispose(): void {
    for (const f of this.disposeListeners.splice(0)) f();
    super.dispose();
    this.panel.dispose();
  }

  async request<R extends FromWebviewRequest>(req: R): Promise<ReplyBody<R>> {
    return (await this.answer(req)) as ReplyBody<R>;
  }

  notify(_msg: Exclude<FromWebviewMessage, FromWebviewRequest>): void {
    // The result page reports no render timings worth logging.
  }

  private render(): void {
    this.panel.webview.html = webviewHtml(this.panel.webview, this.extensionUri, 'classification', this.panel.title);
  }

  private async answer(req: FromWebviewRequest): Promise<ReplyBody<FromWebviewRequest>> {
    switch (req.type) {
      case MessageType.Ready:
        this.served(this.data);
        return { type: MessageType.ClassificationData, data: this.data };
      case MessageType.GetLayerDetail:
      case MessageType.GetTensorStats:
      case MessageType.ExportReport:
        throw new Error(`The classification result has no comparison or checkpoint; '${req.type}' does not apply to it.`);
      default:
        return assertNever(req, 'request');
    }
  }
}

export function titleOf(image: string): string {
  return `${path.basename(image)} — top-5`;
}

export function toClassificationData(c: Classification, thumb: Thumbnail | null): ClassificationData {
  return {
    image: c.image, thumbnail: thumb, checkpoint: c.checkpoint, variant: c.variant, preset: c.preset, presetDescription: c.presetDescription,
    provider: c.provider, providerDetail: c.providerDetail,
    top: c.top.map((p) => ({ index: p.index, wnid: p.wnid, label: p.label, prob: p.prob })),
    timingsMs: { ...c.timingsMs },
  };
}
