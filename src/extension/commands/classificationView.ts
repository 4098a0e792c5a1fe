import * as path from 'path';
import * as vscode from 'vscode';
import { assertNever, type ReplyBody } from '../../shared/channel';
import {
  checkClassification, classificationProtocol, type ClassificationData, type ClassificationProtocol, type ClassificationRequest,
} from '../../shared/classificationProtocol';
import { Disposable } from '../disposable';
import type { Log } from '../log';
import { WebviewChannel } from '../webviewChannel';
import { webviewHtml, webviewOptions } from '../webviewHtml';

/**
 * Classify Image's result, rendered: a small read-only webview showing the image and, beside it,
 * the top-5 as a table with probability bars, then the checkpoint, preprocessing preset, provider
 * and timings. The image travels as a thumbnail in the data (the page reads nothing of the file
 * system), and the page is the only webview the command opens: VS Code in the browser can leave
 * one of two webviews that load at the same moment blank (they share one service worker scope).
 * Run from the image preview's title bar, the result opens beside the preview.
 * One panel per image: classifying the same image again (another checkpoint, preset or provider)
 * replaces its content rather than opening a second tab. The page keeps its result in its state,
 * so a reloaded window shows it again (the serializer checks that state before using it).
 */
export class ClassificationViews extends Disposable {
  static readonly viewType = 'dlaLens.classification';
  private readonly panels = new Map<string, ClassificationPanel>();
  /** The data last answered to a page's Ready or pushed to a live page: for tests, proof that the page got it. */
  lastServed: ClassificationData | undefined;

  constructor(private readonly extensionUri: vscode.Uri, private readonly log: Log) {
    super();
    this._register({ dispose: () => { for (const p of [...this.panels.values()]) p.dispose(); } });
    this._register(vscode.window.registerWebviewPanelSerializer(ClassificationViews.viewType, {
      deserializeWebviewPanel: async (panel: vscode.WebviewPanel, state: unknown) => {
        try {
          const data = checkClassification((state as { classification?: unknown } | undefined)?.classification, 'the restored classification');
          this.adopt(panel, data);
        } catch (err) {
          log.error('Could not restore a classification result', err);
          panel.dispose();
        }
      },
    }));
  }

  show(data: ClassificationData): ClassificationPanel {
    const existing = this.panels.get(data.image);
    if (existing) {
      existing.update(data);
      return existing;
    }
    // Beside the image when it is what the user is looking at; in the active group otherwise.
    const tab = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
    const onImage = tab instanceof vscode.TabInputCustom && tab.uri.scheme === 'file' && tab.uri.fsPath === data.image;
    const panel = vscode.window.createWebviewPanel(
      ClassificationViews.viewType, titleOf(data.image),
      { viewColumn: onImage ? vscode.ViewColumn.Beside : vscode.ViewColumn.Active, preserveFocus: false },
      webviewOptions(this.extensionUri),
    );
    return this.adopt(panel, data);
  }

  private adopt(panel: vscode.WebviewPanel, data: ClassificationData): ClassificationPanel {
    const p = new ClassificationPanel(panel, this.extensionUri, this.log, data, (served) => (this.lastServed = served));
    this.panels.set(data.image, p);
    p.onDispose(() => this.panels.delete(data.image));
    return p;
  }
}

export class ClassificationPanel extends Disposable {
  private readonly channel: WebviewChannel<ClassificationProtocol>;
  private readonly disposeListeners: (() => void)[] = [];

  constructor(
    private readonly panel: vscode.WebviewPanel,
    extensionUri: vscode.Uri,
    log: Log,
    private data: ClassificationData,
    private readonly served: (d: ClassificationData) => void,
  ) {
    super();
    panel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'dla.svg');
    panel.webview.options = webviewOptions(extensionUri);
    this.channel = this._register(new WebviewChannel(panel.webview, classificationProtocol, this, log));
    panel.webview.html = webviewHtml(panel.webview, extensionUri, 'classification', panel.title);
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
    void this.channel.post({ type: 'classificationChanged', data }).then((delivered) => {
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

  async request<R extends ClassificationRequest>(req: R): Promise<ReplyBody<ClassificationProtocol, R['type']>> {
    switch (req.type) {
      case 'ready':
        this.served(this.data);
        return { type: 'classificationData', data: this.data } as ReplyBody<ClassificationProtocol, R['type']>;
      default:
        return assertNever(req.type, 'request');
    }
  }

  notify(msg: never): void {
    assertNever(msg, 'notification');
  }
}

export function titleOf(image: string): string {
  return `${path.basename(image)} — top-5`;
}
