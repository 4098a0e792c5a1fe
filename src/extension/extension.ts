import * as vscode from 'vscode';
import type { CompareReport } from '../engine/protocol';
import type { ClassificationData } from '../shared/classificationProtocol';
import type { EvaluationData } from '../shared/evaluationProtocol';
import type { PreprocessingData } from '../shared/preprocessingProtocol';
import { CheckpointEditorProvider } from './checkpointEditor/checkpointEditor';
import { classificationViews, type ClassificationViews } from './commands/classificationView';
import { chooseClassificationCheckpoint, classifyImage } from './commands/classifyImage';
import { comparePreprocessing } from './commands/comparePreprocessing';
import { evaluateImages } from './commands/evaluate';
import { evaluationViews, type EvaluationViews } from './commands/evaluationView';
import { preprocessingViews, type PreprocessingViews } from './commands/preprocessingView';
import { openCheckpoint } from './commands/checkpointCommands';
import { compareCheckpoints, defaultStorage } from './commands/compareCheckpoints';
import { exportActiveReport, openReport } from './commands/reportCommands';
import { ComparisonPanel } from './comparison/comparisonPanel';
import { Disposable } from './disposable';
import { checkNativeModules } from '../engine/nativeCheck';
import { EngineHost } from './engineHost';
import { Log, errorMessage } from './log';
import { ProviderStatus } from './statusBar';

/**
 * Everything the extension registers hangs off one Disposable, itself registered with the context,
 * so deactivation (and a test that disposes it) leaves nothing behind.
 */
class DlaLens extends Disposable {
  readonly log = this._register(new Log());
  readonly status = this._register(new ProviderStatus());
  /** Every model call goes to the engine process; this thread only routes, shows and disposes. */
  readonly engine: EngineHost;
  readonly classifications: ClassificationViews;
  readonly preprocessingViews: PreprocessingViews;
  readonly evaluations: EvaluationViews;

  constructor(context: vscode.ExtensionContext) {
    super();
    this.engine = this._register(new EngineHost(context.extensionUri, this.log));
    const panels = { extensionUri: context.extensionUri, log: this.log, engine: this.engine };
    this._register(CheckpointEditorProvider.register(context, this.engine, this.log));
    this._register(ComparisonPanel.register(panels));
    this.classifications = this._register(classificationViews(context.extensionUri, this.log));
    const classify = { engine: this.engine, log: this.log, status: this.status, views: this.classifications };
    this.preprocessingViews = this._register(preprocessingViews(context.extensionUri, this.log));
    const preprocessing = { ...classify, views: this.preprocessingViews, packageJSON: context.extension.packageJSON };

    const compare = { ...panels, storageUri: defaultStorage(context), status: this.status };
    this.command('dlaLens.compareCheckpoints', (arg) => compareCheckpoints(compare, arg));
    this.command('dlaLens.compareWith', (arg) => compareCheckpoints(compare, arg instanceof vscode.Uri ? arg : undefined));
    this.command('dlaLens.classifyImage', (arg) => classifyImage(classify, arg));
    this.command('dlaLens.chooseCheckpoint', () => chooseClassificationCheckpoint());
    this.command('dlaLens.comparePreprocessing', (arg) => comparePreprocessing(preprocessing, arg));
    this.evaluations = this._register(evaluationViews(context.extensionUri, this.log));
    const evaluate = { ...classify, views: this.evaluations, storageUri: defaultStorage(context) };
    this.command('dlaLens.evaluate', (arg) => evaluateImages(evaluate, arg));
    this.command('dlaLens.openCheckpoint', (arg) => openCheckpoint(arg));
    this.command('dlaLens.exportReport', (arg) => exportActiveReport(this.engine, arg));
    this.command('dlaLens.openReport', (arg) => openReport(panels, arg));
    this.checkPlatform(context.extensionPath);
    this.log.info(`DLA Lens ${context.extension.packageJSON.version} activated (${vscode.env.appName} ${vscode.version}, ${vscode.env.uiKind === vscode.UIKind.Web ? 'web' : 'desktop'} UI).`);
  }

  /**
   * A package for another platform (installed by hand, or on the wrong side of a remote window)
   * is said at once, naming the package to install; its commands then give the same sentence.
   */
  private checkPlatform(root: string): void {
    try {
      checkNativeModules(root);
    } catch (err) {
      this.log.error('Native modules', err);
      void vscode.window.showErrorMessage(errorMessage(err), 'Show Log').then((choice) => choice && this.log.show());
    }
  }

  /** The last command failure, for the API below. */
  lastError: { readonly command: string; readonly message: string } | undefined;

  /**
   * Registers a command whose failures reach the user as one actionable message (and the log).
   * It does not rethrow: VS Code would add a second, less useful "command failed" notification.
   */
  private command(id: string, run: (arg?: unknown) => Promise<unknown>): void {
    this._register(vscode.commands.registerCommand(id, async (arg?: unknown) => {
      try {
        return await run(arg);
      } catch (err) {
        this.lastError = { command: id, message: errorMessage(err) };
        this.log.error(`${id} failed`, err);
        void vscode.window.showErrorMessage(errorMessage(err), 'Show Log').then((choice) => choice && this.log.show());
        return undefined;
      }
    }));
  }
}

/** What activate() returns: read-only facts for integration tests and other extensions. */
export interface DlaLensApi {
  /** The last command that failed and its message (commands report errors to the user, not to callers). */
  lastError(): { readonly command: string; readonly message: string } | undefined;
  /** Forgets the last failure (tests call it before the command they check). */
  clearLastError(): void;
  /** Render timings reported by comparison views. */
  renders(): readonly { readonly what: string; readonly nodes: number; readonly ms: number }[];
  /** The report of the comparison view shown last. */
  activeReport(): CompareReport | undefined;
  /** The status bar text ("$(chip) DLA: cpu"). */
  statusText(): string;
  /** The classification a result page last asked for and was given (set once the page has loaded). */
  lastClassificationShown(): ClassificationData | undefined;
  /** The preprocessing comparison a Compare Preprocessing page last asked for and was given (set once the page has loaded). */
  lastPreprocessingShown(): PreprocessingData | undefined;
  /** The evaluation a results page last asked for and was given. */
  lastEvaluationShown(): EvaluationData | undefined;
  /** The engine process's id while it runs (tests kill it to see a crash reported and recovered from). */
  enginePid(): number | undefined;
  /** Malformed messages the comparison page last shown sent and the host rejected. */
  rejectedMessages(): number;
  /** The progress lines the engine reported under notifications, latest last. */
  progress(): readonly string[];
}

export function activate(context: vscode.ExtensionContext): DlaLensApi {
  const lens = new DlaLens(context);
  context.subscriptions.push(lens);
  return {
    lastError: () => lens.lastError,
    clearLastError: () => { lens.lastError = undefined; },
    renders: () => [...ComparisonPanel.renders],
    statusText: () => lens.status.text,
    activeReport: () => ComparisonPanel.active?.report,
    lastClassificationShown: () => lens.classifications.lastServed,
    lastPreprocessingShown: () => lens.preprocessingViews.lastServed,
    lastEvaluationShown: () => lens.evaluations.lastServed,
    enginePid: () => lens.engine.client.pid,
    rejectedMessages: () => ComparisonPanel.active?.rejectedMessages ?? 0,
    progress: () => [...lens.engine.progressSeen],
  };
}

export function deactivate(): void {
  // Everything is disposed through context.subscriptions.
}
