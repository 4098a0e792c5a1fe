import * as fs from 'fs';
import * as path from 'path';
import { FormatError } from '../errors';

/**
 * timm's hub layout (timm/models/_hub.py): a folder with `config.json` and the weights, which timm
 * looks for as model.safetensors, pytorch_model.bin, pytorch_model.pth, model.pth, then the first
 * *.safetensors, *.pth, *.pth.tar, *.bin. config.json is what `save_config_for_hf` writes:
 *
 *   {"architecture": "dla60", "num_classes": 1000, "num_features": 1024, "global_pool": "avg",
 *    "pretrained_cfg": {"tag": "in1k", "input_size": [3, 224, 224], "interpolation": "bilinear",
 *                       "crop_pct": 0.875, "crop_mode": "center", "mean": [...], "std": [...], ...}}
 *
 * or, from older timm, one flat dict that is the pretrained_cfg with "architecture" inside. Here
 * the config is parsed and its known fields type-checked (unknown fields are kept as parsed); what
 * the architecture and the preprocessing mean is for the layers above (dla/, run/).
 */

export const HUB_CONFIG = 'config.json';
const PREFERRED_WEIGHTS = ['model.safetensors', 'pytorch_model.bin', 'pytorch_model.pth', 'model.pth'];
const WEIGHT_EXTENSIONS = ['.safetensors', '.pth', '.pth.tar', '.bin'];
/** ImageNet-21k label names fit in well under a megabyte; anything near this is not a timm config. */
const MAX_CONFIG_BYTES = 16 << 20;

/** timm's PretrainedCfg fields this project may use, as config.json spells them; other fields are kept. */
export interface PretrainedCfg {
  readonly tag?: string;
  readonly input_size?: readonly number[];
  readonly test_input_size?: readonly number[];
  readonly min_input_size?: readonly number[];
  readonly fixed_input_size?: boolean;
  readonly interpolation?: string;
  readonly crop_pct?: number;
  readonly test_crop_pct?: number;
  readonly crop_mode?: string;
  readonly mean?: readonly number[];
  readonly std?: readonly number[];
  readonly num_classes?: number;
  readonly label_offset?: number | null;
  readonly label_names?: readonly string[] | Readonly<Record<string, string>>;
  readonly pool_size?: readonly number[] | null;
  readonly first_conv?: string | null;
  readonly classifier?: string | null;
  readonly [field: string]: unknown;
}

export interface HubConfig {
  readonly folder: string;
  readonly configFile: string;
  /** The weights file read (timm's order of preference). */
  readonly weightsFile: string;
  /** The timm model name ('dla60'); a 'name.tag' form is kept as written. */
  readonly architecture: string;
  /** Top-level num_classes (timm copies it into pretrained_cfg too). */
  readonly numClasses?: number;
  /** Validated: every known field has the type timm gives it; unknown fields are kept as parsed. */
  readonly pretrainedCfg: PretrainedCfg;
  /** The other top-level fields (num_features, global_pool, model_args, ...), as parsed. */
  readonly extra: Readonly<Record<string, unknown>>;
  /** Other weights files in the folder that were not read, and similar remarks. */
  readonly notes: readonly string[];
}

/** The folder and config.json a path names, when it is a hub folder or its config.json; else undefined. */
export function hubTarget(given: string): { folder: string; configFile: string } | undefined {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(given);
  } catch {
    return undefined; // the reader that opens it says it does not exist
  }
  if (stat.isDirectory()) return { folder: given, configFile: path.join(given, HUB_CONFIG) };
  if (/\.json$/i.test(given)) return { folder: path.dirname(given), configFile: given };
  return undefined;
}

/** Parse and check config.json, and find the weights file beside it (not read here). */
export function readHubConfig(target: { folder: string; configFile: string }): HubConfig {
  const { folder, configFile } = target;
  if (!fs.existsSync(configFile)) {
    throw new FormatError(
      folder,
      `A folder is read as a timm hub folder (config.json beside model.safetensors or pytorch_model.bin), but this one has no ${HUB_CONFIG}. ` +
        'Give the weights file itself instead.',
    );
  }
  const size = fs.statSync(configFile).size;
  if (size > MAX_CONFIG_BYTES) {
    throw new FormatError(configFile, `A timm config.json is a few kilobytes; this one has ${size} bytes, more than the 16 MB limit.`, 0);
  }
  const text = fs.readFileSync(configFile, 'utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    const at = /position (\d+)/.exec((e as Error).message);
    throw new FormatError(configFile, `The file is not valid JSON: ${(e as Error).message}.`, at ? Number(at[1]) : 0);
  }
  if (!isObject(json)) throw new FormatError(configFile, `Expected a JSON object with 'architecture' and 'pretrained_cfg' but found ${kind(json)}.`, 0);
  const config = parseConfig(json, configFile);
  const { weightsFile, notes } = findWeights(folder);
  return { folder, configFile, weightsFile, ...config, notes };
}

function parseConfig(json: Record<string, unknown>, file: string): Omit<HubConfig, 'folder' | 'configFile' | 'weightsFile' | 'notes'> {
  // Older timm wrote the pretrained_cfg itself at the top, with the architecture inside it.
  const flat = !('pretrained_cfg' in json);
  const top = flat ? { architecture: json.architecture, num_features: json.num_features } : json;
  const rawCfg: unknown = flat ? omit(json, ['architecture', 'num_features']) : json.pretrained_cfg;
  if (!isObject(rawCfg)) fail(file, 'pretrained_cfg', 'a JSON object', rawCfg);
  const cfg: Record<string, unknown> = { ...(rawCfg as Record<string, unknown>) };
  if (flat && 'labels' in cfg) {
    cfg.label_names = cfg.labels;
    delete cfg.labels;
  }
  const architecture = top.architecture;
  if (typeof architecture !== 'string' || architecture === '') fail(file, 'architecture', "the timm model name (a string such as 'dla60')", architecture);
  // timm lets the top level override these (load_model_config_from_path).
  for (const key of ['num_classes', 'label_names', 'label_descriptions']) if (!flat && key in json) cfg[key] = json[key];
  for (const [key, check] of Object.entries(CHECKS)) {
    if (key in cfg) check(cfg[key], `pretrained_cfg.${key}`, file);
  }
  const input = cfg.input_size as number[] | undefined;
  for (const key of ['mean', 'std']) {
    const v = cfg[key] as number[] | undefined;
    if (v && input && v.length !== 1 && v.length !== input[0]) {
      throw new FormatError(file, `pretrained_cfg.${key} has ${v.length} values but input_size has ${input[0]} channels.`, undefined, `pretrained_cfg.${key}`);
    }
  }
  const numClasses = flat ? undefined : json.num_classes;
  if (numClasses !== undefined) nonNegativeInt(numClasses, 'num_classes', file);
  const extra = flat ? {} : omit(json, ['architecture', 'num_classes', 'pretrained_cfg']);
  return { architecture: architecture as string, numClasses: numClasses as number | undefined, pretrainedCfg: cfg as PretrainedCfg, extra };
}

function findWeights(folder: string): { weightsFile: string; notes: string[] } {
  const names = fs.readdirSync(folder).filter((n) => fs.statSync(path.join(folder, n)).isFile());
  const preferred = PREFERRED_WEIGHTS.filter((n) => names.includes(n));
  let chosen = preferred[0];
  if (!chosen) {
    for (const ext of WEIGHT_EXTENSIONS) {
      const match = names.filter((n) => n.endsWith(ext) && !(ext === '.pth' && n.endsWith('.pth.tar'))).sort();
      if (match.length > 0) {
        chosen = match[0];
        break;
      }
    }
  }
  if (!chosen) {
    const sharded = names.some((n) => n.endsWith('.index.json')) ? ' It holds a sharded index (*.index.json), which is not supported.' : '';
    throw new FormatError(
      folder,
      `The hub folder has no weights file: expected one of ${PREFERRED_WEIGHTS.join(', ')} (or a *.safetensors, *.pth or *.bin) beside config.json.${sharded}`,
    );
  }
  const others = names.filter((n) => n !== chosen && (PREFERRED_WEIGHTS.includes(n) || WEIGHT_EXTENSIONS.some((e) => n.endsWith(e))));
  const notes = others.length > 0 ? [`${others.join(', ')} ${others.length > 1 ? 'are' : 'is'} also there; ${chosen} was read, as timm would`] : [];
  return { weightsFile: path.join(folder, chosen), notes };
}

type Check = (v: unknown, key: string, file: string) => void;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function kind(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === 'object') return 'an object';
  const s = JSON.stringify(v);
  return `${typeof v} ${s.length > 40 ? `${s.slice(0, 40)}...` : s}`;
}

function fail(file: string, key: string, expected: string, found: unknown): never {
  throw new FormatError(file, `Expected ${key} to be ${expected} but found ${kind(found)}.`, undefined, key);
}

function omit(o: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([k]) => !keys.includes(k)));
}

const text: Check = (v, key, file) => {
  if (typeof v !== 'string' || v === '') fail(file, key, 'a non-empty string', v);
};
const textOrNull: Check = (v, key, file) => {
  if (v !== null && typeof v !== 'string') fail(file, key, 'a string or null', v);
};
const bool: Check = (v, key, file) => {
  if (typeof v !== 'boolean') fail(file, key, 'true or false', v);
};
const positive: Check = (v, key, file) => {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) fail(file, key, 'a number greater than 0', v);
};
const nonNegativeInt: Check = (v, key, file) => {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) fail(file, key, 'a non-negative integer', v);
};
const intOrNull: Check = (v, key, file) => {
  if (v !== null && (typeof v !== 'number' || !Number.isSafeInteger(v))) fail(file, key, 'an integer or null', v);
};
const inputSize: Check = (v, key, file) => {
  if (!Array.isArray(v) || v.length !== 3 || !v.every((d) => Number.isSafeInteger(d) && d > 0)) {
    fail(file, key, '[channels, height, width], three positive integers', v);
  }
};
const sizesOrNull: Check = (v, key, file) => {
  if (v !== null && (!Array.isArray(v) || !v.every((d) => Number.isSafeInteger(d) && d > 0))) fail(file, key, 'a list of positive integers or null', v);
};
const numbers = (min: number, what: string): Check => (v, key, file) => {
  if (!Array.isArray(v) || v.length === 0 || !v.every((x) => typeof x === 'number' && Number.isFinite(x) && x > min)) fail(file, key, what, v);
};
const labels: Check = (v, key, file) => {
  const ok = Array.isArray(v) ? v.every((x) => typeof x === 'string') : isObject(v) && Object.values(v).every((x) => typeof x === 'string');
  if (!ok) fail(file, key, 'a list of strings or an object of strings', v);
};

const CHECKS: Record<string, Check> = {
  tag: text,
  architecture: text,
  input_size: inputSize,
  test_input_size: (v, k, f) => v !== null && inputSize(v, k, f),
  min_input_size: (v, k, f) => v !== null && inputSize(v, k, f),
  fixed_input_size: bool,
  custom_load: bool,
  interpolation: text,
  crop_pct: positive,
  test_crop_pct: (v, k, f) => v !== null && positive(v, k, f),
  crop_mode: text,
  mean: numbers(-Infinity, 'a non-empty list of finite numbers'),
  std: numbers(0, 'a non-empty list of numbers greater than 0'),
  num_classes: nonNegativeInt,
  label_offset: intOrNull,
  label_names: labels,
  label_descriptions: labels,
  pool_size: sizesOrNull,
  test_pool_size: sizesOrNull,
  first_conv: textOrNull,
  classifier: textOrNull,
  license: textOrNull,
  description: textOrNull,
  origin_url: textOrNull,
  paper_name: textOrNull,
};
