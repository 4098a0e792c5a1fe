import * as vscode from 'vscode';
import { CancelledError, EngineClient } from '../engine/client';
import type { Method, ParamsOf, ProgressOf, ResultOf } from '../engine/protocol';
import { Disposable } from './disposable';
import type { Log } from './log';

/**
 * The extension's engine: one engine process (src/engine/worker.ts, built to dist/engine.js),
 * started on first use, its output and crashes in the DLA Lens output channel, and a crash also
 * told to the user once. Every model call of the extension goes through `call` or `withProgress`.
 */
export class EngineHost extends Disposable {
  readonly client: EngineClient;
  /** The progress lines of the calls run under a notification, latest last (the API shows them to tests). */
  readonly progressSeen: string[] = [];

  constructor(extensionUri: vscode.Uri, private readonly log: Log) {
    super();
    this.client = new EngineClient({
      entry: vscode.Uri.joinPath(extensionUri, 'dist', 'engine.js').fsPath,
      log: (level, message) => (level === 'error' ? log.error(message) : log.info(message)),
      onCrash: (err) => {
        log.error('The engine crashed', err);
        void vscode.window.showErrorMessage(err.message, 'Show Log').then((c) => c && log.show());
      },
    });
    this._register({ dispose: () => void this.client.dispose() });
  }

  call<M extends Method>(method: M, params: ParamsOf<M>): Promise<ResultOf<M>> {
    return this.client.call(method, params);
  }

  /**
   * Lets the engine drop what it holds for a closed view, fire and forget. Only a running engine
   * holds anything, so none is started for it; with `generation`, only the process that made it.
   */
  release<M extends 'releaseComparison' | 'releaseCheckpoint'>(method: M, params: ParamsOf<M>, generation?: number): void {
    void this.client.release(method, params, generation);
  }

  /**
   * A long call under a cancellable progress notification: the engine's progress lines become the
   * notification's message (and log lines), Cancel is sent to the engine. Resolves to undefined
   * when the user cancelled.
   */
  async withProgress<M extends Method>(
    title: string, method: M, params: ParamsOf<M>, describe: (p: ProgressOf<M>) => string = String,
  ): Promise<ResultOf<M> | undefined> {
    return vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable: true }, async (progress, token) => {
      const abort = new AbortController();
      const sub = token.onCancellationRequested(() => abort.abort());
      try {
        return await this.client.call(method, params, {
          signal: abort.signal,
          onProgress: (p) => {
            const message = describe(p);
            progress.report({ message });
            this.log.info(message);
            this.progressSeen.push(message);
            if (this.progressSeen.length > 100) this.progressSeen.shift();
          },
        });
      } catch (err) {
        if (err instanceof CancelledError) {
          this.log.info(`${title}: cancelled.`);
          return undefined;
        }
        throw err;
      } finally {
        sub.dispose();
      }
    });
  }
}
