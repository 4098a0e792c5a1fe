import * as fs from 'fs';
import * as path from 'path';
import { throwIfCancelled, type CancelCheck } from '../model/cancel';
import { compare } from '../model/compare/compare';
import { htmlReport } from '../model/compare/htmlReport';
import { layerDetail } from '../model/compare/layerDetail';
import { tensorStats } from '../model/compare/metrics';
import { sourcesForReport, type ComparisonSources } from '../model/compare/recordSources';
import { reportFromJson, reportToJson } from '../model/compare/reportJson';
import type { CompareReport } from '../model/compare/types';
import { toComparisonView, toViewModule } from '../model/compare/viewModel';
import { buildModuleTree } from '../model/dla/moduleTree';
import { variantByName } from '../model/dla/variants';
import { readCheckpoint } from '../model/formats/registry';
import { inspectCheckpoint } from '../model/inspect';
import { Classifier } from '../model/run/classifier';
import { comparePreprocessing } from '../model/run/comparePreprocessing';
import { dlaReadOptions, loadModel, type LoadedModel } from '../model/run/loadModel';
import { loadPreset } from '../model/run/presetConfig';
import { thumbnail } from '../model/run/thumbnail';
import { toFloat32, type Checkpoint } from '../model/tensor';
import type { ClassificationData } from '../shared/classificationProtocol';
import type { PreprocessingData } from '../shared/preprocessingProtocol';
import { preprocessingData } from './preprocessingView';
import { runEvaluation } from './evaluation';
import type { ComparisonResult, Method, ParamsOf, ProgressOf, ResultOf } from './protocol';

/** What a method gets besides its parameters: a way to report progress and to see a Cancel. */
export interface CallContext<M extends Method> {
  progress(value: ProgressOf<M>): void;
  readonly isCancelled: CancelCheck;
}

type Operations = { [M in Method]: (params: ParamsOf<M>, ctx: CallContext<M>) => Promise<ResultOf<M>> };

const THUMBNAIL_SIDE = 448;

/**
 * The engine's methods: each one a thin call of the same model functions the CLI calls, plus the
 * state the extension needs between calls (the records behind an open comparison, the tensors of
 * an open checkpoint, Classify Image's loaded session). Runs in the engine process only.
 */
export class Engine implements Operations {
  private readonly comparisons = new Map<number, ComparisonSources>();
  private readonly checkpoints = new Map<string, Checkpoint>();
  private readonly classifier = new Classifier();
  private nextHandle = 1;

  async compare(p: ParamsOf<'compare'>, ctx: CallContext<'compare'>): Promise<ComparisonResult> {
    const c = await compare({ ...p, onProgress: (m) => ctx.progress(m), isCancelled: ctx.isCancelled });
    return this.hold(c.report, c);
  }

  async openReport(p: ParamsOf<'openReport'>): Promise<ComparisonResult> {
    const report = reportFromJson(fs.readFileSync(p.file, 'utf8'), p.file);
    try {
      return this.hold(report, await sourcesForReport(report, p.provider));
    } catch (err) {
      return { report, view: toComparisonView(report), detailUnavailable: `Per-channel errors need both sides' records: ${(err as Error).message}` };
    }
  }

  async writeReport(p: ParamsOf<'writeReport'>): Promise<null> {
    fs.mkdirSync(path.dirname(p.file), { recursive: true });
    fs.writeFileSync(p.file, p.format === 'html' ? htmlReport(p.report) : reportToJson(p.report));
    return null;
  }

  async layerDetail(p: ParamsOf<'layerDetail'>): Promise<ResultOf<'layerDetail'>> {
    const c = this.comparisons.get(p.handle);
    if (!c || !c.candidate) throw new Error('The records behind this comparison are no longer held by the engine; run DLA: Compare Checkpoints again.');
    // On many inputs each side re-runs the one image asked for (the batch view asks for the worst one).
    const [a, b] = await Promise.all([c.reference.get(p.layer, p.image), c.candidate.get(p.layer, p.image)]);
    if (!a || !b) {
      const where = !a ? `the reference (${c.reference.description})` : `the candidate (${c.candidate.description})`;
      throw new Error(`'${p.layer}' is not recorded in ${where}.`);
    }
    return layerDetail(p.layer, a, b, p.bins);
  }

  async releaseComparison(p: ParamsOf<'releaseComparison'>): Promise<null> {
    const c = this.comparisons.get(p.handle);
    c?.reference.release();
    c?.candidate?.release();
    this.comparisons.delete(p.handle);
    return null;
  }

  async inspectCheckpoint(p: ParamsOf<'inspectCheckpoint'>): Promise<ResultOf<'inspectCheckpoint'>> {
    const start = performance.now();
    const r = inspectCheckpoint(p.file, { weightsKey: p.weightsKey });
    const variant = r.variant ? variantByName(r.variant) : undefined;
    return {
      file: r.file, format: r.format, variant: r.variant, variantReason: r.variantReason, parameters: r.parameters,
      tensors: r.tensors, tree: variant ? toViewModule(buildModuleTree(variant)) : null,
      missing: r.missing, unexpected: r.unexpected, mismatched: r.mismatched, knownUnused: r.knownUnused,
      renamed: r.renamed, metadata: r.metadata, readMs: performance.now() - start,
    };
  }

  async tensorStats(p: ParamsOf<'tensorStats'>): Promise<ResultOf<'tensorStats'>> {
    // One lazy read per file and weights key, with the DLA chooser as inspect reads it (the same
    // names): a hover reads one tensor.
    const key = `${p.file}\u0000${p.weightsKey ?? ''}`;
    let ckpt = this.checkpoints.get(key);
    if (!ckpt) this.checkpoints.set(key, (ckpt = readCheckpoint(p.file, { ...dlaReadOptions({ weightsKey: p.weightsKey }), lazy: true })));
    const t = ckpt.tensors.get(p.name);
    if (!t) throw new Error(`'${p.name}' is not a tensor of ${path.basename(p.file)}.`);
    return tensorStats(toFloat32(t), t.shape);
  }

  async releaseCheckpoint(p: ParamsOf<'releaseCheckpoint'>): Promise<null> {
    for (const key of [...this.checkpoints.keys()]) if (key.startsWith(`${p.file}\u0000`)) this.checkpoints.delete(key);
    return null;
  }

  async classify(p: ParamsOf<'classify'>): Promise<ClassificationData> {
    const c = await this.classifier.classify(p.image, p.checkpoint, p.preset, p.provider, p.weightsKey);
    let thumb: ClassificationData['thumbnail'] = null;
    try {
      thumb = await thumbnail(fs.readFileSync(p.image), THUMBNAIL_SIDE);
    } catch {
      // The result stands without the picture (the page says the image could not be shown).
    }
    return {
      image: c.image, thumbnail: thumb, checkpoint: c.checkpoint, variant: c.variant, preset: c.preset,
      presetDescription: c.presetDescription, provider: c.provider, providerDetail: c.providerDetail,
      top: c.top.map((t) => ({ index: t.index, wnid: t.wnid, label: t.label, prob: t.prob })), timingsMs: { ...c.timingsMs },
    };
  }

  async comparePreprocessing(p: ParamsOf<'comparePreprocessing'>, ctx: CallContext<'comparePreprocessing'>): Promise<PreprocessingData> {
    const start = performance.now();
    // The presets first: a bad config file is said before a checkpoint is read.
    const presetA = loadPreset(p.a.preset, p.a.config);
    const presetB = loadPreset(p.b.preset, p.b.config);
    const bytes = new Uint8Array(fs.readFileSync(p.image));
    let model: LoadedModel | undefined;
    if (p.checkpoint) {
      ctx.progress(`Reading ${path.basename(p.checkpoint)}`);
      model = loadModel(p.checkpoint, { weightsKey: p.weightsKey });
      await throwIfCancelled(ctx.isCancelled, 'Compare Preprocessing');
    }
    ctx.progress(`${presetA.name} vs ${presetB.name} on ${path.basename(p.image)}${model ? `, classified by ${model.variant.name}` : ''}`);
    const c = await comparePreprocessing(bytes, p.image, presetA, presetB, { model, k: 5, provider: p.provider });
    return preprocessingData(c, {
      configA: p.a.config, configB: p.b.config, checkpoint: p.checkpoint, variant: model?.variant.name, ms: performance.now() - start,
    });
  }

  evaluate(p: ParamsOf<'evaluate'>, ctx: CallContext<'evaluate'>): Promise<ResultOf<'evaluate'>> {
    return runEvaluation(p, ctx);
  }

  async dispose(): Promise<void> {
    this.comparisons.clear();
    this.checkpoints.clear();
    await this.classifier.dispose();
  }

  private hold(report: CompareReport, sources: ComparisonSources): ComparisonResult {
    const view = toComparisonView(report);
    if (!sources.candidate) {
      return { report, view, detailUnavailable: 'The candidate cannot be run (its weights are missing or of the wrong shape), so it has no records to show.' };
    }
    const handle = this.nextHandle++;
    this.comparisons.set(handle, sources);
    return { report, view, handle };
  }
}
