import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { htmlReport } from '../../model/compare/htmlReport';
import type { CompareReport } from '../../model/compare/types';
import { MessageType, assertNever, type FromWebviewMessage, type FromWebviewRequest } from '../../shared/protocol';
import { Disposable } from '../disposable';
import type { Log } from '../log';
import { toComparisonData } from '../../shared/viewModel';
import { WebviewChannel, type ReplyBody } from '../webviewChannel';
import { webviewHtml, webviewOptions } from '../webviewHtml';
import { reopenSide, type ActivationSource } from './activations';
import { layerDetail } from './layerDetail';
import { readReport, writeReport } from './reportFile';

/** A comparison to show: the report, and the activations behind it while they are available. */
export interface Comparison {
  readonly report: CompareReport;
  readonly title: string;
  readonly reference?: ActivationSource;
  readonly candidate?: ActivationSource;
  /** Where the report is (or will be) kept so that a reloaded window can reopen it. */
  readonly reportFile: string;
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
 * The comparison view: a webview panel per comparison, restored after a window reload by the panel
 * serializer from the report file named in the webview's state (no retainContextWhenHidden: the
 * webview keeps its own UI state with setState).
 */
export class ComparisonPanel extends Disposable {
  static readonly viewType = 'dlaLens.comparison';
  private static readonly panels = new Set<ComparisonPanel>();
  private static lastActive: ComparisonPanel | undefined;
  static readonly renders: RenderTiming[] = [];

  static register(context: vscode.ExtensionContext, log: Log): vscode.Disposable {
    return vscode.window.registerWebviewPanelSerializer(ComparisonPanel.viewType, {
      async deserializeWebviewPanel(panel: vscode.WebviewPanel, state: unknown) {
        const key = (state as PanelState | undefined)?.restoreKey;
        try {
          if (!key || !fs.existsSync(key)) throw new Error('its report file is gone');
          const report = readReport(key);
          ComparisonPanel.adopt(panel, context.extensionUri, log, {
            report, title: panel.title, reportFile: key,
            reference: reopenSide(report.reference), candidate: reopenSide(report.candidate),
          });
        } catch (err) {
          log.error(`Could not restore a comparison view (${key ?? 'no state'})`, err);
          panel.dispose();
        }
      },
    });
  }

  /** The panel the user looked at last (for Export Report from the palette). */
  static get active(): ComparisonPanel | undefined {
    return ComparisonPanel.lastActive && ComparisonPanel.panels.has(ComparisonPanel.lastActive) ? ComparisonPanel.lastActive : undefined;
  }

  static show(extensionUri: vscode.Uri, log: Log, comparison: Comparison): ComparisonPanel {
    if (!fs.existsSync(comparison.reportFile)) {
      fs.mkdirSync(path.dirname(comparison.reportFile), { recursive: true });
      writeReport(comparison.reportFile, comparison.report);
    }
    const panel = vscode.window.createWebviewPanel(ComparisonPanel.viewType, comparison.title, vscode.ViewColumn.Active, webviewOptions(extensionUri));
    return ComparisonPanel.adopt(panel, extensionUri, log, comparison);
  }

  private static adopt(panel: vscode.WebviewPanel, extensionUri: vscode.Uri, log: Log, comparison: Comparison): ComparisonPanel {
    const p = new ComparisonPanel(panel, extensionUri, log, comparison);
    ComparisonPanel.panels.add(p);
    ComparisonPanel.lastActive = p;
    return p;
  }

  private readonly channel: WebviewChannel;

  private constructor(
    private readonly panel: vscode.WebviewPanel,
    extensionUri: vscode.Uri,
    private readonly log: Log,
    private readonly comparison: Comparison,
  ) {
    super();
    panel.webview.options = webviewOptions(extensionUri);
    panel.webview.html = webviewHtml(panel.webview, extensionUri, 'comparison', comparison.title);
    panel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'dla.svg');
    this.channel = this._register(new WebviewChannel(panel.webview, this, log));
    this._register(panel.onDidChangeViewState((e) => {
      if (e.webviewPanel.active) ComparisonPanel.lastActive = this;
    }));
    this._register(panel.onDidDispose(() => this.dispose()));
  }

  get report(): CompareReport {
    return this.comparison.report;
  }

  override dispose(): void {
    ComparisonPanel.panels.delete(this);
    super.dispose();
    this.panel.dispose();
  }

  /** Selects and reveals a module in the tree. */
  reveal(id: string): void {
    this.panel.reveal();
    void this.channel.post({ type: MessageType.RevealModule, id });
  }

  async request<R extends FromWebviewRequest>(req: R): Promise<ReplyBody<R>> {
    return (await this.answer(req)) as ReplyBody<R>;
  }

  notify(msg: Exclude<FromWebviewMessage, FromWebviewRequest>): void {
    switch (msg.type) {
      case MessageType.Rendered:
        ComparisonPanel.renders.push({ what: msg.what, nodes: msg.nodes, ms: msg.ms });
        this.log.info(`Comparison view ${msg.what} of ${msg.nodes} nodes: ${msg.ms.toFixed(1)} ms`);
        break;
      default:
        assertNever(msg.type, 'notification');
    }
  }

  private data() {
    const c = this.comparison;
    return toComparisonData(c.report, c.title, Boolean(c.reference && c.candidate), c.reportFile);
  }

  private async answer(req: FromWebviewRequest): Promise<ReplyBody<FromWebviewRequest>> {
    switch (req.type) {
      case MessageType.Ready:
        return { type: MessageType.ComparisonData, data: this.data() };
      case MessageType.GetLayerDetail: {
        const { reference, candidate, report } = this.comparison;
        if (!reference || !candidate) {
          throw new Error('The activations behind this comparison are no longer in memory and neither side is a dump file; run DLA: Compare Checkpoints again to see per-channel errors.');
        }
        const [a, b] = await Promise.all([reference.get(req.layer), candidate.get(req.layer)]);
        if (!a || !b) {
          const where = !a ? `the reference (${report.reference.file})` : `the candidate (${report.candidate.file})`;
          throw new Error(`'${req.layer}' is not recorded in ${where}.`);
        }
        const start = performance.now();
        const detail = layerDetail(req.layer, a, b, req.bins);
        this.log.info(`Detail of ${req.layer}: ${(performance.now() - start).toFixed(1)} ms`);
        return { type: MessageType.LayerDetail, detail };
      }
      case MessageType.ExportReport: {
        const saved = await exportReport(this.comparison.report, req.format);
        return { type: MessageType.Done, message: saved ? `Saved ${saved}` : 'Export cancelled.' };
      }
      case MessageType.GetTensorStats:
        throw new Error('Tensor stats by name belong to the checkpoint editor; the comparison view asks for layer details.');
      default:
        return assertNever(req, 'request');
    }
  }
}

/**
 * Asks where to save and writes the report: JSON (reopenable with DLA: Open Report) or the
 * self-contained HTML page (the same tree, the worst layers, the diagnosis). Returns the path, or
 * undefined when cancelled.
 */
export async function exportReport(report: CompareReport, format: 'json' | 'html', target?: vscode.Uri): Promise<string | undefined> {
  const base = vscode.workspace.workspaceFolders?.[0]?.uri;
  const ext = format === 'html' ? 'html' : 'json';
  const uri = target ?? await vscode.window.showSaveDialog({
    title: `DLA: Export Report (${format.toUpperCase()})`,
    filters: format === 'html' ? { 'HTML page': ['html'] } : { 'DLA Lens report': ['json'] },
    ...(base ? { defaultUri: vscode.Uri.joinPath(base, `dla-report.${ext}`) } : {}),
  });
  if (!uri) return undefined;
  if (format === 'html') fs.writeFileSync(uri.fsPath, htmlReport(report));
  else writeReport(uri.fsPath, report);
  return uri.fsPath;
}
