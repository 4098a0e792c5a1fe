/**
 * The one protocol between the extension host and the engine process: every model call the
 * extension makes is a method here, with its parameters, its result and the progress it reports.
 * The host sends `call`s and `cancel`s; the engine answers each call with exactly one `result` or
 * `error`, and may send `progress` for it before that. Both ends are compiled from this file, so a
 * call with the wrong parameters, or a result read as the wrong type, does not compile.
 *
 * Messages cross a Node IPC channel with 'advanced' serialization (structured clone): typed
 * arrays (the detail pane's per-channel errors) cross as binary, not as JSON arrays of numbers.
 * Results are what the views show (the shared page vocabulary) plus the report itself.
 */
import type { CompareRequest } from '../model/compare/compare';
import type { CompareReport } from '../model/compare/types';
import type { ProviderSetting } from '../model/run/providers';
import type { CheckpointData } from '../shared/checkpointProtocol';
import type { ClassificationData } from '../shared/classificationProtocol';
import type { EvaluationData, PresetSpec } from '../shared/evaluationProtocol';
import type { ComparisonView, LayerDetailData, ViewTensorStats } from '../shared/comparisonProtocol';
import type { PreprocessingData } from '../shared/preprocessingProtocol';

export type { CompareReport, ProviderSetting };

/**
 * compare's request as it crosses into the engine: the model's CompareRequest without its callbacks
 * (the engine supplies progress and cancellation), with the settings the extension always sends.
 * No preset: compare's default (a hub folder's own pretrained_cfg, else timm).
 */
export type CompareParams =
  Pick<CompareRequest, 'reference' | 'candidate' | 'referenceKey' | 'candidateKey' | 'dump' | 'input' | 'limit' | 'preset'> &
  Required<Pick<CompareRequest, 'seed' | 'tolerance' | 'provider'>>;

/** A comparison the engine holds on to: the report, the page's view of it, and a handle for its records. */
export interface ComparisonResult {
  readonly report: CompareReport;
  readonly view: ComparisonView;
  /** Ask layerDetail with it; absent when no side's records can be had. */
  readonly handle?: number;
  /** Why per-record details cannot be shown, when they cannot. */
  readonly detailUnavailable?: string;
}

/**
 * A preprocessing preset by name, optionally configured from a file (`--preset NAME --preset-config
 * FILE`): timm, paddle or paddleclas, and/or a timm pretrained_cfg JSON (or hub config.json) or a
 * PaddleClas YAML; without a name the file's extension decides. The evaluation page's PresetSpec.
 */
export type PresetChoice = PresetSpec;

export interface EngineMethods {
  /** dla-lens compare; progress is the step being run ("Running dla60 (reference) on …"). */
  compare: { params: CompareParams; result: ComparisonResult; progress: string };
  /** A report JSON read back (DLA: Open Report, a reloaded window), its sides rebuilt from their files where they still exist. */
  openReport: { params: { file: string; provider: ProviderSetting }; result: ComparisonResult; progress: never };
  /** The report as JSON (reopenable) or as the self-contained HTML page. */
  writeReport: { params: { report: CompareReport; format: 'json' | 'html'; file: string }; result: null; progress: never };
  /** Per-channel errors and histograms of one record; both sides' records fetched (re-run once) on demand. */
  /** `image`: on many inputs, the image whose records to use (that image is re-run alone). */
  layerDetail: { params: { handle: number; layer: string; bins: number; image?: number }; result: LayerDetailData; progress: never };
  releaseComparison: { params: { handle: number }; result: null; progress: never };
  /** What the checkpoint editor shows. Tensor data is not read. */
  inspectCheckpoint: { params: { file: string; weightsKey?: string }; result: CheckpointData; progress: never };
  /** One tensor's statistics (the checkpoint editor's hover); the file's tensors stay read until released. */
  tensorStats: { params: { file: string; name: string; weightsKey?: string }; result: ViewTensorStats; progress: never };
  releaseCheckpoint: { params: { file: string }; result: null; progress: never };
  /** Classify Image: the top-5, how it was computed, and a thumbnail of the image. */
  classify: {
    /** `preset` absent: a hub folder's own pretrained_cfg, else timm. */
    params: { image: string; checkpoint: string; preset?: string; provider: ProviderSetting; weightsKey?: string };
    result: ClassificationData; progress: never;
  };
  /**
   * Compare Preprocessing: one image through two presets (comparePreprocessing, as `dla-lens
   * preprocess --against-preset`), both crops and the difference map as PNGs; with a checkpoint both
   * top-5s. Progress is the step being run.
   */
  comparePreprocessing: {
    params: { image: string; a: PresetChoice; b: PresetChoice; checkpoint?: string; weightsKey?: string; provider: ProviderSetting };
    result: PreprocessingData; progress: string;
  };
  /** DLA: Evaluate on Labelled Images (dla-lens eval); progress is the count, rate and ETA. */
  evaluate: { params: EvaluateParams; result: EvaluationData; progress: EvaluateProgress };
}

export interface EvaluateParams {
  readonly title: string;
  readonly weights: string;
  readonly weightsKey?: string;
  /** An ImageFolder tree, or a list file with the folder its paths are relative to. */
  readonly folder?: string;
  readonly list?: string;
  readonly root?: string;
  /** Absent: a hub folder's own pretrained_cfg, else timm. */
  readonly preset?: PresetChoice;
  readonly against?: string;
  readonly againstPreset?: PresetChoice;
  readonly batch?: number;
  readonly limit?: number;
  readonly provider: ProviderSetting;
  /** The predictions file (JSON lines); `resume` continues the run it records. */
  readonly out?: string;
  readonly resume?: boolean;
}

export interface EvaluateProgress {
  readonly done: number;
  readonly total: number;
  readonly imagesPerSecond: number;
  readonly etaSeconds?: number;
  readonly top1: number;
}

export type Method = keyof EngineMethods;
export type ParamsOf<M extends Method> = EngineMethods[M]['params'];
export type ResultOf<M extends Method> = EngineMethods[M]['result'];
export type ProgressOf<M extends Method> = EngineMethods[M]['progress'];

// #region host -> engine
export interface CallMessage<M extends Method = Method> {
  readonly kind: 'call';
  readonly id: number;
  readonly method: M;
  readonly params: ParamsOf<M>;
}
export interface CancelMessage {
  readonly kind: 'cancel';
  readonly id: number;
}
export type ToEngine = CallMessage | CancelMessage;
// #endregion

// #region engine -> host
export interface ProgressMessage {
  readonly kind: 'progress';
  readonly id: number;
  readonly value: unknown;
}
export interface ResultMessage {
  readonly kind: 'result';
  readonly id: number;
  readonly result: unknown;
}
/** `name` keeps the error's class across the boundary: CancelledError, FormatError, UsageError, … */
export interface ErrorMessage {
  readonly kind: 'error';
  readonly id: number;
  readonly error: { readonly name: string; readonly message: string; readonly stack?: string };
}
/** Something for the output channel, not tied to a call. */
export interface LogMessage {
  readonly kind: 'log';
  readonly level: 'info' | 'error';
  readonly message: string;
}
/** Sent once, when the engine has loaded its native modules and takes calls. */
export interface ReadyMessage {
  readonly kind: 'ready';
  readonly pid: number;
}
export type FromEngine = ProgressMessage | ResultMessage | ErrorMessage | LogMessage | ReadyMessage;
// #endregion

const METHODS: Record<Method, true> = {
  compare: true, openReport: true, writeReport: true, layerDetail: true, releaseComparison: true,
  inspectCheckpoint: true, tensorStats: true, releaseCheckpoint: true, classify: true,
  comparePreprocessing: true, evaluate: true,
};

export function isMethod(x: unknown): x is Method {
  return typeof x === 'string' && Object.prototype.hasOwnProperty.call(METHODS, x);
}
