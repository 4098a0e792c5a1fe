import * as assert from 'assert';
import * as path from 'path';
import * as vscode from 'vscode';
import type { DlaLensApi } from '../../../src/extension/extension';

export const EXTENSION_ID = 'dla-lens.dla-lens';

export async function activeApi(): Promise<DlaLensApi> {
  const ext = vscode.extensions.getExtension<DlaLensApi>(EXTENSION_ID);
  assert.ok(ext, `Extension ${EXTENSION_ID} is not loaded in this extension host.`);
  return ext.activate();
}

export function workspaceFile(...p: string[]): vscode.Uri {
  const folder = vscode.workspace.workspaceFolders?.[0];
  assert.ok(folder, 'The integration suite needs a workspace folder (the runner opens one).');
  return vscode.Uri.file(path.join(folder.uri.fsPath, ...p));
}

/** Folder with the shared reference data, passed by the runner through the environment. */
export function referenceFile(name: string): string {
  const dir = process.env.DLA_REFERENCE_DIR;
  assert.ok(dir, 'DLA_REFERENCE_DIR is not set; run the suite through npm run test:vscode.');
  return path.join(dir, name);
}

export async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v as T;
    if (Date.now() > end) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}.`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function closeAllEditors(): Promise<void> {
  await vscode.commands.executeCommand('workbench.action.closeAllEditors');
}

/** Measured figures a test reports (printed with its result by the runner outside). */
export function note(message: string): void {
  const g = globalThis as { dlaItestNotes?: string[] };
  (g.dlaItestNotes ??= []).push(message);
}
