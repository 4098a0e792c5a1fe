/**
 * The decoded samples of a JPEG, PNG or WebP file exactly as the codec library hands them to its
 * caller (libjpeg's output colour space, libpng's bands and bit depth, libwebp's RGB(A)), before
 * any library-specific conversion. sharp (libvips) does the decoding; this file undoes the few
 * things libvips adds on top: colour management (ignoreIcc, no colourspace conversion), 16 -> 8-bit
 * rounding (samples are kept at their depth) and the inversion of CMYK JPEGs.
 *
 * Pillow's and OpenCV's rules for turning these samples into RGB live in decodeImage.ts and
 * opencvDecode.ts.
 */
import sharp from 'sharp';
import { FormatError } from '../errors';

export type ContainerFormat = 'jpeg' | 'png' | 'webp';

export interface DecodedSamples {
  readonly format: ContainerFormat;
  readonly width: number;
  readonly height: number;
  /** Bands as decoded: 1 grey, 2 grey + alpha, 3 RGB, 4 RGBA, or 4 CMYK when `cmyk`. */
  readonly channels: number;
  readonly sixteenBit: boolean;
  /** Interleaved samples, `channels` per pixel. */
  readonly samples: Uint8Array | Uint16Array;
  /** A 4-component JPEG: samples are libjpeg's CMYK output (YCCK already converted), not inverted. */
  readonly cmyk: boolean;
  /** Frames in the file (animated WebP); `samples` holds the first. */
  readonly pages: number;
}

const SUPPORTED_FORMATS = new Set<string>(['jpeg', 'png', 'webp']);

export async function decodeSamples(bytes: Uint8Array, file: string): Promise<DecodedSamples> {
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
  const sixteenBit = meta.depth === 'ushort';
  if (meta.depth !== 'uchar' && !sixteenBit) {
    throw new FormatError(file, `Unsupported sample format '${meta.depth}': expected 8- or 16-bit samples.`);
  }
  const cmyk = meta.space === 'cmyk';
  if (cmyk && format !== 'jpeg') {
    throw new FormatError(file, `CMYK ${format.toUpperCase()} is not supported: only CMYK/YCCK JPEGs are converted.`);
  }
  const grey = meta.space === 'b-w' || meta.space === 'grey16';
  const space = cmyk ? 'cmyk' : grey ? (sixteenBit ? 'grey16' : 'b-w') : sixteenBit ? 'rgb16' : 'srgb';

  let data: Buffer;
  let info: sharp.OutputInfo;
  try {
    // ignoreIcc: neither Pillow nor OpenCV applies embedded profiles. No autoOrient here: each
    // library's orientation rule is applied by its caller. failOn 'error': truncated or corrupt data
    // fails, benign decoder warnings do not. pipelineColourspace keeps CMYK as CMYK.
    let pipeline = sharp(bytes, { ignoreIcc: true, failOn: 'error', pages: 1 });
    if (cmyk) pipeline = pipeline.pipelineColourspace('cmyk');
    ({ data, info } = await pipeline
      .toColourspace(space)
      .raw({ depth: sixteenBit ? 'ushort' : 'uchar' })
      .toBuffer({ resolveWithObject: true }));
  } catch (e) {
    throw new FormatError(file, `Could not decode the ${format.toUpperCase()} pixel data: ${errorText(e)}.`);
  }
  const { width, height, channels } = info;
  if (channels < 1 || channels > 4 || (cmyk && channels !== 4)) {
    throw new FormatError(file, `Decoded ${format.toUpperCase()} has ${channels} channels; expected ${cmyk ? 4 : '1 to 4'}.`);
  }
  let samples: Uint8Array | Uint16Array = sixteenBit ? samples16(data) : new Uint8Array(data.buffer, data.byteOffset, data.length);
  // libvips (8.17, in sharp 0.34) inverts every CMYK JPEG, Adobe marker or not (Photoshop's
  // convention); libjpeg's own output, which Pillow and OpenCV start from, is the uninverted one.
  // The tests check both kinds of file against Pillow and OpenCV, so a libvips change shows there.
  if (cmyk) samples = (samples as Uint8Array).map((v) => 255 - v);
  return { format: format as ContainerFormat, width, height, channels, sixteenBit, samples, cmyk, pages: meta.pages ?? 1 };
}

/** sharp returns native-endian uint16 samples; the Buffer may sit at an odd offset, so copy. */
function samples16(data: Buffer): Uint16Array {
  const copy = new Uint8Array(data.length);
  copy.set(data);
  return new Uint16Array(copy.buffer, 0, data.length >> 1);
}

export function errorText(e: unknown): string {
  // libvips messages can span lines; keep them on the error's one line.
  return (e instanceof Error ? e.message : String(e)).replace(/\s+/g, ' ').trim().replace(/\.$/, '');
}
