import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import { compare } from '../../../src/model/compare/compare';
import { hubPreset } from '../../../src/model/run/hubPreset';
import { preprocessImage } from '../../../src/model/run/preprocess';
import { cli } from '../../helpers/cli';
import { referencePath } from '../../helpers/reference';

/**
 * compare with a timm hub folder as the reference and no preset: the images are preprocessed as
 * the folder's own pretrained_cfg says (as classify and eval do), and the report's input spec names
 * the config so a reopened report makes the same input. A preset asked for wins.
 */
describe('compare: a hub folder reference preprocesses by its pretrained_cfg', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dla-hubcompare-'));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const hub = path.join(tmp, 'dla46_c.hub');
  fs.mkdirSync(hub);
  fs.symlinkSync(referencePath('dla46_c.safetensors'), path.join(hub, 'model.safetensors'));
  // Not DLA's own cfg: bicubic, crop_pct 0.95 and other statistics, so the input visibly differs from timm's default.
  fs.writeFileSync(path.join(hub, 'config.json'), JSON.stringify({
    architecture: 'dla46_c', num_classes: 1000, num_features: 256, global_pool: 'avg',
    pretrained_cfg: { input_size: [3, 224, 224], interpolation: 'bicubic', crop_pct: 0.95, crop_mode: 'center', mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5], num_classes: 1000 },
  }));
  const image = referencePath('probe.png');
  const common = { reference: hub, candidate: referencePath('dla46_c.pth'), input: image, provider: 'cpu', local: false, diagnose: false } as const;

  test('no preset given: the folder\'s config, in the input and in the report', async () => {
    const result = await compare(common);
    const expected = (await preprocessImage(new Uint8Array(fs.readFileSync(image)), image, hubPreset(hub)!)).input;
    assert.deepEqual(result.input!.tensor.data, expected.data, 'the input is the hub preset\'s');
    assert.deepEqual(result.report.inputSpec, { kind: 'image', file: image, preset: 'timm', presetConfig: path.join(hub, 'config.json') });
  });

  test('a preset given is used as asked', async () => {
    const result = await compare({ ...common, preset: 'timm' });
    const timm = (await preprocessImage(new Uint8Array(fs.readFileSync(image)), image, 'timm')).input;
    assert.deepEqual(result.input!.tensor.data, timm.data);
    assert.deepEqual(result.report.inputSpec, { kind: 'image', file: image, preset: 'timm' });
    const hubInput = (await preprocessImage(new Uint8Array(fs.readFileSync(image)), image, hubPreset(hub)!)).input;
    assert.notDeepEqual(timm.data, hubInput.data, 'the two presets make different inputs, so the test can tell them apart');
  });

  test('dla-lens compare does the same: the folder\'s config without --preset, timm with --preset timm', () => {
    const args = ['compare', '--reference', hub, '--candidate', referencePath('dla46_c.pth'), '--input', image, '--provider', 'cpu', '--no-local', '--no-diagnose', '--json'];
    const bare = cli(args);
    assert.equal(bare.status, 0, bare.stderr);
    assert.equal(JSON.parse(bare.stdout).inputSpec.presetConfig, path.join(hub, 'config.json'));
    const asked = cli([...args, '--preset', 'timm']);
    assert.equal(asked.status, 0, asked.stderr);
    assert.equal(JSON.parse(asked.stdout).inputSpec.presetConfig, undefined);
  });
});
