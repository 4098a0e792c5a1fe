import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import type { EvaluateParams, EvaluateProgress, PresetChoice } from '../../engine/protocol';
import type { EvaluationData } from '../../shared/evaluationProtocol';
import * as config from '../config';
import type { EngineHost } from '../engineHost';
import type { Log } from '../log';
import type { ProviderStatus } from '../statusBar';
import { chooseClassificationCheckpoint } from './classifyImage';
import type { EvaluationViews } from './evaluationView';
import { CHECKPOINT_EXTENSIONS, REFERENCE_FIRST, fileOf, pickFile } from './pickFile';

export interface EvaluateDeps {
  readonly engine: EngineHost;
  readonly log: Log;
  readonly status: ProviderStatus;
  readonly views: EvaluationViews;
  readonly storageUri: vscode.Uri;
}

/** What a caller other than a menu may pass (tests): the images, and optionally the rest. */
export interface EvaluateArgs {
  readonly folder?: string;
  readonly list?: string;
  readonly root?: string;
  readonly weights?: string;
  readonly against?: string;
  readonly againstPreset?: PresetChoice;
  readonly limit?: number;
  readonly batch?: number;
}

/**
 * DLA: Evaluate on Labelled Images, from the palette or the explorer context menu of a folder (an
 * ImageFolder tree) or a .txt list (`relative/path label` lines; its root asked for). The
 * checkpoint is dlaLens.checkpoint (asked for once, as Classify Image does); optionally a second
 * checkpoint or a second preset to find where the two disagree. Runs in the engine under a
 * cancellable notification (count, rate, ETA), streaming predictions to the extension's storage,
 * and opens the results view.
 */
export async function evaluateImages(deps: EvaluateDeps, arg?: unknown): Promise<EvaluationData | undefined> {
  const given = isArgs(arg) ? arg : undefined;
  const images = given ?? (await imagesFrom(arg instanceof vscode.Uri ? fileOf(arg) : undefined));
  if (!images) return undefined;
  let weights = given?.weights ?? config.classifyCheckpoint();
  if (!weights) {
    weights = (await chooseClassificationCheckpoint()) ?? '';
    if (!weights) return undefined;
  }
  const against = given ? { against: given.against, againstPreset: given.againstPreset } : await pickAgainst(weights);
  if (!against) return undefined;
  const chosen = config.preprocessingChosen();
  const stamp = `${new Date().toISOString().replace(/[:.]/g, '-')}-${process.pid}`;
  const dir = vscode.Uri.joinPath(deps.storageUri, 'evaluations').fsPath;
  fs.mkdirSync(dir, { recursive: true });
  const source = images.folder ?? images.list!;
  const params: EvaluateParams = {
    title: `DLA: ${path.basename(weights)} on ${path.basename(source)}`,
    weights, ...(config.weightsKey() ? { weightsKey: config.weightsKey() } : {}),
    ...(images.folder ? { folder: images.folder } : { list: images.list, root: images.root }),
    ...(chosen ? { preset: { preset: chosen } } : {}), ...against,
    ...(given?.limit ? { limit: given.limit } : {}), ...(given?.batch ? { batch: given.batch } : {}),
    provider: config.executionProvider(), out: path.join(dir, `${stamp}.predictions.jsonl`),
  };
  deps.log.info(`Evaluate ${weights} on ${source}${against.against ? ` against ${against.against}` : ''}${against.againstPreset ? ` against preset ${against.againstPreset.preset ?? against.againstPreset.config}` : ''}; predictions in ${params.out}`);
  const data = await deps.engine.withProgress(`DLA: evaluating ${path.basename(weights)}`, 'evaluate', params, progressLine);
  if (!data) return undefined;
  deps.log.info(`Evaluated ${data.count} images: top-1 ${(100 * data.top1).toFixed(2)}%, top-5 ${(100 * data.top5).toFixed(2)}%, ${data.imagesPerSecond.toFixed(1)} img/s on ${data.provider}` +
    (data.agreement !== undefined ? `; agreement ${(100 * data.agreement).toFixed(2)}%` : '') + (data.failed.length ? `; ${data.failed.length} images failed` : ''));
  deps.status.ran(data.provider.split(/[ ;(]/)[0], data.provider);
  deps.views.show(data);
  return data;
}

export function progressLine(p: EvaluateProgress): string {
  const eta = p.etaSeconds === undefined ? '' : `, ETA ${p.etaSeconds < 90 ? `${Math.round(p.etaSeconds)} s` : `${Math.round(p.etaSeconds / 60)} min`}`;
  return `${p.done}/${p.total} images, ${p.imagesPerSecond.toFixed(1)} img/s${eta}, top-1 so far ${(100 * p.top1).toFixed(1)}%`;
}

function isArgs(x: unknown): x is EvaluateArgs {
  return typeof x === 'object' && x !== null && !(x instanceof vscode.Uri) && (typeof (x as EvaluateArgs).folder === 'string' || typeof (x as EvaluateArgs).list === 'string');
}

async function imagesFrom(clicked?: string): Promise<{ folder?: string; list?: string; root?: string } | undefined> {
  let target = clicked;
  if (!target) {
    const kind = await vscode.window.showQuickPick([
      { label: '$(folder) A folder of class folders', description: 'ImageFolder: n01440764/…, or any class names', value: 'folder' },
      { label: '$(list-flat) A list file', description: "'relative/path label' per line (the seed notebook's val_list.txt)", value: 'list' },
    ], { title: 'DLA: Evaluate on Labelled Images: the images' });
    if (!kind) return undefined;
    const picked = await vscode.window.showOpenDialog({
      title: kind.value === 'folder' ? 'The folder of class folders' : 'The list file',
      canSelectFolders: kind.value === 'folder', canSelectFiles: kind.value === 'list', canSelectMany: false,
      ...(kind.value === 'list' ? { filters: { 'Image lists': ['txt', 'list'] } } : {}),
    });
    target = picked?.[0] ? fileOf(picked[0]) : undefined;
    if (!target) return undefined;
  }
  if (fs.statSync(target).isDirectory()) return { folder: target };
  // A list's paths are relative to a root: its own folder unless the user says otherwise.
  const here = path.dirname(target);
  const root = await vscode.window.showQuickPick([
    { label: `$(folder) ${path.basename(here)}`, description: "the list's own folder", value: here },
    { label: '$(folder-opened) Another folder…', value: '' },
  ], { title: `DLA: the folder the paths in ${path.basename(target)} are relative to` });
  if (!root) return undefined;
  if (root.value) return { list: target, root: root.value };
  const other = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, canSelectMany: false, title: 'The root of the list' });
  return other?.[0] ? { list: target, root: fileOf(other[0]) } : undefined;
}

async function pickAgainst(weights: string): Promise<{ against?: string; againstPreset?: PresetChoice } | undefined> {
  const current = config.preprocessingChosen() ?? 'timm';
  const choice = await vscode.window.showQuickPick([
    { label: '$(check) Accuracy only', description: path.basename(weights), value: 'none' },
    { label: '$(diff) Against another checkpoint…', description: 'the images where the two disagree', value: 'checkpoint' },
    ...config.PRESETS.filter((p) => p !== current).map((p) => ({
      label: `$(symbol-color) Against the ${p} preset`, description: `the same weights preprocessed as ${p}, vs ${current}`, value: `preset:${p}`,
    })),
  ], { title: 'DLA: Evaluate: compare with something?' });
  if (!choice) return undefined;
  if (choice.value === 'none') return {};
  if (choice.value.startsWith('preset:')) return { againstPreset: { preset: choice.value.slice('preset:'.length) } };
  const picked = await pickFile({
    title: 'DLA: Evaluate: the other checkpoint', placeHolder: `Run on the same images as ${path.basename(weights)}`,
    extensions: CHECKPOINT_EXTENSIONS, prefer: REFERENCE_FIRST, filterName: 'Checkpoints',
  });
  if (!picked) return undefined;
  return { against: picked instanceof vscode.Uri ? fileOf(picked) : picked };
}
