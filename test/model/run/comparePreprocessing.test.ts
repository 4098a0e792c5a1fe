/**
 * comparePreprocessing(), which the CLI and the Compare Preprocessing view share, and
 * `dla-lens preprocess --against-preset` on top of it. The statistics are recomputed here from the
 * two pipelines' own outputs, and the top-5s from classify() on each tensor.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { npzReader } from '../../../src/model/formats/npz';
import { comparePreprocessing } from '../../../src/model/run/comparePreprocessing';
import { classify } from '../../../src/model/run/forward';
import { loadModel } from '../../../src/model/run/loadModel';
import { preprocessImage } from '../../../src/model/run/preprocess';
import { presetByName, presetFromTimmPretrainedCfg } from '../../../src/model/run/presets';
import { cli } from '../../helpers/cli';
import { readReference, referencePath } from '../../helpers/reference';
import { scratchDir } from './libraryReference';

const PROBE = 'probe.png';

/** An image with an EXIF orientation, so that timm (no rotation) and paddleclas (rotation) disagree in size before the crop. */
async function rotatedJpeg(): Promise<Uint8Array> {
  const w = 300, h = 260;
  const rgb = new Uint8Array(w * h * 3).map((_, i) => (i * 7 + Math.floor(i / (w * 3)) * 13) % 256);
  return new Uint8Array(await sharp(rgb, { raw: { width: w, height: h, channels: 3 } }).jpeg({ quality: 92 }).withMetadata({ orientation: 6 }).toBuffer());
}

test('the same preset on both sides: comparable, every statistic zero, decoded once', async () => {
  const bytes = readReference(PROBE);
  const c = await comparePreprocessing(bytes, PROBE, presetByName('paddleclas'), presetByName('paddleclas'));
  assert.equal(c.comparable, true);
  assert.deepEqual([c.pixels!.max, c.pixels!.mean, c.pixels!.differing, c.pixels!.total], [0, 0, 0, 224 * 224]);
  assert.deepEqual([c.tensor!.max, c.tensor!.differing, c.tensor!.total], [0, 0, 3 * 224 * 224]);
  assert.ok(c.differenceMap!.data.every((v) => v === 0));
  assert.equal(c.a.result.decoded, c.b.result.decoded, 'one decode for two presets that read the file the same way');
});

test('timm vs paddleclas: the crops, the difference map and the statistics are those of the two pipelines', async () => {
  const bytes = readReference(PROBE);
  const [timm, paddleclas] = [presetByName('timm'), presetByName('paddleclas')];
  const c = await comparePreprocessing(bytes, PROBE, timm, paddleclas);
  const a = await preprocessImage(bytes, PROBE, timm);
  const b = await preprocessImage(bytes, PROBE, paddleclas);
  assert.deepEqual(c.a.result.cropped.rgb, a.cropped.rgb);
  assert.deepEqual(c.b.result.cropped.rgb, b.cropped.rgb);
  let max = 0, sum = 0, pixelsDiffering = 0;
  for (let i = 0; i < 224 * 224; i++) {
    const d = Math.max(...[0, 1, 2].map((k) => Math.abs(a.cropped.rgb[i * 3 + k] - b.cropped.rgb[i * 3 + k])));
    assert.equal(c.differenceMap!.data[i], d, `difference map at pixel ${i}`);
    for (const k of [0, 1, 2]) sum += Math.abs(a.cropped.rgb[i * 3 + k] - b.cropped.rgb[i * 3 + k]);
    max = Math.max(max, d);
    if (d) pixelsDiffering++;
  }
  assert.deepEqual(c.pixels, { max, mean: sum / (3 * 224 * 224), differing: pixelsDiffering, total: 224 * 224, differingShare: pixelsDiffering / (224 * 224) });
  const ta = a.input.data as Float32Array, tb = b.input.data as Float32Array;
  const tensorDiffering = ta.filter((v, i) => v !== tb[i]).length;
  assert.equal(c.tensor!.differing, tensorDiffering);
  assert.equal(c.tensor!.max, ta.reduce((m, v, i) => Math.max(m, Math.abs(v - tb[i])), 0));
  // The two pipelines really differ on this image (OpenCV's bilinear is not antialiased), and not everywhere.
  assert.ok(c.pixels!.differing > 0 && c.pixels!.differing < c.pixels!.total, `${c.pixels!.differing} pixels differ`);
});

test('crops of different sizes are reported as not comparable, with both sizes', async () => {
  const c = await comparePreprocessing(readReference(PROBE), PROBE, presetByName('timm'), presetFromTimmPretrainedCfg({ input_size: [3, 288, 288], crop_pct: 1 }));
  assert.equal(c.comparable, false);
  assert.match(c.incomparable!, /the crops differ in size \(timm: 224x224, timm: 288x288\)/);
  assert.equal(c.pixels, undefined);
});

test('with a model: both top-5s are classify() on each side, and the logits difference is theirs', async () => {
  const model = loadModel(referencePath('dla46_c.pth'));
  const bytes = await rotatedJpeg();
  const c = await comparePreprocessing(bytes, 'rotated.jpg', presetByName('timm'), presetByName('paddleclas'), { model, k: 5, provider: 'cpu' });
  const a = await classify(model, (await preprocessImage(bytes, 'rotated.jpg', 'timm')).input, 5, 'cpu');
  const b = await classify(model, (await preprocessImage(bytes, 'rotated.jpg', 'paddleclas')).input, 5, 'cpu');
  assert.deepEqual(c.a.top, a.top);
  assert.deepEqual(c.b.top, b.top);
  assert.equal(c.logitsMaxAbs, a.logits.reduce((m, v, i) => Math.max(m, Math.abs(v - b.logits[i])), 0));
  // EXIF orientation 6: OpenCV rotates the 300x260 image, Pillow does not.
  assert.deepEqual([c.a.result.decoded.width, c.b.result.decoded.width], [300, 260]);
});

test('dla-lens preprocess --against-preset: text, --json and --out give the comparison; errors exit 2', async () => {
  const dir = scratchDir('dla-lens-preprocess-cli-');
  const image = path.join(dir, 'rotated.jpg');
  fs.writeFileSync(image, await rotatedJpeg());
  const expected = await comparePreprocessing(new Uint8Array(fs.readFileSync(image)), image, presetByName('paddle'), presetByName('paddleclas'));

  const json = cli(['preprocess', image, '--preset', 'paddle', '--against-preset', 'paddleclas', '--json']);
  assert.equal(json.status, 0, json.stderr);
  const r = JSON.parse(json.stdout);
  assert.deepEqual([r.a.preset, r.b.preset, r.a.decoded, r.b.decoded, r.comparable], ['paddle', 'paddleclas', [300, 260], [260, 300], true]);
  assert.deepEqual(r.pixels, expected.pixels);
  assert.deepEqual(r.tensor, expected.tensor);

  const text = cli(['preprocess', image, '--preset', 'paddle', '--against-preset', 'paddleclas']);
  assert.equal(text.status, 0, text.stderr);
  assert.match(text.stdout, new RegExp(`pixels  max ${expected.pixels!.max}, mean [0-9.]+, differ at [0-9.]+% of pixels \\(${expected.pixels!.differing} of 50176\\)`));
  assert.match(text.stdout, /tensor  max [0-9.]+, mean [0-9.]+, differ at [0-9.]+% of values \([0-9]+ of 150528\)/);

  const out = path.join(dir, 'both.npz');
  assert.equal(cli(['preprocess', image, '--preset', 'paddle', '--against-preset', 'paddleclas', '--out', out]).status, 0);
  const t = npzReader.read(new Uint8Array(fs.readFileSync(out)), out).tensors;
  assert.deepEqual([...t.keys()], ['input_a', 'input_b', 'image_a', 'image_b', 'difference']);
  assert.deepEqual(t.get('difference')!.data, expected.differenceMap!.data);
  assert.deepEqual(t.get('input_b')!.data, expected.b.result.input.data);

  // One preset, configured from a PaddleClas YAML: the tensor is the built-in preset's.
  const yaml = path.join(dir, 'ops.yaml');
  fs.writeFileSync(yaml, '- DecodeImage:\n    to_rgb: True\n- ResizeImage:\n    resize_short: 256\n- CropImage:\n    size: 224\n- NormalizeImage:\n    order: ""\n');
  const single = path.join(dir, 'single.npz');
  const s = cli(['preprocess', image, '--preset-config', yaml, '--out', single]);
  assert.equal(s.status, 0, s.stderr);
  assert.deepEqual(npzReader.read(new Uint8Array(fs.readFileSync(single)), single).tensors.get('input')!.data, expected.b.result.input.data);

  for (const [args, pattern] of [
    [['preprocess', image, '--preset', 'paddle', '--weights', 'x.pth'], /--weights compares two presets; give --against-preset too/],
    [['preprocess', image, '--against-preset', 'tf'], /Unknown preprocessing preset 'tf'\. Valid presets: timm, paddle, paddleclas/],
    [['preprocess', image, '--preset', 'paddle', '--preset-config', yaml, '--out', single], /Preset 'paddle' takes no config file/],
    [['preprocess', image, '--against-preset', 'timm', '--top', '0'], /--top must be a positive integer/],
    [['preprocess', image], /--out is required/],
  ] as const) {
    const e = cli([...args]);
    assert.equal(e.status, 2, `${args.join(' ')}: ${e.stdout}`);
    assert.match(e.stderr, pattern);
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

test('dla-lens preprocess --weights: both top-5s in the JSON, as classify reports them', () => {
  const weights = referencePath('dla46_c.pth');
  const probe = referencePath(PROBE);
  const r = cli(['preprocess', probe, '--preset', 'timm', '--against-preset', 'paddleclas', '--weights', weights, '--provider', 'cpu', '--json']);
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  for (const [side, preset] of [['a', 'timm'], ['b', 'paddleclas']] as const) {
    const c = cli(['classify', probe, '--weights', weights, '--preset', preset, '--provider', 'cpu', '--json']);
    assert.equal(c.status, 0, c.stderr);
    assert.deepEqual(j[side].top, JSON.parse(c.stdout).top, side);
  }
  assert.ok(j.logitsMaxAbs > 0);
});
