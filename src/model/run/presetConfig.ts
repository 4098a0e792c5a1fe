/**
 * A preset by name, optionally configured from a file: `timm` with a timm pretrained_cfg (a hub
 * config.json holding "pretrained_cfg", or the pretrained_cfg object itself), `paddleclas` with a
 * PaddleClas YAML. Without a name the file's extension decides (.json timm, .yaml/.yml paddleclas).
 */
import * as fs from 'fs';
import * as path from 'path';
import { FormatError, UsageError } from '../errors';
import { paddleClasPresetFromFile } from './paddleClasConfig';
import { PRESET_NAMES, presetByName, presetFromTimmPretrainedCfg, type PreprocessPreset, type TimmPretrainedCfg } from './presets';

export const CONFIGURABLE_PRESETS = ['timm', 'paddleclas'] as const;

export function loadPreset(name: string | undefined, configFile?: string): PreprocessPreset {
  if (configFile === undefined) return presetByName(name ?? 'timm');
  const ext = path.extname(configFile).toLowerCase();
  const preset = name ?? (ext === '.json' ? 'timm' : ext === '.yaml' || ext === '.yml' ? 'paddleclas' : undefined);
  if (preset === undefined) {
    throw new UsageError(`${configFile}: cannot tell which preset it configures from its extension '${ext}'; give --preset timm (a pretrained_cfg JSON) or --preset paddleclas (a PaddleClas YAML).`);
  }
  if (preset === 'paddleclas') return paddleClasPresetFromFile(configFile);
  if (preset === 'timm') return timmPresetFromFile(configFile);
  if (!PRESET_NAMES.includes(preset)) presetByName(preset); // the unknown-preset message
  throw new UsageError(`Preset '${preset}' takes no config file; a config file configures ${CONFIGURABLE_PRESETS.join(' (pretrained_cfg JSON) or ')} (PaddleClas YAML).`);
}

/** A timm hub config.json (its "pretrained_cfg") or a bare pretrained_cfg, as JSON. */
export function timmPresetFromFile(file: string): PreprocessPreset {
  let doc: unknown;
  try {
    doc = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code) throw e;
    throw new FormatError(file, `Not valid JSON (expected a timm config.json or pretrained_cfg): ${(e as Error).message}.`);
  }
  const hub = doc !== null && typeof doc === 'object' && !Array.isArray(doc) && 'pretrained_cfg' in doc;
  const cfg = hub ? (doc as { pretrained_cfg: unknown }).pretrained_cfg : doc;
  return presetFromTimmPretrainedCfg(cfg as TimmPretrainedCfg, 'timm', hub ? `${file}: pretrained_cfg` : file);
}
