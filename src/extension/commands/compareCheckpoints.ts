import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as vscode from 'vscode';
import { ComparisonPanel, type PanelDeps } from '../comparison/comparisonPanel';
import * as config from '../config';
import type { ProviderStatus } from '../statusBar';
import {
  CANDIDATE_FIRST, CHECKPOINT_EXTENSIONS, DUMP_EXTENSIONS, IMAGE_EXTENSIONS, REFERENCE_FIRST, fileOf, pickFile,
} from './pickFile';

export interface CompareDeps extends PanelDeps {
  readonly storageUri: vscode.Uri;
  readonly status: ProviderStatus;
}

/** What Compare Checkpoints runs; also what a test passes to skip the quick picks. */
export interface CompareArgs {
  readonly reference: string;
  readonly candidate?: string;
  readonly dump?: string;
  /**
   * An image, an .npz with `input` (one image or a batch), a folder of images, a list file of
   * images, or undefined for the dump's input / the seeded tensor.
   */
  readonly input?: string;
  /** Many inputs: the first `limit` only. */
  readonly limit?: number;
  readonly seed?: number;
}

const SEED = 0;
const NONE = '';
const BROWSE_FOLDER = '\u0000folder';
const LIST_EXTENSIONS = ['txt', 'lst', 'list'] as const;

/**
 * Sets of inputs in the workspace: each folder holding images (compared image by image), and list
 * files whose first entry names an image (a text file of image paths, one per line, relative to it).
 */
async function inputSetItems(): Promise<(vscode.QuickPickItem & { value: string })[]> {
  const images = await vscode.workspace.findFiles(`**/*.{${IMAGE_EXTENSIONS.join(',')}}`, '**/node_modules/**', 2000);
  const byFolder = new Map<string, number>();
  for (const uri of images) if (uri.scheme === 'file') byFolder.set(path.dirname(uri.fsPath), (byFolder.get(path.dirname(uri.fsPath)) ?? 0) + 1);
  const folders = [...byFolder].filter(([, n]) => n > 1).sort((a, b) => a[0].localeCompare(b[0])).slice(0, 20).map(([dir, n]) => ({
    label: `$(folder) ${vscode.workspace.asRelativePath(dir)}`, description: `${n} images, compared one by one`, value: dir,
  }));
  const lists = (await vscode.workspace.findFiles(`**/*.{${LIST_EXTENSIONS.join(',')}}`, '**/node_modules/**', 50))
    .filter((uri) => uri.scheme === 'file' && namesImages(uri.fsPath))
    .map((uri) => ({ label: `$(list-unordered) ${path.basename(uri.fsPath)}`, description: `${vscode.workspace.asRelativePath(path.dirname(uri.fsPath))} · a list of images`, value: uri.fsPath }));
  return [...folders, ...lists];
}

/** Whether a text file's first entry (skipping blanks and '#' comments) names an image: its first kilobytes only. */
function namesImages(file: string): boolean {
  try {
    const fd = fs.openSync(file, 'r');
    try {
      const head = Buffer.alloc(4096);
      const n = fs.readSync(fd, head, 0, head.length, 0);
      const first = head.subarray(0, n).toString('utf8').split(/\r?\n/).map((l) => l.trim()).find((l) => l && !l.startsWith('#'));
      return !!first && IMAGE_EXTENSIONS.some((e) => first.toLowerCase().endsWith(`.${e}`));
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return false;
  }
}

/**
 * DLA: Compare Checkpoints (palette) and Compare with… (explorer, editor title: the clicked file is
 * the reference). Quick picks for reference, candidate, optional dump and input; then the engine's
 * compare under a cancellable progress notification; then the comparison view.
 */
export async function compareCheckpoints(deps: CompareDeps, arg?: unknown): Promise<ComparisonPanel | undefined> {
  const args = isCompareArgs(arg) ? arg : await pickArgs(arg instanceof vscode.Uri ? fileOf(arg) : undefined);
  if (!args) return undefined;
  return runComparison(deps, args);
}

function isCompareArgs(x: unknown): x is CompareArgs {
  return typeof x === 'object' && x !== null && typeof (x as CompareArgs).reference === 'string';
}

async function pickArgs(reference?: string): Promise<CompareArgs | undefined> {
  const asPath = (p: vscode.Uri | string | undefined) => (p instanceof vscode.Uri ? fileOf(p) : p);
  reference ??= asPath(await pickFile({
    title: 'DLA: Compare Checkpoints (1/4): reference', placeHolder: 'The reference checkpoint (usually timm / PyTorch)',
    extensions: CHECKPOINT_EXTENSIONS, prefer: REFERENCE_FIRST, filterName: 'Checkpoints',
  }));
  if (!reference) return undefined;
  const candidate = asPath(await pickFile({
    title: 'DLA: Compare Checkpoints (2/4): candidate', placeHolder: `The port to check against ${path.basename(reference)}`,
    extensions: CHECKPOINT_EXTENSIONS, prefer: CANDIDATE_FIRST, filterName: 'Checkpoints',
    extraItems: [{ label: '$(circle-slash) No candidate checkpoint', description: 'compare an activation dump only', value: NONE }],
  }));
  if (candidate === undefined) return undefined;
  const dump = asPath(await pickFile({
    title: 'DLA: Compare Checkpoints (3/4): activation dump (optional)',
    placeHolder: 'Activations the candidate framework wrote (.npz keyed by timm module paths, or reprod_log .npy)',
    extensions: DUMP_EXTENSIONS, filterName: 'Activation dumps',
    extraItems: [{ label: '$(circle-slash) No activation dump', description: candidate ? 'run the candidate weights here' : '', value: NONE }],
  }));
  if (dump === undefined) return undefined;
  if (!candidate && !dump) throw new Error('Pick a candidate checkpoint, an activation dump, or both: there is nothing to compare the reference with.');
  let input = asPath(await pickFile({
    title: 'DLA: Compare Checkpoints (4/4): input',
    placeHolder: 'The model input: an image, a folder or list of images (compared image by image), or an .npz holding one image or a batch',
    extensions: [...IMAGE_EXTENSIONS, 'npz'], filterName: 'Images and arrays',
    extraItems: [
      ...(dump ? [{ label: '$(database) The input stored in the dump', description: "its 'input' array (one image or a batch)", value: 'dump' }] : []),
      { label: `$(symbol-number) Seeded random tensor`, description: `1×3×224×224, seed ${SEED}`, value: NONE },
      ...await inputSetItems(),
      { label: '$(folder-opened) Another folder of images…', description: 'every image in it, compared one by one', value: BROWSE_FOLDER },
    ],
  }));
  if (input === BROWSE_FOLDER) {
    const chosen = await vscode.window.showOpenDialog({ title: 'DLA: Compare Checkpoints: a folder of images', canSelectFiles: false, canSelectFolders: true, canSelectMany: false });
    input = chosen?.[0] ? fileOf(chosen[0]) : undefined;
  }
  if (input === undefined) return undefined;
  return {
    reference,
    ...(candidate ? { candidate } : {}),
    ...(dump ? { dump } : {}),
    ...(input && input !== 'dump' ? { input } : {}),
    seed: SEED,
  };
}

async function runComparison(deps: CompareDeps, args: CompareArgs): Promise<ComparisonPanel | undefined> {
  const provider = config.executionProvider();
  const title = `DLA: ${path.basename(args.reference)} ↔ ${path.basename(args.candidate ?? args.dump ?? '?')}`;
  deps.log.info(`Compare ${args.reference} with ${args.candidate ?? ''} ${args.dump ?? ''} (provider ${provider})`);
  const result = await deps.engine.withProgress('DLA: comparing', 'compare', {
    reference: args.reference, candidate: args.candidate, dump: args.dump, input: args.input, seed: args.seed ?? SEED,
    ...(args.limit !== undefined ? { limit: args.limit } : {}),
    ...(config.preprocessingChosen() ? { preset: config.preprocessingChosen() } : {}), provider, tolerance: { mode: 'scaled-max', tol: config.tolerance() },
    ...(config.weightsKey() ? { referenceKey: config.weightsKey(), candidateKey: config.weightsKey() } : {}),
  });
  if (!result) return undefined;
  for (const [k, ms] of Object.entries(result.report.timingsMs)) deps.log.info(`  ${k}: ${ms.toFixed(0)} ms`);
  deps.status.ran(result.report.provider.split(/\s/)[0], result.report.provider);
  const reportFile = vscode.Uri.joinPath(deps.storageUri, 'reports', `${Date.now()}-${process.pid}.json`).fsPath;
  return ComparisonPanel.show(deps, { result, title, reportFile });
}

export function defaultStorage(context: vscode.ExtensionContext): vscode.Uri {
  return context.storageUri ?? context.globalStorageUri ?? vscode.Uri.file(path.join(os.tmpdir(), 'dla-lens'));
}
