/**
 * The engine's comparePreprocessing method, as Compare Preprocessing calls it: a real engine
 * process, real sharp and onnxruntime. What is proved: its numbers are comparePreprocessing()'s own
 * (called here directly), the PNGs it sends decode to exactly the crops computed and to the
 * difference map through the stated colour map, the top-5 ranks it marks are those that differ,
 * presets come from config files, and bad input is answered with a sentence naming the file.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import sharp from 'sharp';
import { EngineClient } from '../../src/engine/client';
import { differenceColour } from '../../src/engine/preprocessingView';
import { comparePreprocessing } from '../../src/model/run/comparePreprocessing';
import { loadModel } from '../../src/model/run/loadModel';
import { presetByName } from '../../src/model/run/presets';
import type { PngImage } from '../../src/shared/preprocessingProtocol';
import { skipWithoutTorch, writeTrainingCheckpoint } from '../helpers/python';
import { readReference, referencePath } from '../helpers/reference';

const WORKER = path.resolve(__dirname, '..', '..', 'src', 'engine', 'worker.ts');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dla-engine-pre-'));
const engine = new EngineClient({ entry: WORKER, execArgv: ['--import', 'tsx'] });
after(async () => {
  await engine.dispose();
  fs.rmSync(tmp, { recursive: true, force: true });
});

async function pixels(img: PngImage): Promise<Uint8Array> {
  assert.match(img.uri, /^data:image\/png;base64,/);
  const { data, info } = await sharp(Buffer.from(img.uri.slice('data:image/png;base64,'.length), 'base64')).raw().toBuffer({ resolveWithObject: true });
  assert.deepEqual([info.width, info.height, info.channels], [img.width, img.height, 3]);
  return new Uint8Array(data);
}

describe('the engine compares preprocessing', { timeout: 300_000 }, () => {
  test('probe.png timm vs paddleclas with dla46_c: the numbers, crops and top-5s comparePreprocessing() gives', async () => {
    const image = referencePath('probe.png');
    const checkpoint = referencePath('dla46_c.pth');
    const progress: string[] = [];
    const d = await engine.call('comparePreprocessing', {
      image, a: { preset: 'timm' }, b: { preset: 'paddleclas' }, checkpoint, provider: 'cpu',
    }, { onProgress: (p) => progress.push(p) });
    const direct = await comparePreprocessing(readReference('probe.png'), image, presetByName('timm'), presetByName('paddleclas'),
      { model: loadModel(checkpoint), k: 5, provider: 'cpu' });

    assert.deepEqual(progress, ['Reading dla46_c.pth', 'timm vs paddleclas on probe.png, classified by dla46_c']);
    assert.equal(d.comparable, true);
    assert.deepEqual(d.pixels, { ...direct.pixels });
    assert.deepEqual(d.tensor, { ...direct.tensor });
    assert.ok(d.pixels!.max > 0 && d.pixels!.differing > 0, 'the two pipelines do differ on probe.png');
    assert.deepEqual([d.a.preset, d.b.preset, d.a.decoder, d.b.decoder, d.a.config, d.b.config], ['timm', 'paddleclas', 'pillow', 'opencv', null, null]);
    assert.deepEqual(d.a.resized, { width: direct.a.result.resized.width, height: direct.a.result.resized.height });

    // The crops, lossless: exactly the uint8 pixels each pipeline made.
    assert.deepEqual(await pixels(d.a.crop), direct.a.result.cropped.rgb);
    assert.deepEqual(await pixels(d.b.crop), direct.b.result.cropped.rgb);

    // The heat map is the difference map through the legend's colours; black exactly where identical.
    const map = direct.differenceMap!.data;
    const heat = await pixels(d.heatmap!.image);
    const legend = await pixels(d.heatmap!.legend);
    assert.equal(d.heatmap!.scaleMax, direct.pixels!.max);
    assert.equal(d.heatmap!.legend.width, direct.pixels!.max + 1);
    let black = 0;
    for (let i = 0; i < map.length; i++) {
      const c = [heat[i * 3], heat[i * 3 + 1], heat[i * 3 + 2]];
      assert.deepEqual(c, [legend[map[i] * 3], legend[map[i] * 3 + 1], legend[map[i] * 3 + 2]], `pixel ${i} (level ${map[i]})`);
      if (c[0] + c[1] + c[2] === 0) black++;
    }
    assert.equal(black, map.length - direct.pixels!.differing);

    // The top-5s, and the ranks marked as differing are those whose classes differ.
    const top = (t: typeof direct.a.top) => t!.map((p) => [p.index, p.label, p.prob]);
    assert.deepEqual(d.a.top!.map((p) => [p.index, p.label, p.prob]), top(direct.a.top));
    assert.deepEqual(d.b.top!.map((p) => [p.index, p.label, p.prob]), top(direct.b.top));
    assert.deepEqual(d.model!.rankDiffers, direct.a.top!.map((p, i) => p.index !== direct.b.top![i].index));
    assert.equal(d.model!.top1Differs, direct.a.top![0].index !== direct.b.top![0].index);
    assert.equal(d.model!.logitsMaxAbs, direct.logitsMaxAbs);
    assert.deepEqual([d.model!.variant, d.model!.checkpoint], ['dla46_c', checkpoint]);
    assert.match(d.model!.provider, /^cpu/);
  });

  test('presets from config files, without a model; crops of different sizes are not compared pixel by pixel', async () => {
    const image = referencePath('probe.png');
    const cfg = path.join(tmp, 'pretrained_cfg.json');
    fs.writeFileSync(cfg, JSON.stringify({ input_size: [3, 192, 192], interpolation: 'bicubic', crop_pct: 0.95 }));
    const yaml = path.join(tmp, 'DLA60.yaml');
    fs.writeFileSync(yaml, [
      'Infer:', '  transforms:', '    - DecodeImage:', '        to_rgb: True', '        channel_first: False',
      '    - ResizeImage:', '        resize_short: 256', '        interpolation: bicubic', '    - CropImage:', '        size: 224',
      '    - NormalizeImage:', '        scale: 1.0/255.0', '        mean: [0.485, 0.456, 0.406]', '        std: [0.229, 0.224, 0.225]', '        order: ""',
      '    - ToCHWImage:', '',
    ].join('\n'));
    const d = await engine.call('comparePreprocessing', { image, a: { config: yaml }, b: { preset: 'paddleclas' }, provider: 'cpu' });
    assert.equal(d.a.config, yaml);
    assert.deepEqual([d.a.label, d.b.label], ['paddleclas (DLA60.yaml)', 'paddleclas']);
    assert.equal(d.a.preset, 'paddleclas');
    assert.match(d.a.description, /bicubic|INTER_CUBIC|cubic/i);
    assert.equal(d.comparable, true);
    assert.ok(d.pixels!.differing > 0, 'INTER_CUBIC and INTER_LINEAR differ');
    assert.equal(d.model, null);
    assert.deepEqual([d.a.top, d.b.top], [null, null]);

    const s = await engine.call('comparePreprocessing', { image, a: { preset: 'timm' }, b: { config: cfg }, provider: 'cpu' });
    assert.equal(s.comparable, false);
    assert.deepEqual([s.b.crop.width, s.b.crop.height], [192, 192]);
    assert.match(s.incomparable ?? '', /crops differ in size.*224x224.*192x192/);
    assert.deepEqual([s.pixels, s.tensor, s.heatmap], [null, null, null]);
  });

  test('where the top-5s part ways, the ranks whose classes differ are marked, the top-1 among them', async () => {
    // Inception-style normalisation and no crop margin: a tensor far from what dla46_c was trained on.
    const image = referencePath('probe.png');
    const checkpoint = referencePath('dla46_c.pth');
    const cfg = path.join(tmp, 'inception_cfg.json');
    fs.writeFileSync(cfg, JSON.stringify({ pretrained_cfg: { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5], crop_pct: 1.0, interpolation: 'bilinear' } }));
    const d = await engine.call('comparePreprocessing', { image, a: { preset: 'timm' }, b: { preset: 'timm', config: cfg }, checkpoint, provider: 'cpu' });
    const direct = await comparePreprocessing(readReference('probe.png'), image, presetByName('timm'),
      { ...presetByName('timm'), resize: { library: 'pillow', filter: 'bilinear', size: { rule: 'shorter-side', size: 224 } },
        normalize: { arithmetic: 'torchvision', mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] } },
      { model: loadModel(checkpoint), k: 5, provider: 'cpu' });
    assert.deepEqual(d.tensor, { ...direct.tensor });
    const differs = direct.a.top!.map((p, i) => p.index !== direct.b.top![i].index);
    assert.ok(differs[0], 'the top-1 differs on this pair (else the test shows nothing)');
    assert.deepEqual(d.model!.rankDiffers, differs);
    assert.equal(d.model!.top1Differs, true);
    assert.deepEqual(d.b.top!.map((p) => p.index), direct.b.top!.map((p) => p.index));
  });

  test('a training checkpoint: the weights key picks the dict both top-5s come from', { skip: skipWithoutTorch() }, async () => {
    const image = referencePath('probe.png');
    const train = path.join(tmp, 'train.pth');
    writeTrainingCheckpoint(train, referencePath('dla46_c.pth'), 0.5);
    const call = (weightsKey?: string) => engine.call('comparePreprocessing', {
      image, a: { preset: 'timm' }, b: { preset: 'paddle' }, checkpoint: train, provider: 'cpu', ...(weightsKey ? { weightsKey } : {}),
    });
    const plain = await call('state_dict');
    const ema = await call('state_dict_ema');
    const direct = await comparePreprocessing(new Uint8Array(fs.readFileSync(image)), image, presetByName('timm'), presetByName('paddle'), {
      model: loadModel(train, { weightsKey: 'state_dict_ema' }), k: 5, provider: 'cpu',
    });
    assert.deepEqual(ema.a.top!.map((p) => p.prob), direct.a.top!.map((p) => p.prob), 'the EMA dict\'s top-5');
    assert.notDeepEqual(plain.a.top!.map((p) => p.prob), ema.a.top!.map((p) => p.prob), 'the head halved changes the probabilities');
  });

  test('a bad config file or a missing image is answered with a sentence naming it', async () => {
    const image = referencePath('probe.png');
    const bad = path.join(tmp, 'bad.json');
    fs.writeFileSync(bad, '{"interpolation": "cubic-ish"}');
    await assert.rejects(engine.call('comparePreprocessing', { image, a: { preset: 'timm' }, b: { config: bad }, provider: 'cpu' }),
      (e: Error) => e.message.includes('bad.json') && /interpolation/.test(e.message));
    const missing = path.join(tmp, 'nope.png');
    await assert.rejects(engine.call('comparePreprocessing', { image: missing, a: { preset: 'timm' }, b: { preset: 'paddle' }, provider: 'cpu' }),
      (e: Error) => e.message.includes('nope.png'));
  });
});

test('the heat map colour map: 0 is black, every other level visible and brighter than the one below', () => {
  for (const scaleMax of [1, 2, 83, 255]) {
    assert.deepEqual(differenceColour(0, scaleMax), [0, 0, 0]);
    let previous = 0;
    for (let level = 1; level <= scaleMax; level++) {
      const [r, g, b] = differenceColour(level, scaleMax);
      const luma = 0.2126 * r + 0.7152 * g + 0.0722 * b;
      assert.ok(luma >= 30 * 0.2126 + 0.0722 * 100, `level ${level}/${scaleMax} is visibly not black: ${[r, g, b]}`);
      // Channels are rounded to integers: between neighbouring levels that may cost up to half a level of luma.
      assert.ok(luma >= previous - 0.5, `level ${level}/${scaleMax} (${luma}) is not darker than level ${level - 1} (${previous})`);
      previous = luma;
    }
    assert.deepEqual(differenceColour(scaleMax, scaleMax), [255, 245, 170]);
  }
});
