/**
 * Preprocessing presets as data. A preset names, step by step, what one ecosystem does to an image
 * before its model sees it; preprocess.ts runs any such record. The built-in three are DLA's
 * pretrained_cfg in timm, the seed Paddle notebook and PaddleClas's ImageNet eval config; others come
 * from a timm pretrained_cfg (presetFromTimmPretrainedCfg) or a PaddleClas YAML (paddleClasConfig.ts).
 */
import { UsageError } from '../errors';
import { roundHalfEven } from './rounding';
import type { OpenCvInterpolation } from './opencvResize';
import { PILLOW_FILTERS, type Interpolation as PillowFilter } from './resample';

export type { PillowFilter };

/** How the resized size follows from the image's size. */
export type SizeRule =
  /** torchvision `Resize(int)`: the shorter side becomes `size`, the longer `int(size * long / short)`. */
  | { readonly rule: 'shorter-side'; readonly size: number }
  /** PaddleClas `ResizeImage(resize_short)`: both sides `int(round(side * size / short))` (Python round). */
  | { readonly rule: 'shorter-side-round'; readonly size: number }
  /** timm `ResizeKeepRatio`: ratio = longest * max(h/H, w/W) + (1 - longest) * min(...); sides round(side / ratio). */
  | { readonly rule: 'keep-ratio'; readonly height: number; readonly width: number; readonly longest: number }
  /** A fixed size (torchvision `Resize((h, w))`, PaddleClas `ResizeImage(size)`). */
  | { readonly rule: 'exact'; readonly height: number; readonly width: number };

export type ResizeStep =
  | { readonly library: 'pillow'; readonly filter: PillowFilter; readonly size: SizeRule }
  | { readonly library: 'opencv'; readonly filter: OpenCvInterpolation; readonly size: SizeRule };

export type CropStep =
  /**
   * torchvision `CenterCrop` / timm `CenterCropOrPad`: pad with `fill` when the image is smaller
   * (left/top get the smaller half), then offsets `int(round((H - h) / 2))` (half to even).
   */
  | { readonly rule: 'center-round'; readonly height: number; readonly width: number; readonly fill: readonly [number, number, number] }
  /** PaddleClas `CropImage`: offsets `(H - h) // 2`; a smaller image is an error. */
  | { readonly rule: 'center-floor'; readonly height: number; readonly width: number };

export type NormalizeStep =
  /** torchvision `ToTensor` + `Normalize`: `((u8 / 255) - mean) / std`, float32 at each step. */
  | { readonly arithmetic: 'torchvision'; readonly mean: readonly number[]; readonly std: readonly number[] }
  /** PaddleClas `NormalizeImage`: `(u8 * float32(scale) - mean) / std`, float32 at each step. */
  | { readonly arithmetic: 'scale'; readonly scale: number; readonly mean: readonly number[]; readonly std: readonly number[] };

export interface PreprocessPreset {
  readonly name: string;
  readonly description: string;
  /** Whose decoder semantics: Pillow's `Image.open().convert('RGB')` or `cv2.imdecode(…, IMREAD_COLOR)`. */
  readonly decoder: 'pillow' | 'opencv';
  /** Channel order of the pixels from the decoder on ('bgr': PaddleClas `DecodeImage(to_rgb=False)`). */
  readonly channels: 'rgb' | 'bgr';
  readonly resize?: ResizeStep;
  readonly crop?: CropStep;
  readonly normalize: NormalizeStep;
}

export const IMAGENET_MEAN = [0.485, 0.456, 0.406] as const;
export const IMAGENET_STD = [0.229, 0.224, 0.225] as const;

/** The DLA entry of timm's pretrained configs (timm/models/dla.py `_cfg`). */
export const TIMM_DLA_PRETRAINED_CFG = {
  input_size: [3, 224, 224],
  interpolation: 'bilinear',
  crop_pct: 0.875,
  mean: [...IMAGENET_MEAN],
  std: [...IMAGENET_STD],
} as const;

export const PADDLECLAS_EVAL_DESCRIPTION =
  'PaddleClas ImageNet eval (DLA60.yaml): cv2.imdecode + BGR->RGB, ResizeImage(resize_short=256, cv2 INTER_LINEAR), CropImage(224), NormalizeImage(1/255, ImageNet mean/std)';

export const PRESETS: readonly PreprocessPreset[] = [
  {
    name: 'timm',
    description: "timm's DLA eval transform: Resize(256, bilinear), CenterCrop(224), ImageNet mean/std",
    decoder: 'pillow',
    channels: 'rgb',
    // timm's dla pretrained_cfg: crop_pct 0.875, so scale size floor(224 / 0.875) = 256.
    resize: { library: 'pillow', filter: 'bilinear', size: { rule: 'shorter-side', size: Math.floor(224 / 0.875) } },
    crop: { rule: 'center-round', height: 224, width: 224, fill: [0, 0, 0] },
    normalize: { arithmetic: 'torchvision', mean: IMAGENET_MEAN, std: IMAGENET_STD },
  },
  {
    name: 'paddle',
    description: 'Paddle notebook transform: Resize(256, bicubic), CenterCrop(224), ImageNet mean/std',
    decoder: 'pillow',
    channels: 'rgb',
    resize: { library: 'pillow', filter: 'bicubic', size: { rule: 'shorter-side', size: 256 } },
    crop: { rule: 'center-round', height: 224, width: 224, fill: [0, 0, 0] },
    normalize: { arithmetic: 'torchvision', mean: IMAGENET_MEAN, std: IMAGENET_STD },
  },
  {
    name: 'paddleclas',
    description: PADDLECLAS_EVAL_DESCRIPTION,
    decoder: 'opencv',
    channels: 'rgb',
    resize: { library: 'opencv', filter: 'linear', size: { rule: 'shorter-side-round', size: 256 } },
    crop: { rule: 'center-floor', height: 224, width: 224 },
    normalize: { arithmetic: 'scale', scale: 1.0 / 255.0, mean: IMAGENET_MEAN, std: IMAGENET_STD },
  },
];

export const PRESET_NAMES: readonly string[] = PRESETS.map((p) => p.name);

export function presetByName(name: string): PreprocessPreset {
  const preset = PRESETS.find((p) => p.name === name);
  if (!preset) {
    throw new UsageError(`Unknown preprocessing preset '${name}'. Valid presets: ${PRESET_NAMES.join(', ')}.`);
  }
  return preset;
}

/** The fields of a timm `pretrained_cfg` that its eval transform reads (resolve_data_config). */
export interface TimmPretrainedCfg {
  readonly input_size?: readonly number[];
  readonly interpolation?: string;
  readonly crop_pct?: number;
  readonly crop_mode?: string;
  readonly mean?: readonly number[];
  readonly std?: readonly number[];
  readonly [key: string]: unknown;
}

/**
 * timm's eval transform for a model's pretrained_cfg, as `resolve_data_config(pretrained_cfg=cfg)`
 * then `create_transform(**config)` build it (timm/data/config.py, transforms_factory.py):
 * defaults input_size (3, 224, 224), interpolation 'bicubic', crop_pct 0.875, crop_mode 'center',
 * ImageNet mean/std (a falsy crop_pct or interpolation also takes the default, as in timm);
 * scale_size = floor(size / crop_pct) per side; then
 * - 'squash': Resize(scale_size) to exactly that size, CenterCrop(input size);
 * - 'border': ResizeKeepRatio(scale_size, longest=1), CenterCropOrPad filled with round(255 * mean);
 * - otherwise (timm treats any other value as 'center'): Resize(scale) of the shorter side when
 *   scale_size is square, else ResizeKeepRatio(scale_size) (timm passes no interpolation there, so
 *   bilinear); CenterCrop(input size);
 * ToTensor and Normalize(mean, std). Decoding is Pillow's (timm's dataset loader). test_input_size
 * and test_crop_pct are not used, as resolve_data_config does not use them by default.
 * `where` names the source in error messages (e.g. "hub/dla34/config.json: pretrained_cfg").
 */
export function presetFromTimmPretrainedCfg(cfg: TimmPretrainedCfg, name = 'timm', where = 'pretrained_cfg'): PreprocessPreset {
  if (cfg === null || typeof cfg !== 'object' || Array.isArray(cfg)) {
    throw new UsageError(`${where}: expected an object (timm's pretrained_cfg), found ${describe(cfg)}.`);
  }
  const inputSize = cfg.input_size === undefined || cfg.input_size === null ? [3, 224, 224] : cfg.input_size;
  if (!Array.isArray(inputSize) || inputSize.length !== 3 || !inputSize.every((v) => Number.isInteger(v) && v > 0)) {
    throw new UsageError(`${where}: 'input_size' must be [channels, height, width] of positive integers, found ${describe(cfg.input_size)}.`);
  }
  if (inputSize[0] !== 3) {
    throw new UsageError(`${where}: 'input_size' has ${inputSize[0]} channels; only 3-channel (RGB) models are supported.`);
  }
  const [, height, width] = inputSize as number[];
  const interpolation = cfg.interpolation || 'bicubic';
  if (typeof interpolation !== 'string' || !(PILLOW_FILTERS as readonly string[]).includes(interpolation)) {
    throw new UsageError(
      `${where}: 'interpolation' ${describe(cfg.interpolation)} is not one timm's eval transform accepts; expected one of ${PILLOW_FILTERS.join(', ')}.`,
    );
  }
  const cropPct = cfg.crop_pct || 0.875;
  if (typeof cropPct !== 'number' || !Number.isFinite(cropPct) || cropPct <= 0) {
    throw new UsageError(`${where}: 'crop_pct' must be a positive number, found ${describe(cfg.crop_pct)}.`);
  }
  // resolve_data_config takes the default when the entry is missing or falsy (None, an empty list).
  const mean = triple(pyTruthy(cfg.mean) ? cfg.mean : IMAGENET_MEAN, 'mean', where);
  const std = triple(pyTruthy(cfg.std) ? cfg.std : IMAGENET_STD, 'std', where);
  if (std.some((s) => s === 0)) throw new UsageError(`${where}: 'std' must not contain 0, found ${describe(cfg.std)}.`);
  const cropMode = pyTruthy(cfg.crop_mode) ? cfg.crop_mode : 'center';
  if (typeof cropMode !== 'string') throw new UsageError(`${where}: 'crop_mode' must be a string, found ${describe(cfg.crop_mode)}.`);

  const filter = interpolation as PillowFilter;
  const scaleH = Math.floor(height / cropPct);
  const scaleW = Math.floor(width / cropPct);
  let resize: ResizeStep;
  let crop: CropStep = { rule: 'center-round', height, width, fill: [0, 0, 0] };
  if (cropMode === 'squash') {
    resize = { library: 'pillow', filter, size: { rule: 'exact', height: scaleH, width: scaleW } };
  } else if (cropMode === 'border') {
    resize = { library: 'pillow', filter, size: { rule: 'keep-ratio', height: scaleH, width: scaleW, longest: 1 } };
    crop = { rule: 'center-round', height, width, fill: [roundHalfEven(255 * mean[0]), roundHalfEven(255 * mean[1]), roundHalfEven(255 * mean[2])] };
  } else if (scaleH === scaleW) {
    resize = { library: 'pillow', filter, size: { rule: 'shorter-side', size: scaleH } };
  } else {
    resize = { library: 'pillow', filter: 'bilinear', size: { rule: 'keep-ratio', height: scaleH, width: scaleW, longest: 0 } };
  }
  const mode = cropMode === 'squash' || cropMode === 'border' ? cropMode : cropMode === 'center' ? 'center' : `'${cropMode}' (timm: center)`;
  return {
    name,
    description: `timm eval transform: ${interpolation}, crop_pct ${cropPct}, crop_mode ${mode}, ${height}x${width}, mean [${mean.join(', ')}], std [${std.join(', ')}]`,
    decoder: 'pillow',
    channels: 'rgb',
    resize,
    crop,
    normalize: { arithmetic: 'torchvision', mean, std },
  };
}

function pyTruthy(v: unknown): boolean {
  return !(v === undefined || v === null || v === false || v === 0 || v === '' || (Array.isArray(v) && v.length === 0));
}

function triple(v: unknown, key: string, where: string): number[] {
  if (!Array.isArray(v) || v.length !== 3 || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) {
    throw new UsageError(`${where}: '${key}' must be 3 numbers (one per RGB channel), found ${describe(v)}.`);
  }
  return v as number[];
}

const DESCRIBE_CHARS = 60;

/**
 * A value from a config file as short JSON-like text for messages ("[0.5, 0.5]", "\"cubic-ish\""),
 * cut at 60 characters. Written out only that far: a YAML value made of aliases to aliases is a
 * few hundred bytes of file and, printed whole, more text than memory holds.
 */
export function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  let out = '';
  const emit = (t: string): boolean => {
    out += t;
    return out.length <= DESCRIBE_CHARS;
  };
  const walk = (x: unknown): boolean => {
    if (Array.isArray(x)) {
      if (!emit('[')) return false;
      for (let i = 0; i < x.length; i++) if ((i > 0 && !emit(',')) || !walk(x[i])) return false;
      return emit(']');
    }
    if (x !== null && typeof x === 'object') {
      if (!emit('{')) return false;
      let first = true;
      for (const [k, y] of Object.entries(x)) {
        if ((!first && !emit(',')) || !emit(`${JSON.stringify(k)}:`) || !walk(y)) return false;
        first = false;
      }
      return emit('}');
    }
    return emit(typeof x === 'string' ? JSON.stringify(x) : JSON.stringify(x) ?? String(x));
  };
  return walk(v) ? out : `${out.slice(0, DESCRIBE_CHARS - 3)}...`;
}
