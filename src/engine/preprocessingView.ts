/**
 * What the Compare Preprocessing page shows, made from comparePreprocessing()'s result: the two
 * uint8 crops and the colour-mapped difference map as PNG data: URIs, the statistics as computed,
 * and which top-5 ranks differ. Pictures are made here, not on a canvas in the page, because the
 * page keeps its data in the webview state (JSON: a typed array would not survive a window reload
 * as one), its CSP already admits data: images, and the page then derives nothing from the pixels.
 * Runs in the engine process (sharp encodes; PNG is lossless, so a crop shown is the crop computed).
 */
import * as path from 'path';
import sharp from 'sharp';
import type { PreprocessingComparison, SideResult } from '../model/run/comparePreprocessing';
import type { PngImage, PreprocessingData, PreprocessingSideData } from '../shared/preprocessingProtocol';

export interface ViewFacts {
  readonly configA?: string;
  readonly configB?: string;
  readonly checkpoint?: string;
  readonly variant?: string;
  readonly ms: number;
}

export async function preprocessingData(c: PreprocessingComparison, facts: ViewFacts): Promise<PreprocessingData> {
  const [a, b] = await Promise.all([side(c.a, facts.configA), side(c.b, facts.configB)]);
  let heatmap: PreprocessingData['heatmap'] = null;
  if (c.differenceMap && c.pixels) {
    const scaleMax = Math.max(1, c.pixels.max);
    const { width, height, data } = c.differenceMap;
    const levels = Uint8Array.from({ length: scaleMax + 1 }, (_, i) => i);
    heatmap = {
      image: await png(colourMapped(data, scaleMax), width, height),
      scaleMax,
      legend: await png(colourMapped(levels, scaleMax), levels.length, 1),
    };
  }
  let model: PreprocessingData['model'] = null;
  if (c.a.top && c.b.top && c.logitsMaxAbs !== undefined) {
    const ta = c.a.top;
    const tb = c.b.top;
    const rankDiffers = ta.map((p, i) => p.index !== tb[i]?.index);
    model = {
      checkpoint: facts.checkpoint ?? '', variant: facts.variant ?? '',
      provider: c.a.provider === c.b.provider ? (c.a.provider ?? '') : `${c.a.provider}; ${c.b.provider}`,
      logitsMaxAbs: c.logitsMaxAbs, top1Differs: rankDiffers[0] ?? false, rankDiffers,
    };
  }
  return {
    image: c.file, a, b, comparable: c.comparable, incomparable: c.incomparable ?? null,
    pixels: c.pixels ? { ...c.pixels } : null, tensor: c.tensor ? { ...c.tensor } : null,
    heatmap, model, ms: facts.ms,
  };
}

async function side(s: SideResult, config: string | undefined): Promise<PreprocessingSideData> {
  const r = s.result;
  return {
    preset: s.preset.name, label: config ? `${s.preset.name} (${path.basename(config)})` : s.preset.name,
    description: s.preset.description, config: config ?? null,
    decoder: s.preset.decoder, channels: s.preset.channels,
    decoded: { width: r.decoded.width, height: r.decoded.height },
    resized: { width: r.resized.width, height: r.resized.height },
    crop: await png(r.cropped.rgb, r.cropped.width, r.cropped.height),
    top: s.top ? s.top.map((p) => ({ index: p.index, wnid: p.wnid, label: p.label, prob: p.prob })) : null,
  };
}

async function png(rgb: Uint8Array, width: number, height: number): Promise<PngImage> {
  const bytes = await sharp(rgb, { raw: { width, height, channels: 3 } }).png().toBuffer();
  return { uri: `data:image/png;base64,${bytes.toString('base64')}`, width, height };
}

/**
 * The heat map's colours: 0 (identical) is black; 1..scaleMax run linearly from a dark violet,
 * never black, so a pixel off by one level still shows, through magenta and orange to pale
 * yellow (a magma-like ramp: brightness grows with the difference, readable without hue).
 */
const RAMP: readonly (readonly [number, number, number, number])[] = [
  [0, 70, 20, 110],
  [0.35, 160, 40, 125],
  [0.7, 240, 110, 60],
  [1, 255, 245, 170],
];

export function differenceColour(level: number, scaleMax: number): [number, number, number] {
  if (level <= 0) return [0, 0, 0];
  const t = scaleMax <= 1 ? 1 : Math.min(1, (level - 1) / (scaleMax - 1));
  let i = 1;
  while (i < RAMP.length - 1 && RAMP[i][0] < t) i++;
  const [t0, r0, g0, b0] = RAMP[i - 1];
  const [t1, r1, g1, b1] = RAMP[i];
  const f = (t - t0) / (t1 - t0);
  return [Math.round(r0 + f * (r1 - r0)), Math.round(g0 + f * (g1 - g0)), Math.round(b0 + f * (b1 - b0))];
}

function colourMapped(levels: Uint8Array, scaleMax: number): Uint8Array {
  const table = Array.from({ length: 256 }, (_, l) => differenceColour(l, scaleMax));
  const rgb = new Uint8Array(levels.length * 3);
  for (let i = 0; i < levels.length; i++) rgb.set(table[levels[i]], i * 3);
  return rgb;
}
