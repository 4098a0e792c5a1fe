/**
 * Decode an image file to the pixels Pillow's `Image.open(path).convert('RGB')` gives, because the
 * reference pipelines (timm, Paddle notebooks) start there and one grey level moves the logits.
 *
 * decodeSamples.ts gets the codec's own samples; this file applies Pillow's conversion rules.
 * Measured against Pillow 9.4 (test/model/run/preprocess.test.ts, libraries.test.ts):
 * - no ICC transform and no EXIF rotation (Pillow applies neither on open/convert);
 * - alpha is dropped without compositing; grey becomes R = G = B; palettes are expanded;
 * - 16-bit PNG: colour (and grey + alpha) keeps the high byte of each sample, but plain 16-bit grey
 *   (Pillow mode I / I;16) is *clipped* to 255, not scaled: Pillow's I -> RGB conversion clips;
 * - CMYK and YCCK JPEG: Pillow always reads 4-component JPEGs with Adobe's inverted polarity
 *   ("CMYK;I", whether or not the file has an Adobe marker) and converts with
 *   `R = nk - MULDIV255(C, nk)`, `nk = 255 - K`, MULDIV255 rounding like `a * b / 255`;
 * - animated WebP: the first frame, as `Image.open` shows it;
 * - JPEG decodes identically with sharp's libjpeg (see docs in shared/notes/images.md).
 * Formats are limited to JPEG, PNG and WebP: others (GIF transparency, TIFF) differ from Pillow in
 * ways we have not matched, so they are refused instead of silently differing.
 */
import { decodeSamples, type DecodedSamples } from './decodeSamples';

/** 8-bit RGB pixels, row-major HWC (index (y * width + x) * 3 + channel). */
export interface RgbImage {
  readonly width: number;
  readonly height: number;
  readonly rgb: Uint8Array;
}

export async function decodeImage(bytes: Uint8Array, file: string): Promise<RgbImage> {
  return pillowRgb(await decodeSamples(bytes, file));
}

/** Pillow's `convert('RGB')` of what its plugins read from these samples. */
export function pillowRgb(d: DecodedSamples): RgbImage {
  const { width, height, channels } = d;
  if (d.cmyk) return { width, height, rgb: pillowCmykToRgb(d.samples as Uint8Array, width * height) };
  // 16-bit grey without alpha is Pillow mode I (or I;16), whose conversion clips; every other
  // 16-bit PNG is unpacked by Pillow to 8 bits by keeping the high byte.
  const to8 = !d.sixteenBit ? (v: number) => v : channels === 1 ? (v: number) => (v > 255 ? 255 : v) : (v: number) => v >> 8;
  return { width, height, rgb: bandsToRgb(d.samples, width * height, channels, to8) };
}

/** Bands as decoded (1 grey, 2 grey + alpha, 3 RGB, 4 RGBA) to RGB: alpha dropped, grey replicated. */
export function bandsToRgb(samples: ArrayLike<number>, pixels: number, channels: number, to8: (v: number) => number): Uint8Array {
  const rgb = new Uint8Array(pixels * 3);
  for (let i = 0; i < pixels; i++) {
    const s = i * channels;
    if (channels <= 2) {
      const v = to8(samples[s]);
      rgb[i * 3] = v;
      rgb[i * 3 + 1] = v;
      rgb[i * 3 + 2] = v;
    } else {
      rgb[i * 3] = to8(samples[s]);
      rgb[i * 3 + 1] = to8(samples[s + 1]);
      rgb[i * 3 + 2] = to8(samples[s + 2]);
    }
  }
  return rgb;
}

/** libjpeg CMYK -> Pillow mode CMYK (inverted, "CMYK;I") -> Pillow's cmyk2rgb. */
function pillowCmykToRgb(raw: Uint8Array, pixels: number): Uint8Array {
  const rgb = new Uint8Array(pixels * 3);
  const muldiv255 = (a: number, b: number): number => {
    const t = a * b + 128;
    return ((t >> 8) + t) >> 8;
  };
  for (let i = 0; i < pixels; i++) {
    // Pillow's K is 255 - raw K, so nk = 255 - (255 - raw K) = raw K; its C is 255 - raw C.
    const nk = raw[i * 4 + 3];
    for (let c = 0; c < 3; c++) {
      const v = nk - muldiv255(255 - raw[i * 4 + c], nk);
      rgb[i * 3 + c] = v < 0 ? 0 : v > 255 ? 255 : v;
    }
  }
  return rgb;
}
