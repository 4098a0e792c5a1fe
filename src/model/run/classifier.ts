import * as fs from 'fs';
import type { ClassificationData } from '../../shared/classificationProtocol';
import { buildFastGraph } from '../dla/onnxGraph';
import { loadModel } from './loadModel';
import { topK } from './labels';
import { resolvePreset } from './hubPreset';
import { preprocessImage } from './preprocess';
import { createSession, describeSession, releaseSession, run, type ProviderSetting, type RunnerSession } from './session';

/**
 * One image classified: the top-5, what computed it, and how long each step took. The same record
 * the Classify Image page shows (declared with its protocol, which must not import model code),
 * less the thumbnail the engine adds.
 */
export type Classification = Omit<ClassificationData, 'thumbnail'>;

interface Loaded {
  readonly key: string;
  readonly variant: string;
  readonly session: RunnerSession;
}

/**
 * Classify Image's model (in the engine process): the checkpoint read once, turned into the fast ONNX graph (BatchNorm
 * folded) and kept in one onnxruntime session until the checkpoint, its mtime or the provider
 * setting changes, so that classifying a second image costs only preprocessing and inference.
 */
export class Classifier {
  private loaded: Loaded | undefined;

  /**
   * `preset` undefined: a hub folder's own pretrained_cfg, else timm. `weightsKey`: the dict of a
   * training checkpoint to take instead of the one that fits a DLA variant.
   */
  async classify(imageFile: string, checkpoint: string, preset: string | undefined, provider: ProviderSetting, weightsKey?: string): Promise<Classification> {
    let t = performance.now();
    const model = await this.load(checkpoint, provider, weightsKey);
    const load = performance.now() - t;

    t = performance.now();
    const p = resolvePreset(preset, undefined, checkpoint);
    const { input } = await preprocessImage(fs.readFileSync(imageFile), imageFile, p);
    const pre = performance.now() - t;

    t = performance.now();
    const out = await run(model.session, { input }, ['logits']);
    const inference = performance.now() - t;
    const logits = out.get('logits')!.data as Float32Array;
    return {
      image: imageFile, checkpoint, variant: model.variant, preset: p.name, presetDescription: p.description,
      provider: model.session.provider, providerDetail: describeSession(model.session),
      top: topK(logits, 5), timingsMs: { load, preprocess: pre, inference },
    };
  }

  async dispose(): Promise<void> {
    const l = this.loaded;
    this.loaded = undefined;
    if (l) await releaseSession(l.session);
  }

  private async load(checkpoint: string, provider: ProviderSetting, weightsKey: string | undefined): Promise<Loaded> {
    const key = `${checkpoint}|${fs.statSync(checkpoint).mtimeMs}|${provider}|${weightsKey ?? ''}`;
    if (this.loaded?.key === key) return this.loaded;
    await this.dispose();
    const model = loadModel(checkpoint, { weightsKey });
    const graph = buildFastGraph(model.tree, model.weights);
    const session = await createSession(graph.bytes, { provider });
    this.loaded = { key, variant: model.variant.name, session };
    return this.loaded;
  }
}
