import * as path from 'path';
import { hubTarget, readHubConfig } from '../formats/hubFolder';
import { loadPreset } from './presetConfig';
import { presetFromTimmPretrainedCfg, type PreprocessPreset } from './presets';

/**
 * The preprocessing a run uses: the preset (or config file) asked for; else, for a timm hub folder,
 * the eval transform of its own pretrained_cfg (interpolation, crop_pct, crop_mode, mean, std), as
 * timm itself would build it for that checkpoint; else `timm` (DLA's pretrained_cfg).
 */
export function resolvePreset(name: string | undefined, configFile: string | undefined, checkpoint?: string): PreprocessPreset {
  if (name !== undefined || configFile !== undefined || checkpoint === undefined) return loadPreset(name, configFile);
  return hubPreset(checkpoint) ?? loadPreset(undefined, undefined);
}

/**
 * The config.json whose pretrained_cfg is the default preset of `checkpoint` (a timm hub folder or
 * its config.json), or undefined for any other checkpoint: what a run records to make the same
 * preset again (`--preset-config` takes it).
 */
export function hubConfigFile(checkpoint: string): string | undefined {
  return hubTarget(checkpoint)?.configFile;
}

/** The hub folder's own preset, or undefined when `checkpoint` is not a hub folder (or its config.json). */
export function hubPreset(checkpoint: string): PreprocessPreset | undefined {
  const target = hubTarget(checkpoint);
  if (!target) return undefined;
  const hub = readHubConfig(target);
  const preset = presetFromTimmPretrainedCfg(hub.pretrainedCfg, `hub:${path.basename(hub.folder)}`, `${hub.configFile}: pretrained_cfg`);
  return { ...preset, description: `${path.basename(hub.folder)}/config.json's pretrained_cfg: ${preset.description}` };
}
