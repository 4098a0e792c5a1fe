import { readCheckpoint } from './formats/registry';
import { detectVariant, hubArchitectureProblem } from './dla/detect';
import { isBatchNormBuffer, toTimmNames } from './dla/keymap';
import type { MismatchedKey, MissingKey, UnexpectedKey } from './dla/weightCheck';
import type { HubConfig } from './formats/hubFolder';
import type { WeightsSelection } from './formats/stateDict';
import { dlaReadOptions, type LoadOptions } from './run/loadModel';
import { numel, type DType, type FormatId } from './tensor';

export interface InspectResult {
  readonly file: string;
  readonly format: FormatId;
  /** The detected timm variant, or null. */
  readonly variant: string | null;
  readonly variantReason: string;
  /** Trainable parameters: every float tensor except BatchNorm running statistics. */
  readonly parameters: number;
  readonly tensors: { name: string; dtype: DType; shape: number[] }[];
  readonly missing: MissingKey[];
  readonly unexpected: UnexpectedKey[];
  readonly mismatched: MismatchedKey[];
  readonly knownUnused: string[];
  /** [name in the file, timm name] where they differ (Paddle's `_mean`/`_variance`). */
  readonly renamed: (readonly [string, string])[];
  /** What the reader found beside the tensors: epoch, arch, metric, args of a training checkpoint; safetensors' __metadata__; ... */
  readonly metadata: Record<string, string>;
  /** For a wrapped checkpoint: which dict of tensors was taken, why, and the alternatives (an EMA copy). */
  readonly weights?: WeightsSelection;
  /** For a timm hub folder: its config, and whether its architecture matches the weights (`problem` when not). */
  readonly hub?: HubConfig & { readonly problem?: string };
}

/** What `dla-lens inspect` and the checkpoint editor show: format, variant and key problems. */
export function inspectCheckpoint(path: string, options: LoadOptions = {}): InspectResult {
  // Lazily: names, dtypes and shapes are all this needs; no tensor data is read.
  const ckpt = readCheckpoint(path, { ...dlaReadOptions(options), lazy: true });
  const { tensors, renamed } = toTimmNames(ckpt.tensors);
  const detection = detectVariant(tensors);
  // Against the closest variant even when none fits, so the lists say what is wrong.
  const check = detection.candidates[0].check;
  let parameters = 0;
  for (const [name, t] of tensors) {
    if (!isBatchNormBuffer(name) && t.dtype !== 'int64') parameters += numel(t.shape);
  }
  const hubProblem = ckpt.hub ? hubArchitectureProblem(ckpt.hub, detection) : undefined;
  return {
    file: path,
    format: ckpt.format,
    variant: detection.variant?.name ?? null,
    variantReason: detection.reason,
    parameters,
    tensors: [...ckpt.tensors].map(([name, t]) => ({ name, dtype: t.dtype, shape: [...t.shape] })),
    missing: check.missing,
    unexpected: check.unexpected,
    mismatched: check.mismatched,
    knownUnused: check.knownUnused,
    renamed: [...renamed],
    metadata: ckpt.metadata,
    ...(ckpt.weights ? { weights: ckpt.weights } : {}),
    ...(ckpt.hub ? { hub: { ...ckpt.hub, ...(hubProblem ? { problem: hubProblem } : {}) } } : {}),
  };
}
