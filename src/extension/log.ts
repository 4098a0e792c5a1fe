import * as vscode from 'vscode';
import { Disposable } from './disposable';

/**
 * The "DLA Lens" output channel: what ran, on which provider, and how long each step took, so a
 * porter can tell a slow read from a slow inference without a profiler.
 */
export class Log extends Disposable {
  private readonly channel: vscode.LogOutputChannel;

  constructor() {
    super();
    this.channel = this._register(vscode.window.createOutputChannel('DLA Lens', { log: true }));
  }

  info(message: string): void {
    this.channel.info(message);
  }

  error(message: string, err?: unknown): void {
    this.channel.error(err === undefined ? message : `${message}: ${errorMessage(err)}`);
  }

  /** Runs `fn` and logs "<what>: <ms> ms"; the duration is logged on failure too. */
  async time<T>(what: string, fn: () => Promise<T> | T): Promise<T> {
    const start = performance.now();
    try {
      return await fn();
    } finally {
      this.channel.info(`${what}: ${(performance.now() - start).toFixed(1)} ms`);
    }
  }

  show(): void {
    this.channel.show(true);
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
