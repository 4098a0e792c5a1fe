import * as vscode from 'vscode';
import * as config from './config';
import { Disposable } from './disposable';

/**
 * Shows the execution provider: the setting until something has run, then the provider that
 * actually ran (onnxruntime falls back visibly, e.g. "cpu (cuda failed: …)").
 */
export class ProviderStatus extends Disposable {
  private readonly item: vscode.StatusBarItem;
  private lastRun: { provider: string; detail: string } | undefined;

  constructor() {
    super();
    this.item = this._register(vscode.window.createStatusBarItem('dlaLens.provider', vscode.StatusBarAlignment.Right, 100));
    this.item.name = 'DLA Lens: execution provider';
    this.item.command = { title: 'Change execution provider', command: 'workbench.action.openSettings', arguments: ['dlaLens.executionProvider'] };
    this._register(vscode.workspace.onDidChangeConfiguration((e) => {
      if (config.affects(e, 'executionProvider')) {
        this.lastRun = undefined;
        this.render();
      }
    }));
    this.render();
    this.item.show();
  }

  /** Called after a run with the provider that ran it and how the choice was made. */
  ran(provider: string, detail: string): void {
    this.lastRun = { provider, detail };
    this.render();
  }

  get text(): string {
    return this.item.text;
  }

  private render(): void {
    const setting = config.executionProvider();
    if (this.lastRun) {
      this.item.text = `$(chip) DLA: ${this.lastRun.provider}`;
      this.item.tooltip = `Last run on ${this.lastRun.detail} (setting: ${setting}). Click to change dlaLens.executionProvider.`;
    } else {
      this.item.text = `$(chip) DLA: ${setting}`;
      this.item.tooltip = `Execution provider setting: ${setting}; nothing has run yet. Click to change dlaLens.executionProvider.`;
    }
  }
}
