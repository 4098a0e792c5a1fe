import { readCheckpoint } from './formats/registry';
import { detectVariant } from './dla/detect';
import { isBatchNormBuffer, toTimmNames } from './dla/keymap';
import type { MismatchedKey, MissingKey, UnexpectedKey } from './dla/weightCheck';
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
  readonly metadata: Record<string, string>;
}

/** What `dla-lens inspect` and the checkpoint editor show: format, variant and key problems. */
export function inspectCheckpoint(path: string): InspectResult {
  const ckpt = readCheckpoint(path);
  const { tensors, renamed } = toTimmNames(ckpt.tensors);
  const detection = detectVariant(tensors);
  // Against the closest variant even when none fits, so the lists say what is wrong.
  const check = detection.candidates[0].check;
  let parameters = 0;
  for (const [name, t] of tensors) {
    if (!isBatchNormBuffer(name) && t.dtype !== 'int64') parameters += numel(t.shape);
  }
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
  };
}
