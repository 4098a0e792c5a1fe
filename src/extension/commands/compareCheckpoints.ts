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
  /** An image, an .npz with `input`, or undefined for the dump's input / the seeded tensor. */
  readonly input?: string;
  readonly seed?: number;
}

const SEED = 0;
const NONE = '';

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
  const input = asPath(await pickFile({
    title: 'DLA: Compare Checkpoints (4/4): input', placeHolder: 'The model input',
    extensions: IMAGE_EXTENSIONS, filterName: 'Images',
    extraItems: [
      ...(dump ? [{ label: '$(database) The input stored in the dump', description: "its 'input' array", value: 'dump' }] : []),
      { label: `$(symbol-number) Seeded random tensor`, description: `1×3×224×224, seed ${SEED}`, value: NONE },
    ],
  }));
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
    preset: config.preprocessing(), provider, tolerance: { mode: 'scaled-max', tol: config.tolerance() },
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
