/**
 * A preset from a PaddleClas config: the eval transform ops of a YAML such as
 * ppcls/configs/ImageNet/DLA/DLA60.yaml, read with the meaning PaddleClas gives them
 * (ppcls/data/preprocess/ops/operators.py, ppcls/data/dataloader/common_dataset.py):
 * - the ops are DataLoader.Eval.dataset.transform_ops (the dataset then transposes HWC -> CHW), or
 *   Infer.transforms (which must end in CHW itself), or a file holding just the list of ops;
 * - DecodeImage(to_np, to_rgb, channel_first, backend cv2|pil), ResizeImage(resize_short | size,
 *   interpolation, backend cv2|pil, return_numpy), CropImage(size), NormalizeImage(scale, mean, std,
 *   order, output_fp16, channel_num) and ToCHWImage are implemented, each with PaddleClas's
 *   defaults; any other op, or a parameter value whose result we do not reproduce, is refused with a
 *   sentence naming it.
 */
import * as fs from 'fs';
import { FormatError } from '../errors';
import { describe, IMAGENET_MEAN, IMAGENET_STD, type CropStep, type NormalizeStep, type PreprocessPreset, type ResizeStep } from './presets';
import type { OpenCvInterpolation } from './opencvResize';
import type { PillowFilter } from './presets';
import { PILLOW_FILTERS } from './resample';
import { parseYamlSubset, type YamlValue } from './yamlSubset';

export const PADDLECLAS_OPS = ['DecodeImage', 'ResizeImage', 'CropImage', 'NormalizeImage', 'ToCHWImage'] as const;

type Params = { [key: string]: YamlValue };

interface Located {
  readonly ops: YamlValue[];
  /** Where the ops were found, for messages ("DataLoader.Eval.dataset.transform_ops"). */
  readonly path: string;
  /** 'dataset': PaddleClas's dataset transposes the result; 'self': the ops must produce CHW. */
  readonly layout: 'dataset' | 'self' | 'either';
}

function locateOps(doc: YamlValue, file: string): Located {
  if (Array.isArray(doc)) return { ops: doc, path: 'the list of ops', layout: 'either' };
  const get = (v: YamlValue | undefined, ...keys: string[]): YamlValue | undefined => {
    for (const k of keys) {
      if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined;
      v = v[k];
    }
    return v;
  };
  const evalOps = get(doc, 'DataLoader', 'Eval', 'dataset', 'transform_ops');
  if (Array.isArray(evalOps)) return { ops: evalOps, path: 'DataLoader.Eval.dataset.transform_ops', layout: 'dataset' };
  const inferOps = get(doc, 'Infer', 'transforms');
  if (Array.isArray(inferOps)) return { ops: inferOps, path: 'Infer.transforms', layout: 'self' };
  throw new FormatError(
    file,
    'No PaddleClas eval transforms found: expected a list at DataLoader.Eval.dataset.transform_ops or Infer.transforms, or a file that is just the list of ops.',
  );
}

/** The ops of a PaddleClas config file as a preset. */
export function paddleClasPresetFromFile(file: string, name = 'paddleclas'): PreprocessPreset {
  return paddleClasPreset(parseYamlSubset(fs.readFileSync(file, 'utf8'), file), file, name);
}

export function paddleClasPreset(doc: YamlValue, file: string, name = 'paddleclas'): PreprocessPreset {
  const { ops, path, layout } = locateOps(doc, file);
  const named = ops.map((op, i) => {
    if (op === null || typeof op !== 'object' || Array.isArray(op) || Object.keys(op).length !== 1) {
      // create_operators asserts exactly this ("yaml format error").
      throw new FormatError(file, `${path}[${i}] must be a mapping with one key, the op's name (e.g. '- CropImage:'), found ${describe(op)}.`);
    }
    const [opName] = Object.keys(op);
    const params = op[opName];
    if (params !== null && (typeof params !== 'object' || Array.isArray(params))) {
      throw new FormatError(file, `${path}[${i}] (${opName}): its parameters must be a mapping, found ${describe(params)}.`);
    }
    return { name: opName, params: (params ?? {}) as Params, where: `${path}[${i}] (${opName})` };
  });
  const unknown = [...new Set(named.map((o) => o.name).filter((n) => !(PADDLECLAS_OPS as readonly string[]).includes(n)))];
  if (unknown.length) {
    throw new FormatError(
      file,
      `${path} uses ${unknown.map((n) => `'${n}'`).join(', ')}, which dla-lens does not implement; it implements ${PADDLECLAS_OPS.join(', ')}.`,
    );
  }
  const where = (i: number) => named[i].where;
  const fail = (i: number, message: string): never => {
    throw new FormatError(file, `${where(i)}: ${message}`);
  };
  const expectOnly = (i: number, allowed: string[]) => {
    const extra = Object.keys(named[i].params).filter((k) => !allowed.includes(k));
    // PaddleClas would fail with "__init__() got an unexpected keyword argument".
    if (extra.length) fail(i, `unknown parameter ${extra.map((k) => `'${k}'`).join(', ')}; ${named[i].name} takes ${allowed.join(', ')}.`);
  };

  // The order dla-lens runs them in; PaddleClas runs whatever order the list has.
  const order = named.map((o) => o.name);
  const seen = new Set<string>();
  order.forEach((n, i) => {
    if (seen.has(n)) fail(i, `${n} appears twice; dla-lens runs each op at most once.`);
    seen.add(n);
  });
  if (order[0] !== 'DecodeImage') throw new FormatError(file, `${path} must start with DecodeImage (PaddleClas's datasets pass it file bytes); it starts with ${order[0] ?? 'nothing'}.`);
  const index = (n: string) => order.indexOf(n);
  const [posR, posC, posN, posT] = ['ResizeImage', 'CropImage', 'NormalizeImage', 'ToCHWImage'].map(index);
  const firstLate = Math.min(...[posN, posT].filter((p) => p >= 0));
  const misplaced = (posR >= 0 && posC >= 0 && posR > posC) || [posR, posC].some((p) => p > firstLate);
  if (misplaced) {
    throw new FormatError(
      file,
      `${path} runs ${order.join(', ')}; dla-lens runs DecodeImage, ResizeImage, CropImage, then NormalizeImage and ToCHWImage, in that order.`,
    );
  }
  if (index('NormalizeImage') < 0) throw new FormatError(file, `${path} has no NormalizeImage: the model would be fed uint8 pixels; dla-lens needs a normalised float32 tensor.`);

  // DecodeImage(to_np=True, to_rgb=True, channel_first=False, backend='cv2')
  const d = named[0].params;
  expectOnly(0, ['to_np', 'to_rgb', 'channel_first', 'backend']);
  const toNp = bool(d.to_np, true, () => where(0), 'to_np', file);
  const toRgb = bool(d.to_rgb, true, () => where(0), 'to_rgb', file);
  if (bool(d.channel_first, false, () => where(0), 'channel_first', file)) fail(0, 'channel_first: True makes the later ops see a 3xHxW array as an image; not supported.');
  // PaddleClas warns about any other backend and decodes with cv2.
  const pilDecode = str(d.backend, 'cv2', () => where(0), 'backend', file).toLowerCase() === 'pil';
  // to_np: False skips to_rgb: cv2 leaves BGR; Pillow leaves a PIL RGB image, which only a Pillow resize accepts.
  const channels: 'rgb' | 'bgr' = !toNp ? (pilDecode ? 'rgb' : 'bgr') : toRgb ? 'rgb' : 'bgr';
  let pilImage = !toNp && pilDecode;

  let resize: ResizeStep | undefined;
  const ri = index('ResizeImage');
  if (ri >= 0) {
    const p = named[ri].params;
    expectOnly(ri, ['size', 'resize_short', 'interpolation', 'backend', 'return_numpy']);
    const backend = str(p.backend, 'cv2', () => where(ri), 'backend', file).toLowerCase();
    const size = resizeRule(p, ri);
    if (pilImage && backend !== 'pil') fail(ri, 'cv2.resize gets the PIL image DecodeImage(to_np: False) returned and fails; use backend: pil.');
    if (p.return_numpy === false) fail(ri, 'return_numpy: False hands a PIL image to the next op, which fails there.');
    if (backend === 'pil') {
      resize = { library: 'pillow', filter: pillowFilter(p.interpolation, ri), size };
    } else if (backend === 'cv2') {
      resize = { library: 'opencv', filter: cvFilter(p.interpolation, ri), size };
    } else {
      // UnifiedResize warns and falls back to plain cv2.resize, whose default is INTER_LINEAR.
      resize = { library: 'opencv', filter: 'linear', size };
    }
    pilImage = false;
  }
  if (pilImage && index('CropImage') >= 0) fail(index('CropImage'), 'receives the PIL image DecodeImage(to_np: False) returned and fails on it (no .shape).');

  let crop: CropStep | undefined;
  const ci = index('CropImage');
  if (ci >= 0) {
    expectOnly(ci, ['size']);
    const [w, h] = pair(named[ci].params.size, ci, 'size');
    crop = { rule: 'center-floor', height: h, width: w };
  }

  const ni = index('NormalizeImage');
  const n = named[ni].params;
  expectOnly(ni, ['scale', 'mean', 'std', 'order', 'output_fp16', 'channel_num']);
  if (bool(n.output_fp16, false, () => where(ni), 'output_fp16', file)) fail(ni, 'output_fp16: True gives a float16 tensor; dla-lens runs float32 models only.');
  if (n.channel_num !== undefined && n.channel_num !== null && n.channel_num !== 3) fail(ni, `channel_num ${describe(n.channel_num)} pads a 4th channel; only 3 is supported.`);
  const chwOrder = str(n.order, 'chw', () => where(ni), 'order', file) === 'chw';
  const ti = index('ToCHWImage');
  if (ti >= 0) expectOnly(ti, []);
  const normalizedInChw = ti >= 0 && ti < ni;
  if (chwOrder && !normalizedInChw) fail(ni, "order 'chw' (the default) shapes mean/std (3, 1, 1), which numpy cannot broadcast against an HxWx3 image; this config fails in PaddleClas. Use order: '' before ToCHWImage.");
  if (!chwOrder && normalizedInChw) fail(ni, `order ${describe(n.order)} shapes mean/std (1, 1, 3), which broadcasts against a 3xHxW array along its width; use order: chw after ToCHWImage.`);
  const normalize: NormalizeStep = {
    arithmetic: 'scale',
    scale: scaleValue(n.scale, ni),
    mean: triple(n.mean, IMAGENET_MEAN, ni, 'mean'),
    std: triple(n.std, IMAGENET_STD, ni, 'std'),
  };
  if (layout === 'dataset' && ti >= 0) fail(ti, 'the Eval dataset transposes HWC -> CHW after its ops, so a ToCHWImage here transposes twice; remove it.');
  if (layout === 'self' && ti < 0) throw new FormatError(file, `${path} ends with an HxWx3 array (no ToCHWImage); PaddleClas's predictor would feed that to the model as is.`);

  const summary = named.map((o) => (Object.keys(o.params).length ? `${o.name}(${Object.entries(o.params).map(([k, v]) => `${k}=${describe(v)}`).join(', ')})` : o.name));
  return {
    name,
    description: `PaddleClas ${path} of ${file}: ${summary.join(', ')}`,
    decoder: pilDecode ? 'pillow' : 'opencv',
    channels,
    resize,
    crop,
    normalize,
  };

  function resizeRule(p: Params, i: number): ResizeStep['size'] {
    const short = p.resize_short;
    if (short !== undefined && short !== null && typeof short === 'number' && short > 0) {
      if (!Number.isInteger(short)) fail(i, `resize_short must be an integer, found ${describe(short)}.`);
      return { rule: 'shorter-side-round', size: short };
    }
    if (short !== undefined && short !== null && typeof short !== 'number') fail(i, `resize_short must be a number, found ${describe(short)}.`);
    if (p.size === undefined || p.size === null) fail(i, "needs resize_short (> 0) or size; PaddleClas raises 'invalid params for ResizeImage'.");
    const [w, h] = pair(p.size, i, 'size');
    return { rule: 'exact', height: h, width: w };
  }

  /** An int N (N x N) or [w, h], as PaddleClas reads `size` (width first). */
  function pair(v: YamlValue | undefined, i: number, key: string): [number, number] {
    const ok = (x: unknown) => typeof x === 'number' && Number.isInteger(x) && x > 0;
    if (ok(v)) return [v as number, v as number];
    if (Array.isArray(v) && v.length === 2 && v.every(ok)) return [v[0] as number, v[1] as number];
    return fail(i, `${key} must be a positive integer or [width, height], found ${describe(v)}.`);
  }

  function cvFilter(v: YamlValue | undefined, i: number): OpenCvInterpolation {
    if (v === undefined || v === null) return 'linear';
    const byName: Record<string, OpenCvInterpolation> = { nearest: 'nearest', bilinear: 'linear', bicubic: 'cubic' };
    const byFlag: Record<number, OpenCvInterpolation> = { 0: 'nearest', 1: 'linear', 2: 'cubic' };
    const f = typeof v === 'string' ? byName[v.toLowerCase()] : typeof v === 'number' ? byFlag[v] : undefined;
    if (!f) {
      return fail(i, `interpolation ${describe(v)} with backend cv2 is not reproduced (dla-lens implements cv2's nearest, bilinear and bicubic; 'area', 'lanczos' and 'random' are not).`);
    }
    return f;
  }

  function pillowFilter(v: YamlValue | undefined, i: number): PillowFilter {
    if (v === undefined || v === null) return 'bilinear';
    // Pillow's constants: NEAREST 0, LANCZOS 1, BILINEAR 2, BICUBIC 3, BOX 4, HAMMING 5.
    const byFlag: Record<number, PillowFilter> = { 0: 'nearest', 1: 'lanczos', 2: 'bilinear', 3: 'bicubic', 4: 'box', 5: 'hamming' };
    const f = typeof v === 'string' ? PILLOW_FILTERS.find((n) => n === v.toLowerCase()) : typeof v === 'number' ? byFlag[v] : undefined;
    if (!f) return fail(i, `interpolation ${describe(v)} with backend pil is not reproduced (expected one of ${PILLOW_FILTERS.join(', ')}; 'random' is not deterministic).`);
    return f;
  }

  function scaleValue(v: YamlValue | undefined, i: number): number {
    if (v === undefined || v === null) return 1.0 / 255.0;
    if (typeof v === 'number') return v;
    // PaddleClas eval()s a string scale such as '1.0/255.0'; plain arithmetic is evaluated here.
    if (typeof v === 'string') {
      const x = evalArithmetic(v);
      if (x === undefined) fail(i, `scale ${describe(v)} is not plain arithmetic on numbers (PaddleClas eval()s it; dla-lens evaluates + - * / and parentheses only).`);
      return x!;
    }
    return fail(i, `scale must be a number or an arithmetic string like '1.0/255.0', found ${describe(v)}.`);
  }

  function triple(v: YamlValue | undefined, fallback: readonly number[], i: number, key: string): number[] {
    if (v === undefined || v === null) return [...fallback];
    if (Array.isArray(v) && v.length === 3 && v.every((x) => typeof x === 'number')) {
      if (key === 'std' && v.some((x) => x === 0)) fail(i, 'std must not contain 0.');
      return v as number[];
    }
    return fail(i, `${key} must be 3 numbers, found ${describe(v)}.`);
  }
}

function bool(v: YamlValue | undefined, fallback: boolean, where: () => string, key: string, file: string): boolean {
  if (v === undefined || v === null) return fallback;
  if (typeof v === 'boolean') return v;
  throw new FormatError(file, `${where()}: ${key} must be True or False, found ${describe(v)}.`);
}

function str(v: YamlValue | undefined, fallback: string, where: () => string, key: string, file: string): string {
  if (v === undefined || v === null) return fallback;
  if (typeof v === 'string') return v;
  throw new FormatError(file, `${where()}: ${key} must be a string, found ${describe(v)}.`);
}

/** Python arithmetic on int/float literals (+ - * / and parentheses), or undefined if not that. */
export function evalArithmetic(text: string): number | undefined {
  const tokens = text.match(/\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?|[-+*/()]|\S/g) ?? [];
  let i = 0;
  const bad = () => {
    throw new SyntaxError();
  };
  const factor = (): number => {
    const t = tokens[i++];
    if (t === '-') return -factor();
    if (t === '+') return factor();
    if (t === '(') {
      const v = expr();
      if (tokens[i++] !== ')') bad();
      return v;
    }
    if (t !== undefined && /^[\d.]/.test(t)) return Number(t);
    return bad();
  };
  const term = (): number => {
    let v = factor();
    while (tokens[i] === '*' || tokens[i] === '/') v = tokens[i++] === '*' ? v * factor() : v / factor();
    return v;
  };
  const expr = (): number => {
    let v = term();
    while (tokens[i] === '+' || tokens[i] === '-') v = tokens[i++] === '+' ? v + term() : v - term();
    return v;
  };
  try {
    const v = expr();
    return i === tokens.length && Number.isFinite(v) ? v : undefined;
  } catch {
    return undefined;
  }
}
