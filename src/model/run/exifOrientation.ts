/**
 * EXIF orientation the way `cv2.imdecode` finds and applies it (OpenCV 4.x `exif.cpp`,
 * `loadsave.cpp`), not the way the EXIF standard describes it, because the point is to get
 * OpenCV's pixels:
 * - the TIFF block is the first JPEG APP1 segment minus its first 6 bytes (whatever they are, so an
 *   XMP segment before the EXIF one hides the orientation), or a PNG's eXIf chunk; WebP's EXIF is
 *   not read by OpenCV 4.6;
 * - byte order: little-endian only for "II"; anything else is read big-endian;
 * - IFD0 entries are read in file order into a map where the first of a tag wins; the tags OpenCV
 *   knows read their values with bounds checks, and the first failing check ends the parse (the
 *   entries read before it are kept);
 * - the orientation is the 16-bit value at the entry's value field, whatever the entry's type says;
 *   1..8 transform the image (transpose/flips as ExifTransform does), anything else leaves it.
 * Pillow's `Image.open` applies no orientation at all (see decodeImage.ts).
 */
import type { RgbImage } from './decodeImage';

class ExifParsingError extends Error {}

const ORIENTATION = 0x0112;
/** Tags whose values OpenCV reads (and bounds-checks) while parsing IFD0, with the reader it uses. */
const STRING_TAGS = new Set([0x010e, 0x010f, 0x0110, 0x0131, 0x0132, 0x8298]);
const U16_TAGS = new Set([0x0112, 0x0128, 0x0213]);
/** Tag -> number of unsigned rationals read at the offset stored in the value field. */
const RATIONAL_TAGS = new Map([[0x011a, 1], [0x011b, 1], [0x013e, 2], [0x013f, 6], [0x0211, 3], [0x0214, 6]]);
const EXIF_OFFSET = 0x8769;

/** The orientation OpenCV reads from a TIFF block, or undefined when it finds none. */
export function opencvExifOrientation(tiff: Uint8Array): number | undefined {
  const little = tiff.length > 1 ? tiff[0] === tiff[1] && tiff[0] === 0x49 : tiff.length === 1 && tiff[0] === 0x49;
  const u16 = (o: number): number => {
    if (o + 1 >= tiff.length) throw new ExifParsingError();
    return little ? tiff[o] | (tiff[o + 1] << 8) : (tiff[o] << 8) | tiff[o + 1];
  };
  const u32 = (o: number): number => {
    if (o + 3 >= tiff.length) throw new ExifParsingError();
    return little
      ? (tiff[o] | (tiff[o + 1] << 8) | (tiff[o + 2] << 16) | (tiff[o + 3] << 24)) >>> 0
      : ((tiff[o] << 24) | (tiff[o + 1] << 16) | (tiff[o + 2] << 8) | tiff[o + 3]) >>> 0;
  };
  const seen = new Map<number, number>();
  try {
    if (u16(2) !== 0x2a) return undefined;
    let offset = u32(4);
    const entries = u16(offset);
    offset = (offset + 2) >>> 0; // a uint32_t in exif.cpp
    for (let e = 0; e < entries; e++) {
      const tag = u16(offset);
      let value = 0;
      if (STRING_TAGS.has(tag)) {
        // getString(): the data sits at byte 8 of the block when it fits in 4 bytes (an OpenCV quirk).
        const size = u32(offset + 4);
        const at = size > 4 ? u32(offset + 8) : 8;
        if (at > tiff.length || at + size > tiff.length) throw new ExifParsingError();
      } else if (U16_TAGS.has(tag)) {
        value = u16(offset + 8);
      } else if (RATIONAL_TAGS.has(tag)) {
        let at = u32(offset + 8);
        for (let i = 0; i < RATIONAL_TAGS.get(tag)!; i++, at = (at + 8) >>> 0) {
          u32(at);
          u32(at + 4); // size_t arithmetic here: no wrap-around
        }
      }
      const known = STRING_TAGS.has(tag) || U16_TAGS.has(tag) || RATIONAL_TAGS.has(tag) || tag === EXIF_OFFSET;
      const key = known ? tag : 0xffff;
      if (!seen.has(key)) seen.set(key, value);
      offset = (offset + 12) >>> 0;
    }
  } catch (e) {
    if (!(e instanceof ExifParsingError)) throw e;
  }
  return seen.get(ORIENTATION);
}

/** OpenCV's ExifTransform: orientations 2..8 as flips and transposes; others leave the image. */
export function applyOrientation(image: RgbImage, orientation: number | undefined): RgbImage {
  if (orientation === undefined || orientation < 2 || orientation > 8) return image;
  const { width: w, height: h, rgb } = image;
  const transposed = orientation >= 5;
  const ow = transposed ? h : w;
  const oh = transposed ? w : h;
  // After the (optional) transpose: flip horizontally for 2, 3, 6, 7; vertically for 3, 4, 7, 8.
  const flipX = orientation === 2 || orientation === 3 || orientation === 6 || orientation === 7;
  const flipY = orientation === 3 || orientation === 4 || orientation === 7 || orientation === 8;
  const out = new Uint8Array(rgb.length);
  for (let y = 0; y < oh; y++) {
    const ty = flipY ? oh - 1 - y : y;
    for (let x = 0; x < ow; x++) {
      const tx = flipX ? ow - 1 - x : x;
      // (tx, ty) in the transposed-or-not image is source (ty, tx) when transposed.
      const s = transposed ? (tx * w + ty) * 3 : (ty * w + tx) * 3;
      const d = (y * ow + x) * 3;
      out[d] = rgb[s];
      out[d + 1] = rgb[s + 1];
      out[d + 2] = rgb[s + 2];
    }
  }
  return { width: ow, height: oh, rgb: out };
}
