/**
 * Decode an image file to the pixels Pillow's `Image.open(path).convert('RGB')` gives, because the
 * reference pipelines (timm, Paddle notebooks) start there and one grey level moves the logits.
 *
 * sharp (libvips) decodes; this file then applies Pillow's conversion rules itself rather than
 * sharp's colour management. Measured against Pillow 9.4 (see test/model/run/preprocess.test.ts):
 * - no ICC transform and no EXIF rotation (Pillow applies neither on open/convert);
 * - alpha is dropped without compositing; grey becomes R = G = B; palettes are expanded;
 * - 16-bit PNG: colour (and grey + alpha) keeps the high byte of each sample, but plain 16-bit grey
 *   (Pillow mode I / I;16) is *clipped* to 255, not scaled: Pillow's I -> RGB conversion clips;
 * - JPEG decodes identically with sharp's libjpeg (see docs in shared/notes/images.md).
 * Formats are limited to JPEG, PNG and WebP: others (GIF transparency, CMYK JPEG, TIFF) differ
 * from Pillow in ways we have not matched, so they are refused instead of silently differing.
 */
import sharp from 'sharp';
import { FormatError } from '../errors';

/** 8-bit RGB pixels, row-major HWC (index (y * width + x) * 3 + channel). */
export interface RgbImage {
  readonly width: number;
  readonly height: number;
  readonly rgb: Uint8Array;
}

const SUPPORTED_FORMATS = new Set(['jpeg', 'png', 'webp']);

export async function decodeImage(bytes: Uint8Array, file: string): Promise<RgbImage> {
  let meta: sharp.Metadata;
  try {
    meta = await sharp(bytes).metadata();
  } catch (e) {
    throw new FormatError(file, `Not a readable image (expected JPEG, PNG or WebP): ${errorText(e)}.`);
  }
  const format = meta.format ?? 'unknown';
  if (!SUPPORTED_FORMATS.has(format)) {
    throw new FormatError(file, `Unsupported image format '${format}': expected JPEG, PNG or WebP.`);
  }
  if (meta.space === 'cmyk') {
    throw new FormatError(
      file,
      `CMYK ${format.toUpperCase()} is not supported: Pillow's CMYK -> RGB conversion is not reproduced. Convert the image to RGB first.`,
    );
  }
  const sixteenBit = meta.depth === 'ushort';
  if (meta.depth !== 'uchar' && !sixteenBit) {
    throw new FormatError(file, `Unsupported sample format '${meta.depth}': expected 8- or 16-bit samples.`);
  }
  const grey = meta.space === 'b-w' || meta.space === 'grey16';

  let data: Buffer;
  let info: sharp.OutputInfo;
  try {
    // ignoreIcc: Pillow ignores embedded profiles. No autoOrient: Pillow ignores EXIF orientation.
    // failOn 'error': truncated or corrupt data fails (as in Pillow), benign decoder warnings do not.
    ({ data, info } = await sharp(bytes, { ignoreIcc: true, failOn: 'error', pages: 1 })
      // Keep the decoded bands and depth: no colour conversion or 16 -> 8-bit rounding by libvips.
      .toColourspace(grey ? (sixteenBit ? 'grey16' : 'b-w') : sixteenBit ? 'rgb16' : 'srgb')
      .raw({ depth: sixteenBit ? 'ushort' : 'uchar' })
      .toBuffer({ resolveWithObject: true }));
  } catch (e) {
    throw new FormatError(file, `Could not decode the ${format.toUpperCase()} pixel data: ${errorText(e)}.`);
  }
  const { width, height, channels } = info;
  if (channels < 1 || channels > 4) {
    throw new FormatError(file, `Decoded ${format.toUpperCase()} has ${channels} channels; expected 1 to 4.`);
  }
  const samples = sixteenBit ? samples16(data) : data;
  // 16-bit grey without alpha is Pillow mode I (or I;16), whose conversion clips; every other
  // 16-bit PNG is unpacked by Pillow to 8 bits by keeping the high byte.
  const to8 = !sixteenBit ? (v: number) => v : channels === 1 ? (v: number) => (v > 255 ? 255 : v) : (v: number) => v >> 8;
  return { width, height, rgb: toRgb(samples, width * height, channels, to8) };
}

/** Bands as decoded (1 grey, 2 grey + alpha, 3 RGB, 4 RGBA) to RGB: alpha dropped, grey replicated. */
function toRgb(samples: ArrayLike<number>, pixels: number, channels: number, to8: (v: number) => number): Uint8Array {
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

/** sharp returns native-endian uint16 samples; the Buffer may sit at an odd offset, so copy. */
function samples16(data: Buffer): Uint16Array {
  const copy = new Uint8Array(data.length);
  copy.set(data);
  return new Uint16Array(copy.buffer, 0, data.length >> 1);
}

function errorText(e: unknown): string {
  // libvips messages can span lines; keep them on the error's one line.
  return (e instanceof Error ? e.message : String(e)).replace(/\s+/g, ' ').trim().replace(/\.$/, '');
}
