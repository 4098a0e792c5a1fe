import * as path from 'path';
import * as vscode from 'vscode';
import { assertNever, type ReplyBody } from '../../shared/channel';
import {
  checkPreprocessing, preprocessingProtocol, type PreprocessingData, type PreprocessingProtocol, type PreprocessingRequest,
} from '../../shared/preprocessingProtocol';
import { Disposable } from '../disposable';
import type { Log } from '../log';
import { WebviewChannel } from '../webviewChannel';
import { webviewHtml, webviewOptions } from '../webviewHtml';

/**
 * Compare Preprocessing's view: a read-only webview with the two crops, the heat map of their
 * difference, the statistics and, with a model, both top-5s, all as the engine computed them (the
 * pictures travel as PNG data: URIs, so the page reads nothing of the file system). One panel per
 * image: comparing the same image again (other presets, another checkpoint) replaces its content.
 * Run from the image preview's title bar, it opens beside the preview. The page keeps its data in
 * its state, so a reloaded window shows it again (the serializer checks that state first).
 */
export class PreprocessingViews extends Disposable {
  static readonly viewType = 'dlaLens.preprocessing';
  private readonly panels = new Map<string, PreprocessingPanel>();
  /** The data last answered to a page's Ready or pushed to a live page: for tests, proof that the page got it. */
  lastServed: PreprocessingData | undefined;

  constructor(private readonly extensionUri: vscode.Uri, private readonly log: Log) {
    super();
    this._register({ dispose: () => { for (const p of [...this.panels.values()]) p.dispose(); } });
    this._register(vscode.window.registerWebviewPanelSerializer(PreprocessingViews.viewType, {
      deserializeWebviewPanel: async (panel: vscode.WebviewPanel, state: unknown) => {
        try {
          const data = checkPreprocessing((state as { preprocessing?: unknown } | undefined)?.preprocessing, 'the restored preprocessing comparison');
          this.adopt(panel, data);
        } catch (err) {
          log.error('Could not restore a preprocessing comparison', err);
          panel.dispose();
        }
      },
    }));
  }

  show(data: PreprocessingData): PreprocessingPanel {
    const existing = this.panels.get(data.image);
    if (existing) {
      existing.update(data);
      return existing;
    }
    // Beside the image when it is what the user is looking at; in the active group otherwise.
    const tab = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
    const onImage = tab instanceof vscode.TabInputCustom && tab.uri.scheme === 'file' && tab.uri.fsPath === data.image;
    const panel = vscode.window.createWebviewPanel(
      PreprocessingViews.viewType, titleOf(data),
      { viewColumn: onImage ? vscode.ViewColumn.Beside : vscode.ViewColumn.Active, preserveFocus: false },
      webviewOptions(this.extensionUri),
    );
    return this.adopt(panel, data);
  }

  private adopt(panel: vscode.WebviewPanel, data: PreprocessingData): PreprocessingPanel {
    const p = new PreprocessingPanel(panel, this.extensionUri, this.log, data, (served) => (this.lastServed = served));
    this.panels.set(data.image, p);
    p.onDispose(() => this.panels.delete(data.image));
    return p;
  }
}

export class PreprocessingPanel extends Disposable {
  private readonly channel: WebviewChannel<PreprocessingProtocol>;
  private readonly disposeListeners: (() => void)[] = [];

  constructor(
    private readonly panel: vscode.WebviewPanel,
    extensionUri: vscode.Uri,
    log: Log,
    private data: PreprocessingData,
    private readonly served: (d: PreprocessingData) => void,
  ) {
    super();
    panel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'dla.svg');
    panel.title = titleOf(data);
    panel.webview.options = webviewOptions(extensionUri);
    this.channel = this._register(new WebviewChannel(panel.webview, preprocessingProtocol, this, log));
    panel.webview.html = webviewHtml(panel.webview, extensionUri, 'preprocessing', panel.title);
    this._register(panel.onDidDispose(() => this.dispose()));
  }

  /**
   * A new comparison of the same image. A loaded page gets it pushed; a page still loading (or
   * hidden, hence discarded) asks with Ready and is answered with it: none is lost either way.
   */
  update(data: PreprocessingData): void {
    this.data = data;
    this.panel.title = titleOf(data);
    this.panel.reveal(this.panel.viewColumn, false);
    void this.channel.post({ type: 'preprocessingChanged', data }).then((delivered) => {
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

  async request<R extends PreprocessingRequest>(req: R): Promise<ReplyBody<PreprocessingProtocol, R['type']>> {
    switch (req.type) {
      case 'ready':
        this.served(this.data);
        return { type: 'preprocessingData', data: this.data } as ReplyBody<PreprocessingProtocol, R['type']>;
      default:
        return assertNever(req.type, 'request');
    }
  }

  notify(msg: never): void {
    assertNever(msg, 'notification');
  }
}

export function titleOf(d: PreprocessingData): string {
  return `${path.basename(d.image)} — ${d.a.label} vs ${d.b.label}`;
}
