/**
 * Decode an image file to the pixels `cv2.imdecode(buf, cv2.IMREAD_COLOR)[:, :, ::-1]` gives
 * (OpenCV 4.x, measured against Debian's 4.6 in test/model/run/libraries.test.ts). PaddleClas's
 * DecodeImage starts there. The samples come from decodeSamples.ts; OpenCV's rules are:
 * - JPEG: libjpeg's RGB (grey replicated); 4-component (CMYK, YCCK) JPEGs are converted from
 *   libjpeg's uninverted CMYK with icvCvt_CMYK2BGR's `R = K - ((255 - C) * K >> 8)`;
 * - PNG: alpha stripped (not composited), palettes expanded, grey replicated, 16-bit samples cut to
 *   their high byte (libpng's png_set_strip_16, even for plain grey, unlike Pillow's clipping);
 * - WebP: RGB, alpha ignored; an animated WebP is not decoded at all (cv2.imdecode returns None);
 * - then the EXIF orientation (exifOrientation.ts) for JPEG and PNG; OpenCV 4.6 ignores WebP EXIF.
 */
import { FormatError } from '../errors';
import { bandsToRgb, type RgbImage } from './decodeImage';
import { decodeSamples, type DecodedSamples } from './decodeSamples';
import { applyOrientation, opencvExifOrientation } from './exifOrientation';
import { jpegFirstApp1, pngExif } from './imageContainers';

export async function decodeImageOpenCv(bytes: Uint8Array, file: string): Promise<RgbImage> {
  const d = await decodeSamples(bytes, file);
  if (d.pages > 1) {
    throw new FormatError(
      file,
      `Animated WebP (${d.pages} frames): cv2.imdecode (OpenCV 4.x) does not decode animations and returns None, so PaddleClas fails on this file.`,
    );
  }
  return applyOrientation(opencvRgb(d), opencvOrientation(bytes, d));
}

/** What OpenCV's decoders give for IMREAD_COLOR, as RGB (before the EXIF orientation). */
export function opencvRgb(d: DecodedSamples): RgbImage {
  const { width, height, channels } = d;
  if (d.cmyk) return { width, height, rgb: opencvCmykToRgb(d.samples as Uint8Array, width * height) };
  return { width, height, rgb: bandsToRgb(d.samples, width * height, channels, d.sixteenBit ? 'high-byte' : 'u8') };
}

function opencvOrientation(bytes: Uint8Array, d: DecodedSamples): number | undefined {
  let tiff: Uint8Array | undefined;
  if (d.format === 'jpeg') {
    const app1 = jpegFirstApp1(bytes);
    // The first APP1, whatever it holds, minus the 6 bytes an "Exif\0\0" header would take.
    if (app1 && app1.length > 6) tiff = app1.subarray(6);
  } else if (d.format === 'png') {
    tiff = pngExif(bytes);
  }
  return tiff ? opencvExifOrientation(tiff) : undefined;
}

/** icvCvt_CMYK2BGR_8u_C4C3R, written out as RGB. */
function opencvCmykToRgb(raw: Uint8Array, pixels: number): Uint8Array {
  const rgb = new Uint8Array(pixels * 3);
  for (let i = 0; i < pixels; i++) {
    const k = raw[i * 4 + 3];
    for (let c = 0; c < 3; c++) rgb[i * 3 + c] = k - (((255 - raw[i * 4 + c]) * k) >> 8);
  }
  return rgb;
}
