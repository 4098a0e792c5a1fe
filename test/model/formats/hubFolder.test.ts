import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { after, describe, it } from 'node:test';
import { FormatError, UsageError } from '../../../src/model/errors';
import { readCheckpoint, readCheckpointAsync } from '../../../src/model/formats/registry';
import { inspectCheckpoint } from '../../../src/model/inspect';
import { loadModel } from '../../../src/model/run/loadModel';
import { referencePath } from '../../helpers/reference';
import { expectFormatError } from '../../helpers/formatError';

/**
 * timm's hub folder: config.json beside model.safetensors or pytorch_model.bin. The config is what
 * timm's save_config_for_hf (timm/models/_hub.py) writes for dla46_c.in1k; the weights are the
 * reference files, linked into a temporary folder.
 */

const CONFIG = {
  architecture: 'dla46_c',
  num_classes: 1000,
  num_features: 256,
  global_pool: 'avg',
  pretrained_cfg: {
    tag: 'in1k',
    custom_load: false,
    input_size: [3, 224, 224],
    fixed_input_size: false,
    interpolation: 'bilinear',
    crop_pct: 0.875,
    crop_mode: 'center',
    mean: [0.485, 0.456, 0.406],
    std: [0.229, 0.224, 0.225],
    num_classes: 1000,
    pool_size: [7, 7],
    first_conv: 'base_layer.0',
    classifier: 'fc',
  },
};

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'dla-hub-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));

let folders = 0;
function hubFolder(config: unknown, weights: Record<string, string> = { 'model.safetensors': 'dla46_c.safetensors' }): string {
  const dir = path.join(root, `hub${folders++}`);
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'config.json'), typeof config === 'string' ? config : JSON.stringify(config, null, 4));
  for (const [name, reference] of Object.entries(weights)) fs.symlinkSync(referencePath(reference), path.join(dir, name));
  return dir;
}

function withCfg(patch: Record<string, unknown>): unknown {
  return { ...CONFIG, pretrained_cfg: { ...CONFIG.pretrained_cfg, ...patch } };
}

const expectHubError = (fn: () => unknown, pattern: RegExp, file?: string): FormatError => expectFormatError(fn, pattern, { file });

describe('timm hub folder', () => {
  it('opens as a checkpoint from the folder or its config.json, carrying the parsed config', async () => {
    const dir = hubFolder({ ...CONFIG, pretrained_cfg: { ...CONFIG.pretrained_cfg, my_field: { kept: [1, 2] } } });
    for (const c of [readCheckpoint(dir), readCheckpoint(path.join(dir, 'config.json')), await readCheckpointAsync(dir)]) {
      assert.equal(c.format, 'safetensors');
      assert.equal(c.tensors.size, 290);
      assert.equal(c.hub?.architecture, 'dla46_c');
      assert.equal(c.hub?.numClasses, 1000);
      assert.equal(c.hub?.weightsFile, path.join(dir, 'model.safetensors'));
      assert.equal(c.hub?.configFile, path.join(dir, 'config.json'));
      const cfg = c.hub!.pretrainedCfg;
      assert.equal(cfg.interpolation, 'bilinear');
      assert.equal(cfg.crop_pct, 0.875);
      assert.equal(cfg.crop_mode, 'center');
      assert.deepEqual(cfg.mean, [0.485, 0.456, 0.406]);
      assert.deepEqual(cfg.std, [0.229, 0.224, 0.225]);
      assert.deepEqual(cfg.input_size, [3, 224, 224]);
      assert.deepEqual(cfg.my_field, { kept: [1, 2] }, 'unknown fields are kept');
      assert.deepEqual(c.hub?.extra, { num_features: 256, global_pool: 'avg' });
    }
  });

  it('loads as the architecture config.json names, and inspect reports the hub facts', () => {
    const dir = hubFolder(CONFIG);
    assert.equal(loadModel(dir).variant.name, 'dla46_c');
    const r = inspectCheckpoint(dir);
    assert.equal(r.variant, 'dla46_c');
    assert.equal(r.hub?.architecture, 'dla46_c');
    assert.equal(r.hub?.problem, undefined);
  });

  it('prefers model.safetensors over pytorch_model.bin, as timm does, and says the other is there', () => {
    const both = hubFolder(CONFIG, { 'model.safetensors': 'dla46_c.safetensors', 'pytorch_model.bin': 'dla46_c.pth' });
    const c = readCheckpoint(both);
    assert.equal(c.format, 'safetensors');
    assert.match(c.hub!.notes.join(' '), /pytorch_model\.bin is also there; model\.safetensors was read/);
    const bin = readCheckpoint(hubFolder(CONFIG, { 'pytorch_model.bin': 'dla46_c.pth' }));
    assert.equal(bin.format, 'pth');
    assert.equal(bin.tensors.size, 290);
  });

  it('reads the flat config of older timm (the pretrained_cfg itself, architecture inside)', () => {
    const flat = { architecture: 'dla46_c', num_features: 256, ...CONFIG.pretrained_cfg, labels: ['a', 'b'] };
    const c = readCheckpoint(hubFolder(flat));
    assert.equal(c.hub?.architecture, 'dla46_c');
    assert.equal(c.hub?.pretrainedCfg.interpolation, 'bilinear');
    assert.deepEqual(c.hub?.pretrainedCfg.label_names, ['a', 'b'], "timm renames 'labels' to label_names");
    assert.equal(c.hub?.pretrainedCfg.architecture, undefined);
  });

  it('refuses weights of another architecture than config.json names, naming both', () => {
    const dir = hubFolder({ ...CONFIG, architecture: 'dla60' });
    assert.throws(() => loadModel(dir), (e: unknown) => e instanceof UsageError && /names architecture 'dla60' but the weights in .*model\.safetensors are dla46_c/.test(e.message));
    assert.match(inspectCheckpoint(dir).hub?.problem ?? '', /names architecture 'dla60' but the weights .* are dla46_c/);
    assert.throws(() => loadModel(hubFolder({ ...CONFIG, architecture: 'resnet50' })), /names architecture 'resnet50', which is not a timm DLA variant/);
    assert.throws(() => loadModel(hubFolder({ ...CONFIG, num_classes: 10 })), /says num_classes 10 but the weights .* have a 1000-class head/);
    assert.equal(loadModel(hubFolder({ ...CONFIG, architecture: 'dla46_c.in1k' })).variant.name, 'dla46_c', "timm's name.tag form");
  });

  const badConfigs: [string, unknown, RegExp][] = [
    ['crop_pct as a string', withCfg({ crop_pct: '0.875' }), /Expected pretrained_cfg\.crop_pct to be a number greater than 0 but found string "0\.875"/],
    ['a zero crop_pct', withCfg({ crop_pct: 0 }), /pretrained_cfg\.crop_pct to be a number greater than 0/],
    ['interpolation as a number', withCfg({ interpolation: 3 }), /pretrained_cfg\.interpolation to be a non-empty string but found number 3/],
    ['a two-number input_size', withCfg({ input_size: [224, 224] }), /pretrained_cfg\.input_size to be \[channels, height, width\]/],
    ['a negative std', withCfg({ std: [0.2, -0.2, 0.2] }), /pretrained_cfg\.std to be a non-empty list of numbers greater than 0/],
    ['mean of the wrong length', withCfg({ mean: [0.5, 0.5] }), /pretrained_cfg\.mean has 2 values but input_size has 3 channels/],
    ['no architecture', { pretrained_cfg: CONFIG.pretrained_cfg }, /Expected architecture to be the timm model name \(a string such as 'dla60'\) but found nothing/],
    ['a pretrained_cfg that is not an object', { ...CONFIG, pretrained_cfg: [1] }, /Expected pretrained_cfg to be a JSON object but found an array of 1/],
    ['a string num_classes', { ...CONFIG, num_classes: '1000' }, /Expected pretrained_cfg\.num_classes to be a non-negative integer/],
    ['text that is not JSON', '{"architecture": "dla46_c",', /not valid JSON/],
    ['a JSON array', '[]', /Expected a JSON object with 'architecture' and 'pretrained_cfg' but found an array of 0/],
  ];
  for (const [name, config, pattern] of badConfigs) {
    it(`refuses a config.json with ${name}, naming the file and the field`, () => {
      const dir = hubFolder(config);
      expectHubError(() => readCheckpoint(dir), pattern, path.join(dir, 'config.json'));
    });
  }

  it('says what is missing from a folder that is not a hub folder', () => {
    const empty = path.join(root, 'empty');
    fs.mkdirSync(empty);
    expectHubError(() => readCheckpoint(empty), /read as a timm hub folder .* but this one has no config\.json/, empty);
    const noWeights = hubFolder(CONFIG, {});
    fs.writeFileSync(path.join(noWeights, 'model.safetensors.index.json'), '{}');
    expectHubError(() => readCheckpoint(noWeights), /no weights file: expected one of model\.safetensors, pytorch_model\.bin.*sharded index/, noWeights);
  });

  it('passes the weights key on to the weights file (which has no wrappers here)', () => {
    expectHubError(() => readCheckpoint(hubFolder(CONFIG), { weightsKey: 'state_dict' }), /safetensors file holds its 290 tensors at the top level/);
  });
});
