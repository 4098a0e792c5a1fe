import { resolvePreset } from '../run/hubPreset';
import { PRESET_NAMES, type PreprocessPreset } from '../run/presets';

/** The options every command that preprocesses an image takes (spread into its parse() options). */
export const PRESET_OPTIONS = {
  preset: { type: 'string' },
  'preset-config': { type: 'string' },
} as const;

/** For usage lines: `[--preset timm|paddle|paddleclas] [--preset-config FILE]`. */
export const PRESET_USAGE = `[--preset ${PRESET_NAMES.join('|')}] [--preset-config FILE]`;

/** The preset the options name; when neither is given, a hub folder's own pretrained_cfg, else `timm`. */
export function presetFromOptions(values: { preset?: string; 'preset-config'?: string }, checkpoint?: string): PreprocessPreset {
  return resolvePreset(values.preset, values['preset-config'], checkpoint);
}
