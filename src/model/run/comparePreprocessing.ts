/**
 * One image through two preprocessing presets, and where they differ: both crops, a per-pixel
 * difference map, statistics of the pixel and tensor differences and, given a model, both top-k.
 * The CLI (`dla-lens preprocess IMAGE --preset A --against-preset B`) and the Compare Preprocessing
 * view both call this, so the numbers they show are the same numbers.
 */
import type { RgbImage } from './decodeImage';
import { classify } from './forward';
import type { Prediction } from './labels';
import type { LoadedModel } from './loadModel';
import { decodeFor, preprocessDecoded, type Preprocessed } from './preprocess';
import type { PreprocessPreset } from './presets';
import type { ProviderSetting } from './providers';

export interface DifferenceStats {
  /** Largest |a - b| (uint8 levels for pixels, tensor units for tensors). */
  readonly max: number;
  /** Mean |a - b| over every value (each channel of each pixel, or each tensor element). */
  readonly mean: number;
  /** Share (0..1) of pixels with any channel different, or of tensor elements that differ at all. */
  readonly differingShare: number;
  /** How many pixels (or elements) differ, and of how many. */
  readonly differing: number;
  readonly total: number;
}

export interface SideResult {
  readonly preset: PreprocessPreset;
  readonly result: Preprocessed;
  /** With a model: its top-k on this side's tensor. */
  readonly top?: Prediction[];
  readonly logits?: Float32Array;
  readonly provider?: string;
}

export interface PreprocessingComparison {
  readonly file: string;
  readonly a: SideResult;
  readonly b: SideResult;
  /** Both crops are RGB uint8 of one size: the comparison below exists. Otherwise `incomparable` says why. */
  readonly comparable: boolean;
  readonly incomparable?: string;
  /** Per pixel of the crops: max over R, G, B of |a - b| (row-major, crop width x height). */
  readonly differenceMap?: { readonly width: number; readonly height: number; readonly data: Uint8Array };
  readonly pixels?: DifferenceStats;
  /** The model inputs, element by element (their channel orders are each preset's). */
  readonly tensor?: DifferenceStats;
  /** With a model: largest |logit_a - logit_b|. */
  readonly logitsMaxAbs?: number;
}

export interface CompareOptions {
  readonly model?: LoadedModel;
  readonly k?: number;
  readonly provider?: ProviderSetting;
}

export async function comparePreprocessing(
  imageBytes: Uint8Array,
  file: string,
  presetA: PreprocessPreset,
  presetB: PreprocessPreset,
  options: CompareOptions = {},
): Promise<PreprocessingComparison> {
  // Decode once when both presets read the file the same way.
  const decodedA = await decodeFor(presetA, imageBytes, file);
  const decodedB = presetB.decoder === presetA.decoder ? decodedA : await decodeFor(presetB, imageBytes, file);
  const ra = preprocessDecoded(decodedA, presetA, file);
  const rb = preprocessDecoded(decodedB, presetB, file);

  let a: SideResult = { preset: presetA, result: ra };
  let b: SideResult = { preset: presetB, result: rb };
  let logitsMaxAbs: number | undefined;
  if (options.model) {
    const k = options.k ?? 5;
    const ca = await classify(options.model, ra.input, k, options.provider ?? 'auto');
    const cb = await classify(options.model, rb.input, k, options.provider ?? 'auto');
    a = { ...a, top: ca.top, logits: ca.logits, provider: ca.provider };
    b = { ...b, top: cb.top, logits: cb.logits, provider: cb.provider };
    logitsMaxAbs = maxAbsDifference(ca.logits, cb.logits);
  }

  const ca = ra.cropped;
  const cb = rb.cropped;
  if (ca.width !== cb.width || ca.height !== cb.height) {
    return {
      file, a, b, comparable: false, logitsMaxAbs,
      incomparable: `the crops differ in size (${presetA.name}: ${ca.width}x${ca.height}, ${presetB.name}: ${cb.width}x${cb.height}), so there is no pixel-by-pixel difference`,
    };
  }
  const { map, stats } = pixelDifference(ca, cb);
  return {
    file, a, b, comparable: true, logitsMaxAbs,
    differenceMap: { width: ca.width, height: ca.height, data: map },
    pixels: stats,
    tensor: tensorDifference(ra.input.data as Float32Array, rb.input.data as Float32Array),
  };
}

/** Per pixel max channel difference, and the statistics over every channel value. */
export function pixelDifference(a: RgbImage, b: RgbImage): { map: Uint8Array; stats: DifferenceStats } {
  const pixels = a.width * a.height;
  const map = new Uint8Array(pixels);
  let max = 0;
  let sum = 0;
  let differing = 0;
  for (let i = 0; i < pixels; i++) {
    let m = 0;
    for (let c = 0; c < 3; c++) {
      const d = Math.abs(a.rgb[i * 3 + c] - b.rgb[i * 3 + c]);
      sum += d;
      if (d > m) m = d;
    }
    map[i] = m;
    if (m > 0) differing++;
    if (m > max) max = m;
  }
  return { map, stats: { max, mean: pixels ? sum / (pixels * 3) : 0, differing, total: pixels, differingShare: pixels ? differing / pixels : 0 } };
}

export function tensorDifference(a: Float32Array, b: Float32Array): DifferenceStats {
  let max = 0;
  let sum = 0;
  let differing = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    sum += d;
    if (d !== 0) differing++;
    if (d > max) max = d;
  }
  const n = a.length;
  return { max, mean: n ? sum / n : 0, differing, total: n, differingShare: n ? differing / n : 0 };
}

function maxAbsDifference(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
