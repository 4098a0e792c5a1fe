/**
 * The Compare Preprocessing page's protocol (DLA: Compare Preprocessing): one image through two
 * presets, as the engine computed it (src/model/run/comparePreprocessing.ts): both uint8 crops and
 * a heat map of their difference as PNG data: URIs made in the engine, the pixel and tensor
 * difference statistics and, with a model, both top-5s. The page shows these numbers; it derives
 * none. Comparing the same image again is pushed.
 */
import { resultPageProtocol } from './resultProtocol';
import { checkTop, type ClassificationPrediction } from './classificationProtocol';
import { arr, bool, fail, int, num, obj, oneOf, str, type Obj } from './validate';

/** An image made in the engine: a PNG data: URI and its size in pixels. */
export interface PngImage {
  readonly uri: string;
  readonly width: number;
  readonly height: number;
}

export interface PreprocessingSideData {
  readonly preset: string;
  /** How the page and its title name this side: the preset, with its config file's name when it came from one. */
  readonly label: string;
  readonly description: string;
  /** The timm pretrained_cfg JSON or PaddleClas YAML the preset came from; null for a built-in preset. */
  readonly config: string | null;
  readonly decoder: 'pillow' | 'opencv';
  /** Channel order of the tensor ('bgr': PaddleClas DecodeImage(to_rgb=False)); the crop is shown as RGB. */
  readonly channels: 'rgb' | 'bgr';
  readonly decoded: { readonly width: number; readonly height: number };
  readonly resized: { readonly width: number; readonly height: number };
  /** The uint8 crop the tensor is made of (RGB), exactly: PNG is lossless. */
  readonly crop: PngImage;
  /** With a model: its top-5 on this side's tensor, best first; null without one. */
  readonly top: readonly ClassificationPrediction[] | null;
}

/** |a - b| summarised (comparePreprocessing's DifferenceStats). */
export interface DifferenceSummary {
  readonly max: number;
  readonly mean: number;
  /** 0..1: pixels with any channel different, or tensor elements that differ at all. */
  readonly differingShare: number;
  readonly differing: number;
  readonly total: number;
}

export interface PreprocessingHeatmap {
  /** Per pixel max over R, G, B of |a - b|, colour-mapped (0 is black; 1..scaleMax run through the map). */
  readonly image: PngImage;
  /** The difference (uint8 levels) the brightest colour stands for: max(1, pixels.max). */
  readonly scaleMax: number;
  /** The colour map itself, one column per level 0..scaleMax (scaleMax + 1 wide, 1 high). */
  readonly legend: PngImage;
}

export interface PreprocessingModel {
  readonly checkpoint: string;
  readonly variant: string;
  /** How each side ran ("cpu", "cpu (cuda failed: …)"). */
  readonly provider: string;
  /** Largest |logit_a - logit_b|. */
  readonly logitsMaxAbs: number;
  /** The two top-1 classes differ. */
  readonly top1Differs: boolean;
  /** Per rank of the top-5: the two sides name different classes there. */
  readonly rankDiffers: readonly boolean[];
}

export interface PreprocessingData {
  /** The image's path on the extension host's machine. */
  readonly image: string;
  readonly a: PreprocessingSideData;
  readonly b: PreprocessingSideData;
  /** Both crops have one size, so they are compared pixel by pixel; otherwise `incomparable` says why. */
  readonly comparable: boolean;
  readonly incomparable: string | null;
  readonly pixels: DifferenceSummary | null;
  readonly tensor: DifferenceSummary | null;
  readonly heatmap: PreprocessingHeatmap | null;
  /** Null when compared without a model. */
  readonly model: PreprocessingModel | null;
  /** Wall time of the whole comparison in the engine (model loading included). */
  readonly ms: number;
}

function size(v: unknown, where: string): void {
  const o = obj(v, where);
  int(o, 'width', where);
  int(o, 'height', where);
}

function png(v: unknown, where: string): void {
  const o = obj(v, where);
  // Only an inline PNG: the page's CSP allows data: images and nothing of the file system.
  if (!str(o, 'uri', where).startsWith('data:image/png;base64,')) fail(`${where}.uri`, 'a data:image/png URI', 'another URI');
  size(o, where);
}

function stats(o: Obj, k: string, where: string): void {
  if (o[k] === null) return;
  const w = `${where}.${k}`;
  const s = obj(o[k], w);
  for (const f of ['max', 'mean', 'differingShare']) num(s, f, w);
  int(s, 'differing', w);
  int(s, 'total', w);
}

function nullableStr(o: Obj, k: string, where: string): void {
  if (o[k] !== null) str(o, k, where);
}

function side(v: unknown, where: string): void {
  const o = obj(v, where);
  str(o, 'preset', where);
  str(o, 'label', where);
  str(o, 'description', where);
  nullableStr(o, 'config', where);
  oneOf(o, 'decoder', ['pillow', 'opencv'] as const, where);
  oneOf(o, 'channels', ['rgb', 'bgr'] as const, where);
  size(o.decoded, `${where}.decoded`);
  size(o.resized, `${where}.resized`);
  png(o.crop, `${where}.crop`);
  if (o.top !== null) checkTop(o, where);
}

/** The checks of a PreprocessingData (also what the host validates before restoring it after a reload). */
export function checkPreprocessing(v: unknown, where: string): PreprocessingData {
  const o = obj(v, where);
  str(o, 'image', where);
  side(o.a, `${where}.a`);
  side(o.b, `${where}.b`);
  bool(o, 'comparable', where);
  nullableStr(o, 'incomparable', where);
  stats(o, 'pixels', where);
  stats(o, 'tensor', where);
  if (o.heatmap !== null) {
    const w = `${where}.heatmap`;
    const h = obj(o.heatmap, w);
    png(h.image, `${w}.image`);
    int(h, 'scaleMax', w);
    png(h.legend, `${w}.legend`);
  }
  if (o.model !== null) {
    const w = `${where}.model`;
    const m = obj(o.model, w);
    for (const k of ['checkpoint', 'variant', 'provider']) str(m, k, w);
    num(m, 'logitsMaxAbs', w);
    bool(m, 'top1Differs', w);
    arr(m, 'rankDiffers', w).forEach((x, i) => typeof x !== 'boolean' && fail(`${w}.rankDiffers[${i}]`, 'a boolean', x));
  }
  num(o, 'ms', where);
  return o as unknown as PreprocessingData;
}

const PAGE = 'preprocessing';

export const preprocessingProtocol = resultPageProtocol(PAGE, 'preprocessingData', 'preprocessingChanged', checkPreprocessing);
export type PreprocessingProtocol = typeof preprocessingProtocol;
