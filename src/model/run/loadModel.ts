import { readCheckpoint } from '../formats/registry';
import { detectVariant, type Detection } from '../dla/detect';
import { toTimmNames } from '../dla/keymap';
import { buildModuleTree, type ModuleNode } from '../dla/moduleTree';
import { describeWeightCheck } from '../dla/weightCheck';
import type { DlaVariant } from '../dla/variants';
import { UsageError } from '../errors';
import type { Checkpoint, Tensor } from '../tensor';

/** A checkpoint ready to run: timm-named weights, its detected variant and module tree. */
export interface LoadedModel {
  readonly checkpoint: Checkpoint;
  readonly weights: Map<string, Tensor>;
  readonly variant: DlaVariant;
  readonly tree: ModuleNode;
  readonly detection: Detection;
}

/**
 * Reads and identifies a checkpoint. A file that fits no variant is refused here, with the
 * closest variant's missing/mismatched keys, because running it would compute something else.
 */
export function loadModel(path: string): LoadedModel {
  return modelFromCheckpoint(readCheckpoint(path));
}

export function modelFromCheckpoint(checkpoint: Checkpoint): LoadedModel {
  const { tensors } = toTimmNames(checkpoint.tensors);
  const detection = detectVariant(tensors);
  if (!detection.variant) {
    const details = describeWeightCheck(detection.candidates[0].check, 5).map((l) => `  ${l}`).join('\n');
    throw new UsageError(`${checkpoint.file}: cannot run it as a DLA model. ${detection.reason}\n${details}`);
  }
  return { checkpoint, weights: tensors, variant: detection.variant, tree: buildModuleTree(detection.variant), detection };
}
