/**
 * OpenCV's EXIF orientation reading, piece by piece (the live comparison with cv2.imdecode is in
 * libraries.test.ts): the TIFF parse with its quirks, the eight transforms, and where the TIFF block
 * comes from in JPEG and PNG files.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deflateSync } from 'node:zlib';
import { applyOrientation, opencvExifOrientation } from '../../../src/model/run/exifOrientation';
import { jpegFirstApp1, pngExif } from '../../../src/model/run/imageContainers';

/** A TIFF block: header, then IFD0 with the given entries (tag, type, value field as 4 bytes). */
function tiff(little: boolean, entries: [number, number, number, number[]][], extra: number[] = []): Uint8Array {
  const out: number[] = little ? [0x49, 0x49, 0x2a, 0x00, 8, 0, 0, 0] : [0x4d, 0x4d, 0x00, 0x2a, 0, 0, 0, 8];
  const u16 = (v: number) => (little ? [v & 0xff, v >> 8] : [v >> 8, v & 0xff]);
  const u32 = (v: number) => (little ? [v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, v >>> 24] : [v >>> 24, (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff]);
  out.push(...u16(entries.length));
  for (const [tag, type, count, value] of entries) out.push(...u16(tag), ...u16(type), ...u32(count), ...value);
  out.push(0, 0, 0, 0, ...extra);
  return Uint8Array.from(out);
}
const short = (v: number, little: boolean) => (little ? [v & 0xff, v >> 8, 0, 0] : [v >> 8, v & 0xff, 0, 0]);

test('orientation from IFD0, either byte order; the value is read as 16 bits whatever the entry type says', () => {
  for (const little of [true, false]) {
    assert.equal(opencvExifOrientation(tiff(little, [[0x112, 3, 1, short(6, little)]])), 6);
  }
  // A LONG 6: little-endian keeps 6 in the low half read first, big-endian reads the high half, 0.
  assert.equal(opencvExifOrientation(tiff(true, [[0x112, 4, 1, [6, 0, 0, 0]]])), 6);
  assert.equal(opencvExifOrientation(tiff(false, [[0x112, 4, 1, [0, 0, 0, 6]]])), 0);
  // No orientation, or not a TIFF block at all.
  assert.equal(opencvExifOrientation(tiff(true, [[0x128, 3, 1, short(2, true)]])), undefined);
  assert.equal(opencvExifOrientation(new TextEncoder().encode('http://ns.adobe.com/xap/1.0/')), undefined);
  assert.equal(opencvExifOrientation(new Uint8Array(0)), undefined);
});

test('parse quirks: the first of duplicate tags wins; a failing bounds check ends the parse, keeping what came before', () => {
  assert.equal(opencvExifOrientation(tiff(true, [[0x112, 3, 1, short(3, true)], [0x112, 3, 1, short(8, true)]])), 3);
  // Make (0x10f), 40 bytes at offset 5000: out of the block, so OpenCV stops before the orientation.
  const badMake: [number, number, number, number[]] = [0x10f, 2, 40, [0x88, 0x13, 0, 0]];
  assert.equal(opencvExifOrientation(tiff(true, [badMake, [0x112, 3, 1, short(6, true)]])), undefined);
  assert.equal(opencvExifOrientation(tiff(true, [[0x112, 3, 1, short(6, true)], badMake])), 6);
  // XResolution's rational read past the end: same rule.
  assert.equal(opencvExifOrientation(tiff(true, [[0x11a, 5, 1, [0xff, 0, 0, 0]], [0x112, 3, 1, short(6, true)]])), undefined);
  // A short string sits in the value field, but OpenCV checks bytes 8.. of the block: present, fine.
  assert.equal(opencvExifOrientation(tiff(true, [[0x10e, 2, 4, [0x61, 0x62, 0x63, 0]], [0x112, 3, 1, short(5, true)]])), 5);
  // More entries announced than there are: the ones present are read.
  const truncated = tiff(true, [[0x112, 3, 1, short(7, true)]]);
  truncated[8] = 9;
  assert.equal(opencvExifOrientation(truncated), 7);
});

test('the eight orientations are OpenCV ExifTransform: flips and transposes of a 3x2 image', () => {
  // Pixels a b c / d e f, one channel value per pixel (replicated to RGB).
  const px = 'abcdef'.split('').map((c) => c.charCodeAt(0));
  const img = { width: 3, height: 2, rgb: Uint8Array.from(px.flatMap((v) => [v, v, v])) };
  const read = (o: number | undefined) => {
    const r = applyOrientation(img, o);
    const rows: string[] = [];
    for (let y = 0; y < r.height; y++) rows.push(Array.from({ length: r.width }, (_, x) => String.fromCharCode(r.rgb[(y * r.width + x) * 3])).join(''));
    return rows.join('/');
  };
  assert.deepEqual([undefined, 0, 1, 9].map(read), ['abc/def', 'abc/def', 'abc/def', 'abc/def']);
  assert.equal(read(2), 'cba/fed'); // flip horizontally
  assert.equal(read(3), 'fed/cba'); // rotate 180
  assert.equal(read(4), 'def/abc'); // flip vertically
  assert.equal(read(5), 'ad/be/cf'); // transpose
  assert.equal(read(6), 'da/eb/fc'); // rotate 90 clockwise
  assert.equal(read(7), 'fc/eb/da'); // transpose, then rotate 180
  assert.equal(read(8), 'cf/be/ad'); // rotate 90 counter-clockwise
});

test('JPEG: the first APP1 segment before the scan, whatever it holds', () => {
  const seg = (marker: number, data: number[]) => [0xff, marker, (data.length + 2) >> 8, (data.length + 2) & 0xff, ...data];
  const xmp = [...new TextEncoder().encode('http://ns.adobe.com/xap/1.0/\0')];
  const exif = [...new TextEncoder().encode('Exif\0\0'), 1, 2, 3];
  const jpeg = (...segments: number[][]) => Uint8Array.from([0xff, 0xd8, ...segments.flat(), 0xff, 0xda, 0, 2, 0xff, 0xd9]);
  assert.deepEqual([...jpegFirstApp1(jpeg(seg(0xe0, [1, 2]), seg(0xe1, exif)))!], exif);
  assert.deepEqual([...jpegFirstApp1(jpeg(seg(0xe1, xmp), seg(0xe1, exif)))!], xmp);
  assert.equal(jpegFirstApp1(Uint8Array.from([0xff, 0xd8, 0xff, 0xda, 0, 2, ...seg(0xe1, exif)])), undefined, 'after SOS is image data');
  assert.equal(jpegFirstApp1(jpeg(seg(0xe0, [1]))), undefined);
  assert.equal(jpegFirstApp1(Uint8Array.from([0xff, 0xd8, 0xff, 0xe1, 0x40, 0])), undefined, 'a length past the end');
  assert.equal(jpegFirstApp1(new Uint8Array([0x89, 0x50])), undefined);
});

test("PNG: the first eXIf chunk libpng keeps (good CRC, libpng's byte-order test), before or after IDAT", () => {
  const chunk = (type: string, data: number[], badCrc = false) => {
    const body = [...new TextEncoder().encode(type), ...data];
    const crc = (crc32(Uint8Array.from(body)) ^ (badCrc ? 1 : 0)) >>> 0;
    return [data.length >>> 24, (data.length >> 16) & 0xff, (data.length >> 8) & 0xff, data.length & 0xff, ...body, crc >>> 24, (crc >> 16) & 0xff, (crc >> 8) & 0xff, crc & 0xff];
  };
  const sig = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  const ihdr = chunk('IHDR', [0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0]);
  const idat = chunk('IDAT', [...deflateSync(Buffer.from([0, 1, 2, 3]))]);
  const png = (...chunks: number[][]) => Uint8Array.from([...sig, ...ihdr, ...chunks.flat(), ...chunk('IEND', [])]);
  const ii = [0x49, 0x49, 0x2a, 0, 8, 0, 0, 0];
  assert.deepEqual([...pngExif(png(chunk('eXIf', ii), idat))!], ii);
  assert.deepEqual([...pngExif(png(idat, chunk('eXIf', ii)))!], ii);
  assert.equal(pngExif(png(chunk('eXIf', ii, true), idat)), undefined, 'bad CRC: discarded');
  const exifPrefixed = [...new TextEncoder().encode('Exif\0\0'), ...ii];
  assert.equal(pngExif(png(chunk('eXIf', exifPrefixed), idat)), undefined, '"Ex": incorrect byte-order specifier');
  // libpng only rejects a second byte that is neither I nor M and differs from the first.
  assert.ok(pngExif(png(chunk('eXIf', [0x49, 0x4d, 0, 0]), idat)));
  assert.deepEqual([...pngExif(png(chunk('eXIf', exifPrefixed), chunk('eXIf', ii), idat))!], ii, 'a rejected chunk does not hide the next');
  assert.equal(pngExif(png(idat)), undefined);
});

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}
