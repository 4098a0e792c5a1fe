import { isImagePath, loadInput, seededInput, type ModelInput } from '../run/inputSource';
import { loadPreset } from '../run/presetConfig';
import type { InputSetSpec } from './inputSet';

/**
 * How a comparison's input was made, as data in the report, so that a reopened report (or a view
 * asking for a record) recomputes exactly the tensor the comparison ran on, without re-deciding it.
 */
export type InputSpec =
  | { readonly kind: 'image'; readonly file: string; readonly preset: string; readonly presetConfig?: string }
  /** The `input` array of an .npz/.npy: an input file, or the candidate's dump. */
  | { readonly kind: 'array'; readonly file: string }
  | { readonly kind: 'seeded'; readonly seed: number; readonly size: number }
  /** Many inputs (a folder, a list file, an array with a batch): see inputSet.ts. */
  | InputSetSpec;

export function isInputSet(spec: InputSpec | undefined): spec is InputSetSpec {
  return spec?.kind === 'images' || spec?.kind === 'batch';
}

export const SEEDED_SIZE = 224;

/** The spec for a compare request's input fields (the dump's own input, when it has one, is decided by the caller). */
export function inputSpecFor(input: string | undefined, preset: string, seed: number, dumpWithInput?: string, presetConfig?: string): InputSpec {
  if (input) return isImagePath(input) ? { kind: 'image', file: input, preset, ...(presetConfig ? { presetConfig } : {}) } : { kind: 'array', file: input };
  if (dumpWithInput) return { kind: 'array', file: dumpWithInput };
  return { kind: 'seeded', seed, size: SEEDED_SIZE };
}

export async function resolveInputSpec(spec: InputSpec): Promise<ModelInput> {
  switch (spec.kind) {
    case 'image': return loadInput(spec.file, spec.presetConfig ? loadPreset(spec.preset, spec.presetConfig) : spec.preset);
    case 'array': return loadInput(spec.file, 'timm');
    case 'seeded': return seededInput(spec.seed, spec.size);
    case 'images': case 'batch': throw new Error('resolveInputSpec: a set of inputs is read through InputSet (inputSet.ts), image by image.');
  }
}
