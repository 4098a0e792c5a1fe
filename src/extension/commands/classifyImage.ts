import * as path from 'path';
import * as vscode from 'vscode';
import type { ClassificationData } from '../../shared/classificationProtocol';
import * as config from '../config';
import type { EngineHost } from '../engineHost';
import type { Log } from '../log';
import type { ProviderStatus } from '../statusBar';
import type { ClassificationViews } from './classificationView';
import { CHECKPOINT_EXTENSIONS, fileOf, imageArgument, pickFile } from './pickFile';

export interface ClassifyDeps {
  readonly engine: EngineHost;
  readonly log: Log;
  readonly status: ProviderStatus;
  readonly views: ClassificationViews;
}

/**
 * DLA: Classify Image, from the palette (asks for an image), the explorer context menu or the image
 * preview's title bar (given the image's URI). The result page shows the image and the top-5
 * beside it; run from the image preview, it opens beside the preview. Asks for the checkpoint
 * once and remembers it in dlaLens.checkpoint; DLA: Choose Classification Checkpoint changes it.
 */
export async function classifyImage(deps: ClassifyDeps, arg?: unknown): Promise<ClassificationData | undefined> {
  const image = await imageArgument(arg, 'DLA: Classify Image', 'The image to classify');
  if (!image) return undefined;
  let checkpoint = config.classifyCheckpoint();
  if (!checkpoint) {
    checkpoint = (await chooseClassificationCheckpoint()) ?? '';
    if (!checkpoint) return undefined;
  }
  // Unset: a hub folder's own pretrained_cfg decides (else timm), in the engine.
  const preset = config.preprocessingChosen();
  const weightsKey = config.weightsKey();
  const provider = config.executionProvider();
  const c = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `DLA: classifying ${path.basename(image)}…` },
    () => deps.log.time(`Classify ${image} with ${checkpoint} (${preset ?? 'default preset'}, provider ${provider})`,
      () => deps.engine.call('classify', { image, checkpoint, ...(preset ? { preset } : {}), provider, ...(weightsKey ? { weightsKey } : {}) })),
  );
  deps.log.info(`Classified ${path.basename(image)}: ${c.top.map((p) => `${p.label} ${(p.prob * 100).toFixed(1)}%`).join(', ')}; ` +
    `provider ${c.providerDetail}; load ${c.timingsMs.load.toFixed(0)} ms, preprocess ${c.timingsMs.preprocess.toFixed(0)} ms, inference ${c.timingsMs.inference.toFixed(0)} ms`);
  deps.status.ran(c.provider, c.providerDetail);
  deps.views.show(c);
  return c;
}

/** DLA: Choose Classification Checkpoint: picks and remembers dlaLens.checkpoint. */
export async function chooseClassificationCheckpoint(): Promise<string | undefined> {
  const picked = await pickFile({
    title: 'DLA: checkpoint for Classify Image (remembered in dlaLens.checkpoint)',
    placeHolder: 'A timm DLA checkpoint with an ImageNet-1k head',
    extensions: CHECKPOINT_EXTENSIONS,
    filterName: 'Checkpoints',
  });
  if (!picked) return undefined;
  const file = picked instanceof vscode.Uri ? fileOf(picked) : picked;
  await config.rememberClassifyCheckpoint(file);
  return file;
}
