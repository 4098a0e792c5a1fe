import * as fs from 'fs';
import * as path from 'path';
import { detectVariant } from '../model/dla/detect';
import { toTimmNames } from '../model/dla/keymap';
import { buildModuleTree } from '../model/dla/moduleTree';
import { buildFastGraph } from '../model/dla/onnxGraph';
import { readCheckpoint } from '../model/formats/registry';
import { topK, type Prediction } from '../model/run/labels';
import { presetByName } from '../model/run/preprocess';
import { preprocessImage } from '../model/run/preprocess';
import { createSession, describeSession, releaseSession, run, type RunnerSession } from '../model/run/session';
import type { PreprocessingSetting, ProviderSetting } from './config';

export interface Classification {
  readonly image: string;
  readonly checkpoint: string;
  readonly variant: string;
  readonly preset: string;
  readonly presetDescription: string;
  readonly provider: string;
  /** "cpu (cuda failed: …)" */
  readonly providerDetail: string;
  readonly top: readonly Prediction[];
  readonly timingsMs: { readonly load: number; readonly preprocess: number; readonly inference: number };
}

interface Loaded {
  readonly key: string;
  readonly variant: string;
  readonly session: RunnerSession;
}

/**
 * Classify Image's model: the checkpoint read once, turned into the fast ONNX graph (BatchNorm
 * folded) and kept in one onnxruntime session until the checkpoint, its mtime or the provider
 * setting changes, so that classifying a second image costs only preprocessing and inference.
 */
export class Classifier {
  private loaded: Loaded | undefined;

  async classify(imageFile: string, checkpoint: string, preset: PreprocessingSetting, provider: ProviderSetting): Promise<Classification> {
    let t = performance.now();
    const model = await this.load(checkpoint, provider);
    const load = performance.now() - t;

    t = performance.now();
    const p = presetByName(preset);
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

  private async load(checkpoint: string, provider: ProviderSetting): Promise<Loaded> {
    const key = `${checkpoint}|${fs.statSync(checkpoint).mtimeMs}|${provider}`;
    if (this.loaded?.key === key) return this.loaded;
    await this.dispose();
    const { tensors } = toTimmNames(readCheckpoint(checkpoint).tensors);
    const detection = detectVariant(tensors);
    if (!detection.variant) {
      throw new Error(`${path.basename(checkpoint)} cannot be classified with: ${detection.reason}`);
    }
    const graph = buildFastGraph(buildModuleTree(detection.variant), tensors);
    const session = await createSession(graph.bytes, { provider });
    this.loaded = { key, variant: detection.variant.name, session };
    return this.loaded;
  }
}
