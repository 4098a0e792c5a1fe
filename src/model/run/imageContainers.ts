/**
 * The container facts OpenCV's EXIF handling reads and libvips does not report the way OpenCV sees
 * them: a JPEG's first APP1 segment (before the first scan) and a PNG's eXIf chunk. Bounds-checked;
 * a malformed container yields "not found", and the pixel decoder (sharp) reports the broken file.
 */
import { crc32 } from '../formats/crc32';

const SOI = 0xd8;
const SOS = 0xda;
const EOI = 0xd9;
const APP1 = 0xe1;

/**
 * Data of the first APP1 segment (after its length field) as libjpeg saves it for OpenCV, walking
 * the segments between SOI and the first SOS (libjpeg reads markers only there); undefined if none.
 */
export function jpegFirstApp1(bytes: Uint8Array): Uint8Array | undefined {
  if (bytes.length < 4 || bytes[0] !== 0xff || bytes[1] !== SOI) return undefined;
  let p = 2;
  while (p + 4 <= bytes.length) {
    if (bytes[p] !== 0xff) break;
    let marker = bytes[p + 1];
    // Fill bytes (0xFF 0xFF ...) may precede a marker.
    while (marker === 0xff && p + 2 < bytes.length) {
      p++;
      marker = bytes[p + 1];
    }
    if (marker === SOS || marker === EOI) break;
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      p += 2; // standalone markers carry no length
      continue;
    }
    if (p + 4 > bytes.length) break;
    const length = (bytes[p + 2] << 8) | bytes[p + 3];
    if (length < 2 || p + 2 + length > bytes.length) break;
    if (marker === APP1) return bytes.subarray(p + 4, p + 2 + length);
    p += 2 + length;
  }
  return undefined;
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/**
 * The first eXIf chunk libpng 1.6 would keep: at least 2 bytes, a correct CRC (libpng discards an
 * ancillary chunk with a bad one), and not dropped by its "incorrect byte-order specifier" test,
 * which rejects data whose second byte is neither 'I' nor 'M' and differs from the first. libpng
 * reads eXIf before or after the image data, so the whole file is searched.
 */
export function pngExif(bytes: Uint8Array): Uint8Array | undefined {
  if (bytes.length < 8 || PNG_SIGNATURE.some((b, i) => bytes[i] !== b)) return undefined;
  let p = 8;
  while (p + 12 <= bytes.length) {
    const length = ((bytes[p] << 24) | (bytes[p + 1] << 16) | (bytes[p + 2] << 8) | bytes[p + 3]) >>> 0;
    if (length > bytes.length - p - 12) return undefined;
    const type = String.fromCharCode(bytes[p + 4], bytes[p + 5], bytes[p + 6], bytes[p + 7]);
    if (type === 'IEND') return undefined;
    if (type === 'eXIf') {
      const crc = ((bytes[p + 8 + length] << 24) | (bytes[p + 9 + length] << 16) | (bytes[p + 10 + length] << 8) | bytes[p + 11 + length]) >>> 0;
      const data = bytes.subarray(p + 8, p + 8 + length);
      const byteOrderRejected = data.length >= 2 && data[1] !== 0x49 && data[1] !== 0x4d && data[0] !== data[1];
      if (data.length >= 2 && !byteOrderRejected && crc === crc32(bytes.subarray(p + 4, p + 8 + length))) {
        return data;
      }
    }
    p += 12 + length;
  }
  return undefined;
}
