import * as path from 'path';
import * as vscode from 'vscode';
import type { PresetChoice } from '../../engine/protocol';
import type { PreprocessingData } from '../../shared/preprocessingProtocol';
import * as config from '../config';
import type { EngineHost } from '../engineHost';
import type { Log } from '../log';
import type { ProviderStatus } from '../statusBar';
import { chooseClassificationCheckpoint } from './classifyImage';
import { fileOf, imageArgument, pickFile } from './pickFile';
import type { PreprocessingViews } from './preprocessingView';

export interface ComparePreprocessingDeps {
  readonly engine: EngineHost;
  readonly log: Log;
  readonly status: ProviderStatus;
  readonly views: PreprocessingViews;
  /** The extension's package.json: the built-in presets and their descriptions are its dlaLens.preprocessing enum. */
  readonly packageJSON: unknown;
}

/**
 * What a caller other than a menu may pass (tests, other extensions): the image and both presets,
 * and the checkpoint (a path; null: without a model; absent: dlaLens.checkpoint, asked for if unset).
 */
export interface ComparePreprocessingArgs {
  readonly image: vscode.Uri | string;
  readonly a: PresetChoice;
  readonly b: PresetChoice;
  readonly checkpoint?: string | null;
}

const CONFIG_EXTENSIONS = ['json', 'yaml', 'yml'] as const;
const FROM_FILE = 'config-file';
const WITHOUT_MODEL = 'without-model';
const CHOOSE_CHECKPOINT = 'choose-checkpoint';

/**
 * DLA: Compare Preprocessing, from the palette (asks for an image), the explorer context menu or
 * the image preview's title bar (given the image's URI): asks for two presets (built-in, or a timm
 * pretrained_cfg JSON / PaddleClas YAML), runs the comparison in the engine under a cancellable
 * notification and shows both crops, their difference and, with dlaLens.checkpoint set (asked for
 * as Classify Image asks, or declined), both top-5s.
 */
export async function comparePreprocessing(deps: ComparePreprocessingDeps, arg?: unknown): Promise<PreprocessingData | undefined> {
  const given = argsOf(arg);
  const image = given ? (given.image instanceof vscode.Uri ? fileOf(given.image) : given.image) : await imageArgument(arg, 'DLA: Compare Preprocessing', 'The image to preprocess both ways');
  if (!image) return undefined;
  const a = given?.a ?? (await pickPreset(deps, 1));
  if (!a) return undefined;
  const b = given?.b ?? (await pickPreset(deps, 2, a));
  if (!b) return undefined;
  const checkpoint = given && given.checkpoint !== undefined ? given.checkpoint : await checkpointFor(image);
  if (checkpoint === undefined) return undefined;

  const provider = config.executionProvider();
  const weightsKey = config.weightsKey();
  const params = { image, a, b, provider, ...(checkpoint ? { checkpoint, ...(weightsKey ? { weightsKey } : {}) } : {}) };
  const d = await deps.log.time(`Compare preprocessing of ${image}: ${describe(a)} vs ${describe(b)}${checkpoint ? ` with ${checkpoint} (provider ${provider})` : ''}`,
    () => deps.engine.withProgress(`DLA: comparing preprocessing of ${path.basename(image)}`, 'comparePreprocessing', params));
  if (!d) return undefined;
  deps.log.info(`Compare Preprocessing ${path.basename(image)}, ${d.a.label} vs ${d.b.label}: ` + (d.pixels && d.tensor
    ? `pixels max ${d.pixels.max}, mean ${d.pixels.mean.toFixed(4)}, ${(100 * d.pixels.differingShare).toFixed(1)}% differ; tensor max ${d.tensor.max.toFixed(4)}`
    : `not compared (${d.incomparable})`) + (d.model ? `; top-1 ${d.model.top1Differs ? 'differs' : 'the same'}, provider ${d.model.provider}` : ''));
  if (d.model) deps.status.ran(d.model.provider.split(/[ ;(]/)[0], d.model.provider);
  deps.views.show(d);
  return d;
}

function argsOf(arg: unknown): ComparePreprocessingArgs | undefined {
  if (typeof arg !== 'object' || arg === null || arg instanceof vscode.Uri) return undefined;
  const o = arg as Partial<ComparePreprocessingArgs>;
  if ((o.image instanceof vscode.Uri || typeof o.image === 'string') && o.a && o.b) return o as ComparePreprocessingArgs;
  return undefined;
}

interface BuiltInPreset { readonly name: string; readonly description: string }

/** The built-in presets as package.json offers them for dlaLens.preprocessing (the one list of them the extension has). */
function builtInPresets(packageJSON: unknown): BuiltInPreset[] {
  const setting = (packageJSON as { contributes?: { configuration?: { properties?: Record<string, { enum?: string[]; enumDescriptions?: string[] }> } } })
    ?.contributes?.configuration?.properties?.['dlaLens.preprocessing'];
  const names = setting?.enum ?? config.PRESETS;
  return names.map((name, i) => ({ name, description: setting?.enumDescriptions?.[i] ?? '' }));
}

async function pickPreset(deps: ComparePreprocessingDeps, step: 1 | 2, first?: PresetChoice): Promise<PresetChoice | undefined> {
  type Item = vscode.QuickPickItem & { readonly value: string };
  const setting = config.preprocessing();
  const presets = builtInPresets(deps.packageJSON);
  // The second pick offers first what the first pick did not take.
  if (first?.preset && !first.config) presets.sort((x, y) => Number(x.name === first.preset) - Number(y.name === first.preset));
  const items: Item[] = [
    ...presets.map((p) => ({
      label: p.name, value: p.name, detail: p.description,
      description: [p.name === setting ? 'dlaLens.preprocessing' : '', first?.preset === p.name && !first.config ? 'also the first' : ''].filter(Boolean).join(' · '),
    })),
    { label: '$(file) From a config file…', value: FROM_FILE, detail: "A timm pretrained_cfg (.json, or a hub config.json) or a PaddleClas YAML (.yaml): its eval transform" },
  ];
  const picked = await vscode.window.showQuickPick(items, {
    title: `DLA: Compare Preprocessing (${step}/2)`,
    placeHolder: step === 1 ? 'The first preset (shown on the left)' : `The preset to compare with ${first ? describe(first) : 'it'} (shown on the right)`,
    matchOnDetail: true,
  });
  if (!picked) return undefined;
  if (picked.value !== FROM_FILE) return { preset: picked.value };
  const file = await pickFile({
    title: `DLA: Compare Preprocessing (${step}/2): preset config`, placeHolder: 'A timm pretrained_cfg JSON or a PaddleClas YAML',
    extensions: CONFIG_EXTENSIONS, filterName: 'Preset configs',
  });
  if (!file) return undefined;
  return { config: file instanceof vscode.Uri ? fileOf(file) : file };
}

/**
 * The checkpoint for both top-5s: dlaLens.checkpoint when set (as Classify Image uses it), else
 * asked for (and remembered, as Classify Image does) or declined. '' means without a model;
 * undefined, that the user cancelled.
 */
async function checkpointFor(image: string): Promise<string | undefined> {
  const set = config.classifyCheckpoint(vscode.Uri.file(image));
  if (set) return set;
  const picked = await vscode.window.showQuickPick([
    { label: '$(file) Choose a checkpoint…', value: CHOOSE_CHECKPOINT, detail: 'A timm DLA checkpoint with an ImageNet-1k head; remembered in dlaLens.checkpoint, as Classify Image does' },
    { label: 'Without a model', value: WITHOUT_MODEL, detail: 'The crops, their difference and the tensor difference only' },
  ], { title: 'DLA: Compare Preprocessing: both top-5s need a model', placeHolder: 'dlaLens.checkpoint is not set' });
  if (!picked) return undefined;
  if (picked.value === WITHOUT_MODEL) return '';
  return chooseClassificationCheckpoint();
}

function describe(p: PresetChoice): string {
  return p.config ? `${p.preset ? `${p.preset} ` : ''}${path.basename(p.config)}` : (p.preset ?? '?');
}
