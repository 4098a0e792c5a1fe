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
  const depth = !d.sixteenBit ? 'u8' : channels === 1 ? 'clip' : 'high-byte';
  return { width, height, rgb: bandsToRgb(d.samples, width * height, channels, depth) };
}

/** How 16-bit samples become 8-bit: kept ('u8' samples), the high byte, or clipped to 255. */
export type SampleDepth = 'u8' | 'high-byte' | 'clip';

/**
 * Bands as decoded (1 grey, 2 grey + alpha, 3 RGB, 4 RGBA) to RGB: alpha dropped, grey replicated.
 * 8-bit RGB is returned as is (it is the common case, and decoding tens of thousands of images
 * should not copy every one twice).
 */
export function bandsToRgb(samples: Uint8Array | Uint16Array, pixels: number, channels: number, depth: SampleDepth): Uint8Array {
  if (depth === 'u8' && channels === 3) return samples as Uint8Array;
  const rgb = new Uint8Array(pixels * 3);
  const grey = channels <= 2;
  for (let i = 0, s = 0, d = 0; i < pixels; i++, s += channels, d += 3) {
    let r: number, g: number, b: number;
    if (grey) r = g = b = samples[s];
    else (r = samples[s]), (g = samples[s + 1]), (b = samples[s + 2]);
    if (depth === 'high-byte') (r >>= 8), (g >>= 8), (b >>= 8);
    else if (depth === 'clip') (r = r > 255 ? 255 : r), (g = g > 255 ? 255 : g), (b = b > 255 ? 255 : b);
    rgb[d] = r;
    rgb[d + 1] = g;
    rgb[d + 2] = b;
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
