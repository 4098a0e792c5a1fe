import * as path from 'path';
import * as vscode from 'vscode';
import { assertNever, type ReplyBody } from '../../shared/channel';
import {
  checkEvaluation, evaluationProtocol, type EvaluationData, type EvaluationProtocol, type EvaluationRequest,
} from '../../shared/evaluationProtocol';
import { Disposable } from '../disposable';
import type { Log } from '../log';
import { WebviewChannel } from '../webviewChannel';
import { webviewHtml, webviewOptions } from '../webviewHtml';

/**
 * The evaluation results view: the accuracy figures, per-class bars, the most confused pairs and,
 * for agreement runs, the disagreements with thumbnails. Clicking a disagreement opens the two
 * sides on that image: the comparison view of the two checkpoints, or Compare Preprocessing of the
 * two presets. The page keeps its results in its state, so a reloaded window shows them again.
 */
export class EvaluationViews extends Disposable {
  static readonly viewType = 'dlaLens.evaluation';
  private readonly panels = new Set<EvaluationPanel>();
  /** The results the last page asked for and was given (tests read it). */
  lastServed: EvaluationData | undefined;

  constructor(private readonly extensionUri: vscode.Uri, private readonly log: Log) {
    super();
    this._register({ dispose: () => { for (const p of [...this.panels]) p.dispose(); } });
    this._register(vscode.window.registerWebviewPanelSerializer(EvaluationViews.viewType, {
      deserializeWebviewPanel: async (panel: vscode.WebviewPanel, state: unknown) => {
        try {
          this.adopt(panel, checkEvaluation((state as { evaluation?: unknown } | undefined)?.evaluation, 'the restored evaluation'));
        } catch (err) {
          log.error('Could not restore an evaluation view', err);
          panel.dispose();
        }
      },
    }));
  }

  show(data: EvaluationData): EvaluationPanel {
    const panel = vscode.window.createWebviewPanel(EvaluationViews.viewType, data.title, vscode.ViewColumn.Active, webviewOptions(this.extensionUri));
    return this.adopt(panel, data);
  }

  private adopt(panel: vscode.WebviewPanel, data: EvaluationData): EvaluationPanel {
    const p = new EvaluationPanel(panel, this.extensionUri, this.log, data, (served) => (this.lastServed = served));
    this.panels.add(p);
    p.onDispose(() => this.panels.delete(p));
    return p;
  }
}

export class EvaluationPanel extends Disposable {
  private readonly disposeListeners: (() => void)[] = [];

  constructor(
    private readonly panel: vscode.WebviewPanel,
    extensionUri: vscode.Uri,
    private readonly log: Log,
    private readonly data: EvaluationData,
    private readonly served: (d: EvaluationData) => void,
  ) {
    super();
    panel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'dla.svg');
    panel.webview.options = webviewOptions(extensionUri);
    this._register(new WebviewChannel(panel.webview, evaluationProtocol, this, log));
    panel.webview.html = webviewHtml(panel.webview, extensionUri, 'evaluation', data.title);
    this._register(panel.onDidDispose(() => this.dispose()));
  }

  onDispose(f: () => void): void {
    this.disposeListeners.push(f);
  }

  override dispose(): void {
    for (const f of this.disposeListeners.splice(0)) f();
    super.dispose();
    this.panel.dispose();
  }

  async request<R extends EvaluationRequest>(req: R): Promise<ReplyBody<EvaluationProtocol, R['type']>> {
    return (await this.answer(req)) as ReplyBody<EvaluationProtocol, R['type']>;
  }

  notify(msg: never): void {
    assertNever(msg, 'notification');
  }

  private async answer(req: EvaluationRequest): Promise<ReplyBody<EvaluationProtocol, EvaluationRequest['type']>> {
    switch (req.type) {
      case 'ready':
        this.served(this.data);
        return { type: 'evaluationData', data: this.data };
      case 'openDisagreement':
        return { type: 'opened', message: await this.open(req.i) };
      default:
        return assertNever(req, 'request');
    }
  }

  /** The two sides on one image: the comparison view (two checkpoints) or Compare Preprocessing (two presets). */
  private async open(i: number): Promise<string> {
    const d = this.data.disagreements?.find((x) => x.i === i);
    const run = this.data.run;
    if (!d) throw new Error(`Image ${i} is not among the disagreements shown.`);
    if (run.against) {
      this.log.info(`Comparing ${this.data.weights} with ${run.against} on ${d.file}`);
      await vscode.commands.executeCommand('dlaLens.compareCheckpoints', { reference: this.data.weights, candidate: run.against, input: d.file });
      return `Comparing the two checkpoints on ${d.image}.`;
    }
    if (run.againstPreset) {
      // A hub folder's own preset is its config.json's pretrained_cfg, which Compare Preprocessing reads as a timm config.
      const a = run.preset ?? (this.data.preset.startsWith('hub:') ? { preset: 'timm', config: path.join(this.data.weights, 'config.json') } : { preset: this.data.preset });
      await vscode.commands.executeCommand('dlaLens.comparePreprocessing', { image: d.file, a, b: run.againstPreset, checkpoint: this.data.weights });
      return `Comparing the two preprocessings of ${d.image}.`;
    }
    throw new Error('This evaluation compared nothing; there are no two sides to open.');
  }
}
