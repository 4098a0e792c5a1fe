import * as vscode from 'vscode';
import { assertNever, type AnyProtocol, type PushOf, type ReplyBody, type RequestOf } from '../shared/channel';
import { Disposable } from './disposable';
import type { Log } from './log';
import { WebviewChannel } from './webviewChannel';
import { webviewHtml, webviewOptions, type WebviewPage } from './webviewHtml';

/**
 * What the result pages (Classify Image, Compare Preprocessing, Evaluate) have in common, once: a
 * read-only webview per result, the result pushed to a live page or answered to a page's Ready
 * (none is lost while a page loads), one panel per key (classifying the same image again replaces
 * its content), and the page keeping its result in its state so that a reloaded window shows it
 * again (under its protocol's page name, src/webview/resultPage.ts), the serializer checking that
 * state before using it.
 */
export interface ResultPageSpec<P extends AnyProtocol, D> {
  readonly viewType: string;
  readonly page: WebviewPage;
  readonly protocol: P;
  /** Words for the log ("a classification result"). */
  readonly what: string;
  /** The protocol's checks of a result (a restored state is a page's word, not the host's). */
  check(v: unknown, where: string): D;
  /** One panel per key. */
  key(d: D): string;
  title(d: D): string;
  /** The file the result is about: the panel opens beside it when it is the active tab. */
  file?(d: D): string;
  ready(d: D): ReplyBody<P, 'ready'>;
  push(d: D): PushOf<P>;
  /** Requests other than Ready. */
  request?(req: RequestOf<P>, d: D): Promise<ReplyBody<P, RequestOf<P>['type']>>;
}

export class ResultViews<P extends AnyProtocol, D> extends Disposable {
  private readonly panels = new Map<string, ResultPanel<P, D>>();
  /** The result last answered to a page's Ready or pushed to a live page: for tests, proof that the page got it. */
  lastServed: D | undefined;

  constructor(private readonly spec: ResultPageSpec<P, D>, private readonly extensionUri: vscode.Uri, private readonly log: Log) {
    super();
    this._register({ dispose: () => { for (const p of [...this.panels.values()]) p.dispose(); } });
    this._register(vscode.window.registerWebviewPanelSerializer(spec.viewType, {
      deserializeWebviewPanel: async (panel: vscode.WebviewPanel, state: unknown) => {
        try {
          this.adopt(panel, spec.check((state as Record<string, unknown> | undefined)?.[spec.protocol.page], `the restored ${spec.what}`));
        } catch (err) {
          log.error(`Could not restore ${spec.what}`, err);
          panel.dispose();
        }
      },
    }));
  }

  show(data: D): ResultPanel<P, D> {
    const existing = this.panels.get(this.spec.key(data));
    if (existing) {
      existing.update(data);
      return existing;
    }
    // Beside the file when it is what the user is looking at; in the active group otherwise.
    const tab = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
    const file = this.spec.file?.(data);
    const onFile = file !== undefined && tab instanceof vscode.TabInputCustom && tab.uri.scheme === 'file' && tab.uri.fsPath === file;
    const panel = vscode.window.createWebviewPanel(
      this.spec.viewType, this.spec.title(data),
      { viewColumn: onFile ? vscode.ViewColumn.Beside : vscode.ViewColumn.Active, preserveFocus: false },
      webviewOptions(this.extensionUri),
    );
    return this.adopt(panel, data);
  }

  private adopt(panel: vscode.WebviewPanel, data: D): ResultPanel<P, D> {
    const key = this.spec.key(data);
    const p = new ResultPanel(this.spec, panel, this.extensionUri, this.log, data, (served) => (this.lastServed = served));
    this.panels.set(key, p);
    p.onDispose(() => this.panels.delete(key));
    return p;
  }
}

export class ResultPanel<P extends AnyProtocol, D> extends Disposable {
  private readonly channel: WebviewChannel<P>;
  private readonly disposeListeners: (() => void)[] = [];

  constructor(
    private readonly spec: ResultPageSpec<P, D>,
    private readonly panel: vscode.WebviewPanel,
    extensionUri: vscode.Uri,
    log: Log,
    private data: D,
    private readonly served: (d: D) => void,
  ) {
    super();
    panel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'dla.svg');
    panel.title = spec.title(data);
    panel.webview.options = webviewOptions(extensionUri);
    this.channel = this._register(new WebviewChannel(panel.webview, spec.protocol, this, log));
    panel.webview.html = webviewHtml(panel.webview, extensionUri, spec.page, panel.title);
    this._register(panel.onDidDispose(() => this.dispose()));
  }

  get title(): string {
    return this.panel.title;
  }

  get viewColumn(): vscode.ViewColumn | undefined {
    return this.panel.viewColumn;
  }

  /** A new result for the same key: pushed to a loaded page; a page still loading asks with Ready and gets it. */
  update(data: D): void {
    this.data = data;
    this.panel.title = this.spec.title(data);
    this.panel.reveal(this.panel.viewColumn, false);
    void this.channel.post(this.spec.push(data)).then((delivered) => {
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

  async request<R extends RequestOf<P>>(req: R): Promise<ReplyBody<P, R['type']>> {
    if (req.type === 'ready') {
      this.served(this.data);
      return this.spec.ready(this.data) as ReplyBody<P, R['type']>;
    }
    if (!this.spec.request) return assertNever(req.type as never, 'request');
    return (await this.spec.request(req, this.data)) as ReplyBody<P, R['type']>;
  }

  notify(msg: never): void {
    assertNever(msg, 'notification');
  }
}
