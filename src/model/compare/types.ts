/**
 * The comparison vocabulary shared by the compare engine, the CLI reports and the extension (which
 * hands summaries of it to the webview). Layer names are timm module paths / hook record keys.
 */
import type { ViewDiffMetrics, ViewImageLayer, ViewTensorStats } from '../../shared/comparisonProtocol';

// A record's summaries are defined once, with the protocol that carries them to the comparison
// page (which must not import model code).
export type TensorStats = ViewTensorStats;
export type DiffMetrics = ViewDiffMetrics;
/** One image's figures for one record (its shapes are the record's with a batch of 1). */
export type ImageLayerResult = ViewImageLayer;

export interface LayerResult {
  /** Record key: timm module path, with `#k` for the k-th call of a shared ReLU. */
  readonly name: string;
  readonly reference: TensorStats;
  readonly candidate: TensorStats;
  readonly diff: DiffMetrics;
  /**
   * Error the block adds by itself: the block re-run on the candidate's own inputs and compared
   * with the candidate's output. Present for blocks, roots and trees when their inputs are known.
   */
  readonly local?: DiffMetrics;
  /** A comparison on many inputs: every image's own figures (the fields above are the whole batch's). */
  readonly batch?: LayerBatch;
}

export interface LayerBatch {
  /** Index (into BatchSummary.images) of the image with the largest scaled error here; a NaN counts as the largest. */
  readonly worst: number;
  /** Per image, in BatchSummary.images order. */
  readonly images: readonly ImageLayerResult[];
}

/**
 * A comparison on many inputs. Its layers' figures are the batch's: each image's sufficient
 * statistics combined (max of the maxima, mean |a-b| over every value, relative L2 and cosine from
 * the pooled sums), judged by the report's rule as one tensor. Each layer also carries every image's
 * own figures and the worst image.
 */
export interface BatchSummary {
  /** How each image is named: its path relative to the folder or list, or `input[i]`. */
  readonly images: readonly string[];
  /** Per image, its own first divergence under the report's rule. */
  readonly firstDivergence: readonly (string | null)[];
  /** The image the local errors and the diagnosis are of: the worst at the first divergence (else at the last record). */
  readonly focus: number;
  /** 'in-graph': both models in one onnxruntime graph reducing each record pair there; 'records': records compared in JavaScript. */
  readonly method: 'in-graph' | 'records';
  /** Images compared in JavaScript instead, exactly (a non-finite value, or a verdict too close to call in float32). */
  readonly exact?: readonly number[];
  /** Images per onnxruntime run. */
  readonly chunk: number;
}

export type { ToleranceRule } from '../../shared/tolerance';
import type { InputSpec } from './inputSpec';
import type { ToleranceRule } from '../../shared/tolerance';

export interface WeightResult {
  readonly name: string;
  readonly shape: readonly number[];
  readonly maxAbs: number;
  readonly identical: boolean;
}

export interface WeightDiff {
  readonly compared: readonly WeightResult[];
  readonly missing: readonly { name: string; expected: readonly number[] }[];
  readonly unexpected: readonly { name: string; shape: readonly number[] }[];
  readonly mismatched: readonly { name: string; expected: readonly number[]; found: readonly number[] }[];
}

export type DiagnosisCause =
  | 'padding' | 'bn-eps' | 'bn-batch-stats' | 'bgr-input' | 'missing-relu' | 'avgpool-count-pad' | 'unknown';

export interface Hypothesis {
  readonly cause: DiagnosisCause;
  /** Where the mistake was applied (module path). */
  readonly at: string;
  /** Error left between the hypothesis and the candidate at the divergent layer, scaled like scaledMaxAbs. */
  readonly residual: number;
  readonly explanation: string;
}

export interface Unmatched {
  readonly onlyReference: readonly string[];
  readonly onlyCandidate: readonly string[];
  /** `index`: how many compared layers precede it in execution order (where it diverges, under any rule). */
  readonly shapeMismatch: readonly { name: string; reference: readonly number[]; candidate: readonly number[]; index: number }[];
}

export interface SideInfo {
  readonly file: string;
  readonly format: string;
  readonly kind: 'checkpoint' | 'dump' | 'onnx';
  readonly variant: string | null;
  /** In a training checkpoint, the dict of tensors asked for (--weights-key), so a reopened report reads the same weights. */
  readonly weightsKey?: string;
}

export interface CompareReport {
  readonly version: 1;
  readonly reference: SideInfo;
  readonly candidate: SideInfo;
  readonly input: { readonly source: string; readonly shape: readonly number[] };
  /** How the input was made, so that the records behind the report can be recomputed (absent in reports before 0.2). */
  readonly inputSpec?: InputSpec;
  readonly provider: string;
  readonly tolerance: ToleranceRule;
  readonly weights: WeightDiff | null;
  /** Execution order. */
  readonly layers: readonly LayerResult[];
  readonly firstDivergence: string | null;
  /** Module ids of the tree that the candidate did not cover (a partial dump); outermost only. */
  readonly uncovered: readonly string[];
  /** Records that could not be paired: only in one side, or with different shapes. */
  readonly unmatched: Unmatched;
  /** Best first; empty when nothing diverges. */
  readonly diagnosis: readonly Hypothesis[];
  readonly timingsMs: Readonly<Record<string, number>>;
  /** Sentences on what was not compared and why (an ONNX candidate: weights, folded BatchNorms). */
  readonly notes?: readonly string[];
  /** Present when the comparison ran on many inputs (a folder, a list, a batch). */
  readonly batch?: BatchSummary;
}
