import { readCheckpoint } from '../formats/registry';
import { chooseDlaWeights, detectVariant, hubArchitectureProblem, type Detection } from '../dla/detect';
import { toTimmNames } from '../dla/keymap';
import { buildModuleTree, type ModuleNode } from '../dla/moduleTree';
import { describeWeightCheck } from '../dla/weightCheck';
import type { DlaVariant } from '../dla/variants';
import { UsageError } from '../errors';
import type { ReadOptions } from '../formats/stateDict';
import type { Checkpoint, Tensor } from '../tensor';

/** A checkpoint ready to run: timm-named weights, its detected variant and module tree. */
export interface LoadedModel {
  readonly checkpoint: Checkpoint;
  readonly weights: Map<string, Tensor>;
  readonly variant: DlaVariant;
  readonly tree: ModuleNode;
  readonly detection: Detection;
}

export interface LoadOptions {
  /**
   * In a training checkpoint, the dict to take ('state_dict_ema'; '.' for the top level) instead
   * of the one that best fits a DLA variant.
   */
  readonly weightsKey?: string;
}

/** How DLA models are read: the DLA-fitting dict of a wrapped checkpoint unless a key is given. */
export function dlaReadOptions(options: LoadOptions = {}): ReadOptions {
  return { weightsKey: options.weightsKey, chooseWeights: chooseDlaWeights };
}

/**
 * Reads and identifies a checkpoint (a file, or a timm hub folder). A file that fits no variant is
 * refused here, with the closest variant's missing/mismatched keys, because running it would
 * compute something else; so is a hub folder whose config names another architecture.
 */
export function loadModel(path: string, options: LoadOptions = {}): LoadedModel {
  return modelFromCheckpoint(readCheckpoint(path, dlaReadOptions(options)));
}

export function modelFromCheckpoint(checkpoint: Checkpoint): LoadedModel {
  const { tensors } = toTimmNames(checkpoint.tensors);
  const detection = detectVariant(tensors);
  const hubProblem = checkpoint.hub ? hubArchitectureProblem(checkpoint.hub, detection) : undefined;
  if (!detection.variant) {
    const details = describeWeightCheck(detection.candidates[0].check, 5).map((l) => `  ${l}`).join('\n');
    throw new UsageError(`${checkpoint.file}: cannot run it as a DLA model. ${detection.reason}${hubProblem ? ` ${hubProblem}` : ''}\n${details}`);
  }
  if (hubProblem) throw new UsageError(hubProblem);
  return { checkpoint, weights: tensors, variant: detection.variant, tree: buildModuleTree(detection.variant), detection };
}
