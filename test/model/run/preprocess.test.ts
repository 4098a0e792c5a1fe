import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { FormatError, UsageError } from '../../../src/model/errors';
import { npzReader } from '../../../src/model/formats/npz';
import type { Tensor } from '../../../src/model/tensor';
import { decodeImage, type RgbImage } from '../../../src/model/run/decodeImage';
import { axisCoefficients, resizeRgb, type Interpolation } from '../../../src/model/run/resample';
import {
  centerCrop, PRESETS, preprocessImage, presetByName, resizedSize, toNormalizedTensor,
} from '../../../src/model/run/preprocess';
import { roundHalfEven } from '../../../src/model/run/rounding';
import { readReference } from '../../helpers/reference';

// Expected outputs in fixtures/ were computed with Pillow 9.4 by scripts/fixtures/make_preprocess_fixtures.py.
const FIXTURES = path.join(__dirname, 'fixtures');
const fixture = (rel: string) => new Uint8Array(fs.readFileSync(path.join(FIXTURES, rel)));
const manifest = (name: string) => JSON.parse(fs.readFileSync(path.join(FIXTURES, name), 'utf8')).data;

/** First differing index and the largest difference, for messages that say where bytes diverge. */
function assertBytesEqual(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let first = -1;
  let max = 0;
  let count = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    if (d !== 0 && !(Number.isNaN(d) && Number.isNaN(actual[i]) && Number.isNaN(expected[i]))) {
      if (first < 0) first = i;
      max = Math.max(max, d);
      count++;
    }
  }
  assert.equal(count, 0, `${what}: ${count} values differ, first at ${first} (${actual[first]} vs ${expected[first]}), max |diff| ${max}`);
}

function rawPng(image: RgbImage): Promise<Uint8Array> {
  return sharp(image.rgb, { raw: { width: image.width, height: image.height, channels: 3 } }).png().toBuffer().then((b) => new Uint8Array(b));
}

/** Same formula as synthetic() in the fixture script: a chirp, a quadratic and a checkerboard. */
function syntheticImage(width: number, height: number): RgbImage {
  const rgb = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      rgb[i] = (x * x * 7 + y * 13 + x * y * 3) % 256;
      rgb[i + 1] = (x * 5 + y * y * 11) % 256;
      rgb[i + 2] = ((Math.floor(x / 8) + Math.floor(y / 8)) % 2) * 255;
    }
  }
  return { width, height, rgb };
}

const sha256 = (a: ArrayBufferView) => createHash('sha256').update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength)).digest('hex');

// --- the reference: probe.png through both pipelines, against torchvision's own output -------------

test('probe.png through both presets equals probe_preprocessed.npz bit for bit', async () => {
  const ref = npzReader.read(readReference('probe_preprocessed.npz'), 'probe_preprocessed.npz').tensors;
  const get = (key: string): Tensor => {
    const t = ref.get(key);
    assert.ok(t, `probe_preprocessed.npz has no key '${key}'`);
    return t;
  };
  const bytes = readReference('probe.png');
  for (const [pipe, preset] of [['timm_bilinear', 'timm'], ['notebook_bicubic', 'paddle']] as const) {
    const r = await preprocessImage(bytes, 'probe.png', preset);
    assert.deepEqual(get('decoded_u8').shape, [r.decoded.height, r.decoded.width, 3]);
    assertBytesEqual(r.decoded.rgb, get('decoded_u8').data as Uint8Array, 'decoded_u8');
    assert.deepEqual(get(`${pipe}_resized_u8`).shape, [r.resized.height, r.resized.width, 3]);
    assertBytesEqual(r.resized.rgb, get(`${pipe}_resized_u8`).data as Uint8Array, `${pipe}_resized_u8`);
    assertBytesEqual(r.cropped.rgb, get(`${pipe}_cropped_u8`).data as Uint8Array, `${pipe}_cropped_u8`);
    assert.deepEqual(r.input.shape, get(pipe).shape);
    assert.equal(r.input.dtype, 'float32');
    // Identical, not merely within 1e-6: every float32 step rounds as PyTorch's does.
    assertBytesEqual(r.input.data as Float32Array, get(pipe).data as Float32Array, pipe);
  }
});

// --- decoding: Pillow's Image.open(f).convert('RGB') -------------------------------------------------

test('decoding matches Pillow convert("RGB") for alpha, grey, palette, 16-bit, EXIF, ICC and WebP files', async () => {
  const cases: { file: string; width: number; height: number; note: string }[] = manifest('decode.json');
  assert.ok(cases.length >= 15);
  for (const c of cases) {
    const img = await decodeImage(fixture(`decode/${c.file}`), c.file);
    assert.deepEqual([img.width, img.height], [c.width, c.height], `${c.file}: size (EXIF orientation must not rotate)`);
    assertBytesEqual(img.rgb, fixture(`decode/${c.file}.rgb`), `${c.file} (${c.note})`);
  }
});

test('RGBA: alpha is dropped, not composited onto a background', async () => {
  const rgba = Uint8Array.from([200, 100, 50, 0, 10, 20, 30, 128]);
  const png = await sharp(rgba, { raw: { width: 2, height: 1, channels: 4 } }).png().toBuffer();
  const img = await decodeImage(new Uint8Array(png), 'rgba.png');
  assert.deepEqual([...img.rgb], [200, 100, 50, 10, 20, 30]);
});

test('grey becomes R = G = B', async () => {
  const png = await sharp(Uint8Array.from([0, 77, 255]), { raw: { width: 3, height: 1, channels: 1 } }).png().toBuffer();
  const img = await decodeImage(new Uint8Array(png), 'grey.png');
  assert.deepEqual([...img.rgb], [0, 0, 0, 77, 77, 77, 255, 255, 255]);
});

test('unsupported or broken files fail with the file name and what was found', async () => {
  const pixels = { raw: { width: 4, height: 4, channels: 3 as const } };
  const rgb = new Uint8Array(48).fill(90);
  const gif = new Uint8Array(await sharp(rgb, pixels).gif().toBuffer());
  await assert.rejects(decodeImage(gif, 'cat.gif'), (e: Error) => e instanceof FormatError && /cat\.gif: .*'gif'.*JPEG, PNG or WebP/.test(e.message));
  const png = await rawPng(syntheticImage(64, 64));
  await assert.rejects(decodeImage(png.subarray(0, png.length >> 1), 'cut.png'), (e: Error) => e instanceof FormatError && /^cut\.png: /.test(e.message));
  await assert.rejects(decodeImage(new TextEncoder().encode('not an image'), 'notes.txt'), /notes\.txt: Not a readable image/);
});

// --- resampling: Pillow's Image.resize ----------------------------------------------------------------

test('resize matches Pillow BILINEAR and BICUBIC: down, up, one axis, mixed, to 1x1', () => {
  const { source, cases } = manifest('resample.json');
  const src: RgbImage = { width: source.width, height: source.height, rgb: fixture(source.file) };
  assert.ok(cases.length >= 20);
  for (const c of cases as { width: number; height: number; interpolation: Interpolation; expected: string }[]) {
    const out = resizeRgb(src, c.width, c.height, c.interpolation);
    assert.deepEqual([out.width, out.height], [c.width, c.height]);
    assertBytesEqual(out.rgb, fixture(c.expected), `${source.width}x${source.height} -> ${c.width}x${c.height} ${c.interpolation}`);
  }
});

test('same size is the identity (the very same pixels)', () => {
  const img = syntheticImage(13, 9);
  assert.equal(resizeRgb(img, 13, 9, 'bicubic'), img);
});

test('a constant image stays constant, up or down, bilinear or bicubic', () => {
  const img: RgbImage = { width: 17, height: 11, rgb: new Uint8Array(17 * 11 * 3).fill(201) };
  for (const [w, h] of [[5, 3], [40, 29], [17, 4], [3, 11]]) {
    for (const f of ['bilinear', 'bicubic'] as const) {
      assert.ok(resizeRgb(img, w, h, f).rgb.every((v) => v === 201), `${w}x${h} ${f}`);
    }
  }
});

test('a one-row gradient stays monotone after bilinear resampling', () => {
  const w = 50;
  const rgb = new Uint8Array(w * 3).map((_, i) => Math.floor(i / 3) * 5);
  for (const target of [7, 23, 121]) {
    const out = resizeRgb({ width: w, height: 1, rgb }, target, 1, 'bilinear').rgb;
    for (let x = 1; x < target; x++) assert.ok(out[x * 3] >= out[(x - 1) * 3], `target ${target}, x ${x}`);
  }
});

test('coefficient windows: bilinear 2x downscale averages pairs; every window sums to 1.0 in fixed point', () => {
  const c = axisCoefficients(8, 4, 'bilinear');
  // Support 2 when shrinking by 2: output 1 (centre 3.0) reads inputs 1..4 with weights 1/8, 3/8, 3/8, 1/8.
  assert.deepEqual([c.bounds[2], c.bounds[3]], [1, 4]);
  assert.deepEqual([...c.weights.subarray(c.ksize, c.ksize + 4)], [1, 3, 3, 1].map((k) => (k << 22) / 8));
  for (const [inSize, outSize] of [[341, 256], [100, 33], [7, 50]]) {
    const b = axisCoefficients(inSize, outSize, 'bicubic');
    for (let i = 0; i < outSize; i++) {
      let s = 0;
      for (let k = 0; k < b.bounds[i * 2 + 1]; k++) s += b.weights[i * b.ksize + k];
      assert.ok(Math.abs(s - (1 << 22)) <= b.ksize, `${inSize}->${outSize} window ${i} sums to ${s}`);
    }
  }
});

// --- torchvision geometry ---------------------------------------------------------------------------

test('Resize(256): short side 256, long side int(256 * long / short)', () => {
  assert.deepEqual(resizedSize(400, 300, 256), { width: 341, height: 256 });
  assert.deepEqual(resizedSize(300, 400, 256), { width: 256, height: 341 });
  assert.deepEqual(resizedSize(97, 97, 256), { width: 256, height: 256 });
  assert.deepEqual(resizedSize(150, 200, 256), { width: 256, height: 341 }); // 341.33 truncated, an upscale
  assert.deepEqual(resizedSize(600, 50, 256), { width: 3072, height: 256 });
  assert.deepEqual(resizedSize(1000, 999, 256), { width: 256, height: 256 }); // 256.256 truncated
});

test("crop offsets use Python's round: halves go to the even neighbour", () => {
  assert.equal(roundHalfEven(58.5), 58); // the probe: (341 - 224) / 2
  assert.equal(roundHalfEven(37.5), 38);
  assert.equal(roundHalfEven(0.5), 0);
  assert.equal(roundHalfEven(16), 16);
  assert.equal(roundHalfEven(2.4999), 2);
  assert.equal(roundHalfEven(-1.5), -2);
  const wide = centerCrop(syntheticImage(341, 256), 224);
  const src = syntheticImage(341, 256);
  // top 16, left 58: the crop's first pixel is source (58, 16).
  assert.deepEqual([...wide.rgb.subarray(0, 3)], [...src.rgb.subarray((16 * 341 + 58) * 3, (16 * 341 + 58) * 3 + 3)]);
});

test('CenterCrop pads with zeros when the image is smaller than the crop (torchvision)', () => {
  // 100 wide, 300 tall -> crop 224: pad left (224-100)//2 = 62, right 62; top = round((300-224)/2) = 38.
  const img = { width: 100, height: 300, rgb: new Uint8Array(100 * 300 * 3).fill(7) };
  const out = centerCrop(img, 224);
  const px = (x: number, y: number) => out.rgb[(y * 224 + x) * 3];
  assert.deepEqual([px(61, 0), px(62, 0), px(161, 223), px(162, 223)], [0, 7, 7, 0]);
  // Odd shortfall: 5x5 -> pad left/top 109, right/bottom 110.
  const tiny = centerCrop({ width: 5, height: 5, rgb: new Uint8Array(75).fill(9) }, 224);
  const t = (x: number, y: number) => tiny.rgb[(y * 224 + x) * 3];
  assert.deepEqual([t(108, 108), t(109, 109), t(113, 113), t(114, 114)], [0, 9, 9, 0]);
  // One short: no left padding, one column on the right.
  const oneShort = centerCrop({ width: 223, height: 230, rgb: new Uint8Array(223 * 230 * 3).fill(5) }, 224);
  assert.deepEqual([oneShort.rgb[0], oneShort.rgb[222 * 3], oneShort.rgb[223 * 3]], [5, 5, 0]);
});

test('ToTensor + Normalize rounds to float32 at each step, channel-major', () => {
  const t = toNormalizedTensor({ width: 2, height: 1, rgb: Uint8Array.from([0, 128, 255, 255, 0, 1]) }, [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]);
  assert.deepEqual(t.shape, [1, 3, 1, 2]);
  const f = Math.fround;
  const expect = (u8: number, m: number, s: number) => f(f(f(u8 / 255) - f(m)) / f(s));
  assert.deepEqual([...(t.data as Float32Array)], [
    expect(0, 0.485, 0.229), expect(255, 0.485, 0.229),
    expect(128, 0.456, 0.224), expect(0, 0.456, 0.224),
    expect(255, 0.406, 0.225), expect(1, 0.406, 0.225),
  ]);
});

// --- presets, end to end ----------------------------------------------------------------------------

test('presets: timm is Pillow bilinear, paddle Pillow bicubic, paddleclas OpenCV linear; all 256 -> 224 with ImageNet mean/std', () => {
  assert.deepEqual(PRESETS.map((p) => [p.name, p.decoder, p.resize?.library, p.resize?.filter, p.resize?.size, p.crop?.rule, p.crop?.height]), [
    ['timm', 'pillow', 'pillow', 'bilinear', { rule: 'shorter-side', size: 256 }, 'center-round', 224],
    ['paddle', 'pillow', 'pillow', 'bicubic', { rule: 'shorter-side', size: 256 }, 'center-round', 224],
    ['paddleclas', 'opencv', 'opencv', 'linear', { rule: 'shorter-side-round', size: 256 }, 'center-floor', 224],
  ]);
  assert.equal(presetByName('paddle').normalize.std[2], 0.225);
  assert.equal(presetByName('paddleclas').normalize.arithmetic, 'scale');
  assert.throws(() => presetByName('tf'), (e: Error) => e instanceof UsageError && /'tf'.*timm, paddle, paddleclas/.test(e.message));
});

test('synthetic images (portrait, smaller than 224, square, odd, extreme) match Pillow + torchvision', async () => {
  const cases: {
    width: number; height: number; preset: string; resized: [number, number]; top: number; left: number;
    cropped_sha256: string; input_sha256: string;
  }[] = manifest('pipeline.json');
  for (const c of cases) {
    const what = `${c.width}x${c.height} ${c.preset}`;
    const r = await preprocessImage(await rawPng(syntheticImage(c.width, c.height)), `${what}.png`, c.preset);
    assert.deepEqual([r.resized.width, r.resized.height], c.resized, `${what}: resized size`);
    assert.equal(sha256(r.cropped.rgb), c.cropped_sha256, `${what}: cropped pixels`);
    assert.equal(sha256(r.input.data as Float32Array), c.input_sha256, `${what}: input tensor`);
  }
});
