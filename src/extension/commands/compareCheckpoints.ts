import * as os from 'os';
import * as path from 'path';
import * as vscode from 'vscode';
import { CancelledError, compare, type CompareRequest } from '../../model/compare/compare';
import { toTimmNames } from '../../model/dla/keymap';
import { readCheckpoint } from '../../model/formats/registry';
import { inputFromArrays, loadInput, seededInput, type ModelInput } from '../../model/run/inputSource';
import { loadModel } from '../../model/run/loadModel';
import { DumpActivations, RerunActivations, type ActivationSource } from '../comparison/activations';
import { ComparisonPanel } from '../comparison/comparisonPanel';
import * as config from '../config';
import type { Log } from '../log';
import type { ProviderStatus } from '../statusBar';
import { CHECKPOINT_EXTENSIONS, DUMP_EXTENSIONS, IMAGE_EXTENSIONS, fileOf, pickFile } from './pickFile';

export interface CompareDeps {
  readonly extensionUri: vscode.Uri;
  readonly storageUri: vscode.Uri;
  readonly log: Log;
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
 * the reference). Quick picks for reference, candidate, optional dump and input; then the compare
 * engine under a cancellable progress notification; then the comparison view.
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
    extensions: CHECKPOINT_EXTENSIONS, filterName: 'Checkpoints',
  }));
  if (!reference) return undefined;
  const candidate = asPath(await pickFile({
    title: 'DLA: Compare Checkpoints (2/4): candidate', placeHolder: `The port to check against ${path.basename(reference)}`,
    extensions: CHECKPOINT_EXTENSIONS, filterName: 'Checkpoints',
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
  const preset = config.preprocessing();
  const req: Omit<CompareRequest, 'onProgress' | 'isCancelled'> = {
    reference: args.reference, candidate: args.candidate, dump: args.dump, input: args.input, seed: args.seed ?? SEED,
    preset, provider, tolerance: { mode: 'scaled-max', tol: config.tolerance() },
  };
  const title = `DLA: ${path.basename(args.reference)} ↔ ${path.basename(args.candidate ?? args.dump ?? '?')}`;
  const report = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: 'DLA: comparing', cancellable: true },
    (progress, token) => deps.log.time(`Compare ${args.reference} with ${args.candidate ?? ''} ${args.dump ?? ''} (provider ${provider})`, async () => {
      try {
        return await compare({ ...req, onProgress: (m) => { progress.report({ message: m }); deps.log.info(m); }, isCancelled: () => token.isCancellationRequested });
      } catch (err) {
        if (err instanceof CancelledError) return undefined;
        throw err;
      }
    }),
  );
  if (!report) {
    deps.log.info('Comparison cancelled.');
    return undefined;
  }
  for (const [k, ms] of Object.entries(report.timingsMs)) deps.log.info(`  ${k}: ${ms.toFixed(0)} ms`);
  deps.status.ran(report.provider.split(/\s/)[0], report.provider);

  // The engine returns summaries; the detail pane's tensors are recomputed on first request.
  const input = await resolveInput(args, preset);
  const reference: ActivationSource = new RerunActivations(() => loadModel(args.reference), input.tensor, provider);
  const candidate: ActivationSource | undefined = args.dump
    ? new DumpActivations(args.dump)
    : args.candidate
      ? new RerunActivations(() => {
        const ref = loadModel(args.reference);
        const cand = readCheckpoint(args.candidate!);
        return { ...ref, checkpoint: cand, weights: toTimmNames(cand.tensors).tensors };
      }, input.tensor, provider)
      : undefined;
  const reportFile = vscode.Uri.joinPath(deps.storageUri, 'reports', `${Date.now()}-${process.pid}.json`).fsPath;
  return ComparisonPanel.show(deps.extensionUri, deps.log, { report, title, reference, candidate, reportFile });
}

/** The same input the engine used (same rules: image, else the dump's input, else the seed). */
async function resolveInput(args: CompareArgs, preset: string): Promise<ModelInput> {
  if (args.input) return loadInput(args.input, preset);
  if (args.dump) {
    const t = readCheckpoint(args.dump).tensors;
    if (t.has('input')) return inputFromArrays(args.dump, t);
  }
  return seededInput(args.seed ?? SEED);
}

export function defaultStorage(context: vscode.ExtensionContext): vscode.Uri {
  return context.storageUri ?? context.globalStorageUri ?? vscode.Uri.file(path.join(os.tmpdir(), 'dla-lens'));
}
