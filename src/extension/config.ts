import * as path from 'path';
import * as vscode from 'vscode';

/**
 * Typed access to the `dlaLens.*` settings declared in package.json. Defaults live in package.json;
 * the fallbacks here only guard against a user writing a wrong type into settings.json.
 */
export type ProviderSetting = 'auto' | 'cuda' | 'webgpu' | 'cpu';
/** The built-in presets, as package.json's dlaLens.preprocessing enum lists them. */
export const PRESETS = ['timm', 'paddle', 'paddleclas'] as const;
export type PreprocessingSetting = typeof PRESETS[number];

const SECTION = 'dlaLens';

function section(scope?: vscode.Uri): vscode.WorkspaceConfiguration {
  return vscode.workspace.getConfiguration(SECTION, scope);
}

function oneOf<T extends string>(value: unknown, allowed: readonly T[], fallback: T): T {
  return typeof value === 'string' && (allowed as readonly string[]).includes(value) ? (value as T) : fallback;
}

export function executionProvider(): ProviderSetting {
  return oneOf(section().get('executionProvider'), ['auto', 'cuda', 'webgpu', 'cpu'] as const, 'auto');
}

export function preprocessing(): PreprocessingSetting {
  return oneOf(section().get('preprocessing'), PRESETS, 'timm');
}

/** The preset the user set, or undefined when the setting is at its default (then a hub folder's own pretrained_cfg applies). */
export function preprocessingChosen(): PreprocessingSetting | undefined {
  const i = section().inspect('preprocessing');
  const set = i?.workspaceFolderValue ?? i?.workspaceValue ?? i?.globalValue;
  return set === undefined ? undefined : oneOf(set, PRESETS, 'timm');
}

/** dlaLens.weightsKey: in training checkpoints, the dict to take instead of the one that fits DLA; undefined when unset. */
export function weightsKey(): string | undefined {
  const k = section().get('weightsKey');
  return typeof k === 'string' && k !== '' ? k : undefined;
}

export function tolerance(): number {
  const t = section().get('tolerance');
  return typeof t === 'number' && Number.isFinite(t) && t > 0 ? t : 1e-3;
}

/**
 * The checkpoint Classify Image uses; '' when not chosen yet. A relative path (or one starting with
 * `${workspaceFolder}`) is taken relative to the workspace folder of `scope` (else the first one),
 * so a project's .vscode/settings.json can name its own checkpoint portably.
 */
export function classifyCheckpoint(scope?: vscode.Uri): string {
  const c = section(scope).get('checkpoint');
  if (typeof c !== 'string' || c === '') return '';
  const folder = (scope && vscode.workspace.getWorkspaceFolder(scope)) ?? vscode.workspace.workspaceFolders?.[0];
  const expanded = folder ? c.replace(/^\$\{workspaceFolder\}/, folder.uri.fsPath) : c;
  return folder && !path.isAbsolute(expanded) ? path.join(folder.uri.fsPath, expanded) : expanded;
}

export async function rememberClassifyCheckpoint(file: string): Promise<void> {
  // Workspace scope when a folder is open: the checkpoint usually belongs to the project.
  const target = vscode.workspace.workspaceFolders?.length
    ? vscode.ConfigurationTarget.Workspace
    : vscode.ConfigurationTarget.Global;
  await section().update('checkpoint', file, target);
}

export function affects(e: vscode.ConfigurationChangeEvent, key: 'executionProvider' | 'preprocessing' | 'tolerance' | 'checkpoint'): boolean {
  return e.affectsConfiguration(`${SECTION}.${key}`);
}
