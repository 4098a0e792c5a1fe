import * as fs from 'fs';
import * as vscode from 'vscode';
import type { ComparisonResult, CompareReport } from '../../engine/protocol';
import { assertNever, type ReplyBody } from '../../shared/channel';
import {
  comparisonProtocol, type ComparisonData, type ComparisonProtocol, type ComparisonRequest, type RenderedNotification,
} from '../../shared/comparisonProtocol';
import * as config from '../config';
import { Disposable } from '../disposable';
import type { EngineHost } from '../engineHost';
import type { Log } from '../log';
import { WebviewChannel } from '../webviewChannel';
import { webviewHtml, webviewOptions } from '../webviewHtml';

/** A comparison to show: what the engine returned, and where its report is kept for a reload. */
export interface Comparison {
  readonly result: ComparisonResult;
  readonly title: string;
  /** Where the report is (or will be) kept so that a reloaded window can reopen it. */
  readonly reportFile: string;
}

export interface PanelDeps {
  readonly extensionUri: vscode.Uri;
  readonly log: Log;
  readonly engine: EngineHost;
}

interface PanelState {
  readonly restoreKey?: string;
}

/** Renders of the last panel, for the output channel and for tests that read timings. */
export interface RenderTiming {
  readonly what: 'layout' | 'recolour';
  readonly nodes: number;
  readonly ms: number;
}

/**
 * The comparison view: a webview panel per comparison. It shows the engine's result as it is (the
 * report's verdicts, the view the engine made of it) and asks the engine for a record's details by
 * the comparison's handle. Restored after a window reload by the panel serializer: the engine
 * reopens the report file named in the webview's state (no retainContextWhenHidden: the webview
 * keeps its own UI state with setState).
 */
export class ComparisonPanel extends Disposable {
  static readonly viewType = 'dlaLens.comparison';
  private static readonly panels = new Set<ComparisonPanel>();
  private static lastActive: ComparisonPanel | undefined;
  static readonly renders: RenderTiming[] = [];

  static register(deps: PanelDeps): vscode.Disposable {
    return vscode.window.registerWebviewPanelSerializer(ComparisonPanel.viewType, {
      async deserializeWebviewPanel(panel: vscode.WebviewPanel, state: unknown) {
        const key = (state as PanelState | undefined)?.restoreKey;
        try {
          if (!key || !fs.existsSync(key)) throw new Error('its report file is gone');
          const result = await deps.engine.call('openReport', { file: key, provider: config.executionProvider() });
          ComparisonPanel.adopt(panel, deps, { result, title: panel.title, reportFile: key });
        } catch (err) {
          deps.log.error(`Could not restore a comparison view (${key ?? 'no state'})`, err);
          panel.dispose();
        }
      },
    });
  }

  /** The panel the user looked at last (for Export Report from the palette). */
  static get active(): ComparisonPanel | undefined {
    return ComparisonPanel.lastActive && ComparisonPanel.panels.has(ComparisonPanel.lastActive) ? ComparisonPanel.lastActive : undefined;
  }

  static async show(deps: PanelDeps, comparison: Comparison): Promise<ComparisonPanel> {
    if (!fs.existsSync(comparison.reportFile)) {
      await deps.engine.call('writeReport', { report: comparison.result.report, format: 'json', file: comparison.reportFile });
    }
    const panel = vscode.window.createWebviewPanel(ComparisonPanel.viewType, comparison.title, vscode.ViewColumn.Active, webviewOptions(deps.extensionUri));
    return ComparisonPanel.adopt(panel, deps, comparison);
  }

  private static adopt(panel: vscode.WebviewPanel, deps: PanelDeps, comparison: Comparison): ComparisonPanel {
    const p = new ComparisonPanel(panel, deps, comparison);
    ComparisonPanel.panels.add(p);
    ComparisonPanel.lastActive = p;
    return p;
  }

  private readonly channel: WebviewChannel<ComparisonProtocol>;
  private result: ComparisonResult;
  /** The engine process the handle belongs to: a restarted engine knows no old handle. */
  private generation: number;

  private constructor(private readonly panel: vscode.WebviewPanel, private readonly deps: PanelDeps, private readonly comparison: Comparison) {
    super();
    this.result = comparison.result;
    this.generation = deps.engine.client.generation;
    panel.webview.options = webviewOptions(deps.extensionUri);
    panel.webview.html = webviewHtml(panel.webview, deps.extensionUri, 'comparison', comparison.title);
    panel.iconPath = vscode.Uri.joinPath(deps.extensionUri, 'media', 'dla.svg');
    this.channel = this._register(new WebviewChannel(panel.webview, comparisonProtocol, this, deps.log));
    this._register(panel.onDidChangeViewState((e) => {
      if (e.webviewPanel.active) ComparisonPanel.lastActive = this;
    }));
    this._register(panel.onDidDispose(() => this.dispose()));
  }

  get report(): CompareReport {
    return this.result.report;
  }

  /** Messages from the page that were rejected as malformed (tests read it). */
  get rejectedMessages(): number {
    return this.channel.rejected;
  }

  override dispose(): void {
    ComparisonPanel.panels.delete(this);
    const handle = this.result.handle;
    if (handle !== undefined) this.deps.engine.release('releaseComparison', { handle }, this.generation);
    super.dispose();
    this.panel.dispose();
  }

  /** Selects and reveals a module in the tree. */
  reveal(id: string): void {
    this.panel.reveal();
    void this.channel.post({ type: 'revealModule', id });
  }

  notify(msg: RenderedNotification): void {
    switch (msg.type) {
      case 'rendered':
        ComparisonPanel.renders.push({ what: msg.what, nodes: msg.nodes, ms: msg.ms });
        this.deps.log.info(`Comparison view ${msg.what} of ${msg.nodes} nodes: ${msg.ms.toFixed(1)} ms`);
        break;
      default:
        assertNever(msg.type, 'notification');
    }
  }

  async request<R extends ComparisonRequest>(req: R): Promise<ReplyBody<ComparisonProtocol, R['type']>> {
    return (await this.answer(req)) as ReplyBody<ComparisonProtocol, R['type']>;
  }

  private data(): ComparisonData {
    return {
      ...this.result.view, title: this.comparison.title, detailAvailable: this.result.handle !== undefined, restoreKey: this.comparison.reportFile,
    };
  }

  private async answer(req: ComparisonRequest): Promise<ReplyBody<ComparisonProtocol, ComparisonRequest['type']>> {
    switch (req.type) {
      case 'ready':
        return { type: 'comparisonData', data: this.data() };
      case 'getLayerDetail':
        return { type: 'layerDetail', detail: await this.layerDetail(req.layer, req.bins, req.image) };
      case 'exportReport': {
        const saved = await exportReport(this.deps.engine, this.report, req.format);
        return { type: 'done', message: saved ? `Saved ${saved}` : 'Export cancelled.' };
      }
      default:
        return assertNever(req, 'request');
    }
  }

  private async layerDetail(layer: string, bins: number, image?: number) {
    if (this.generation !== this.deps.engine.client.generation) {
      // The engine restarted since: it reopens the comparison from the report file for a new handle.
      this.result = await this.deps.engine.call('openReport', { file: this.comparison.reportFile, provider: config.executionProvider() });
      this.generation = this.deps.engine.client.generation;
    }
    const handle = this.result.handle;
    if (handle === undefined) throw new Error(this.result.detailUnavailable ?? 'This comparison has no records to show.');
    return this.deps.engine.call('layerDetail', { handle, layer, bins, ...(image !== undefined ? { image } : {}) });
  }
}

/**
 * Asks where to save and has the engine write the report: JSON (reopenable with DLA: Open Report)
 * or the self-contained HTML page (the same tree, the worst layers, the diagnosis). Returns the
 * path, or undefined when cancelled.
 */
export async function exportReport(engine: EngineHost, report: CompareReport, format: 'json' | 'html', target?: vscode.Uri): Promise<string | undefined> {
  const base = vscode.workspace.workspaceFolders?.[0]?.uri;
  const ext = format === 'html' ? 'html' : 'json';
  const uri = target ?? await vscode.window.showSaveDialog({
    title: `DLA: Export Report (${format.toUpperCase()})`,
    filters: format === 'html' ? { 'HTML page': ['html'] } : { 'DLA Lens report': ['json'] },
    ...(base ? { defaultUri: vscode.Uri.joinPath(base, `dla-report.${ext}`) } : {}),
  });
  if (!uri) return undefined;
  await engine.call('writeReport', { report, format, file: uri.fsPath });
  return uri.fsPath;
}
