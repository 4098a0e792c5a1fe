import * as fs from 'fs';
import * as path from 'path';
import { folderDataset, limited, listDataset } from '../model/eval/dataset';
import { evaluate, type EvalResult } from '../model/eval/evaluate';
import type { Ranked } from '../model/eval/scoring';
import { UsageError } from '../model/errors';
import { hubConfigFile, resolvePreset } from '../model/run/hubPreset';
import { IMAGENET_CLASSES } from '../model/run/labels';
import { thumbnail } from '../model/run/thumbnail';
import type { EvaluationData, RankedClass } from '../shared/evaluationProtocol';
import type { CallContext } from './operations';
import type { EvaluateParams } from './protocol';

/** Disagreements shown with a thumbnail each; the rest are counted (the predictions file has them all). */
const SHOWN_DISAGREEMENTS = 60;
const THUMBNAIL_SIDE = 112;

/** The engine's evaluate: dla-lens eval's own function, its result as the results page shows it. */
export async function runEvaluation(p: EvaluateParams, ctx: CallContext<'evaluate'>): Promise<EvaluationData> {
  if ((p.folder === undefined) === (p.list === undefined)) throw new UsageError('Give a folder of class folders, or a list file (with its root folder).');
  const dataset = limited(p.folder !== undefined ? folderDataset(p.folder) : listDataset(p.list!, p.root ?? path.dirname(p.list!)), p.limit);
  const preset = resolvePreset(p.preset?.preset, p.preset?.config, p.weights);
  const againstPreset = p.againstPreset ? resolvePreset(p.againstPreset.preset, p.againstPreset.config) : undefined;
  const r = await evaluate({
    weights: p.weights, weightsKey: p.weightsKey, dataset, preset, against: p.against, againstPreset, batch: p.batch, provider: p.provider,
    out: p.out, resume: p.resume, onProgress: (q) => ctx.progress(q), isCancelled: ctx.isCancelled,
  });
  // The preset as it can be made again: the one chosen, else a hub folder's config.json (its pretrained_cfg).
  const hubConfig = p.preset ? undefined : hubConfigFile(p.weights);
  const runPreset = p.preset ?? (hubConfig ? { preset: 'timm', config: hubConfig } : undefined);
  const run = { ...(runPreset ? { preset: runPreset } : {}), ...(p.against ? { against: p.against } : {}), ...(p.againstPreset ? { againstPreset: p.againstPreset } : {}) };
  return toEvaluationData(r, p.title, run, dataset.images);
}

async function toEvaluationData(r: EvalResult, title: string, run: EvaluationData['run'], images: readonly { file: string }[]): Promise<EvaluationData> {
  const name = (i: number): string => r.perClass.find((c) => c.index === i)?.name ?? IMAGENET_CLASSES[i]?.name ?? String(i);
  const ranked = (xs: readonly Ranked[]): RankedClass[] => xs.map(([index, prob]) => ({ index, name: IMAGENET_CLASSES[index]?.name ?? String(index), prob }));
  const shown = (r.disagreements ?? []).slice(0, SHOWN_DISAGREEMENTS);
  const disagreements = await Promise.all(shown.map(async (d) => {
    let thumb: string | null = null;
    try {
      thumb = (await thumbnail(fs.readFileSync(images[d.i].file), THUMBNAIL_SIDE)).uri;
    } catch {
      // The row stands without its picture.
    }
    return { i: d.i, image: d.image, file: images[d.i].file, label: d.label, labelName: name(d.label), a: ranked(d.a), b: ranked(d.b), thumbnail: thumb };
  }));
  return {
    title, run, weights: r.weights, dataset: r.dataset, preset: r.preset, presetDescription: r.presetDescription, provider: r.provider,
    count: r.count, total: r.total, imagesPerSecond: r.imagesPerSecond, partial: r.partial,
    top1: r.top1, top5: r.top5, correct1: r.correct1, correct5: r.correct5, loss: r.loss,
    failed: r.failed.map((f) => ({ image: f.image, error: f.error })),
    perClass: r.perClass.map((c) => ({ index: c.index, name: c.name, count: c.count, correct1: c.correct1, top1: c.top1 })),
    confusions: r.confusions.map((c) => ({ labelName: c.labelName, predictedName: c.predictedName, count: c.count })),
    ...(r.against ? {
      against: {
        top1: r.against.top1, top5: r.against.top5, correct1: r.against.correct1, correct5: r.against.correct5, loss: r.against.loss,
        source: r.against.source, kind: r.against.kind,
      },
      agreement: r.agreement!, meanAbsLogitDiff: r.meanAbsLogitDiff!, disagreements, disagreementCount: r.disagreements!.length,
    } : {}),
  };
}
