import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import { runEvaluation } from '../../src/engine/evaluation';
import { referencePath } from '../helpers/reference';

/**
 * The engine's evaluate records the preset it ran with so that the results view can make it
 * again (a disagreement opens Compare Preprocessing with it): the chosen one, or a hub folder's
 * config.json, whichever way the weights were named (the folder or its config.json).
 */
describe('engine evaluate: the run\'s preset', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dla-engine-eval-'));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const hub = path.join(tmp, 'hub');
  fs.mkdirSync(hub);
  fs.symlinkSync(referencePath('dla46_c.safetensors'), path.join(hub, 'model.safetensors'));
  fs.writeFileSync(path.join(hub, 'config.json'), JSON.stringify({ architecture: 'dla46_c', num_classes: 1000, pretrained_cfg: { interpolation: 'bicubic', crop_pct: 0.95 } }));
  const classDir = path.join(tmp, 'val', 'n01440764');
  fs.mkdirSync(classDir, { recursive: true });
  fs.copyFileSync(referencePath('probe.png'), path.join(classDir, 'probe.png'));
  const ctx = { progress: () => {}, isCancelled: () => false };
  const evaluate = (weights: string, preset?: { preset: string }) => runEvaluation({
    title: 't', weights, folder: path.dirname(classDir), provider: 'cpu', againstPreset: { preset: 'paddleclas' }, ...(preset ? { preset } : {}),
  }, ctx);

  for (const [how, weights] of [['the folder', hub], ['its config.json', path.join(hub, 'config.json')]] as const) {
    test(`a hub folder named by ${how}: its config.json`, async () => {
      const d = await evaluate(weights);
      assert.deepEqual(d.run.preset, { preset: 'timm', config: path.join(hub, 'config.json') });
      assert.match(d.presetDescription, /pretrained_cfg/);
    });
  }

  test('a preset chosen: that preset', async () => {
    const d = await evaluate(hub, { preset: 'paddle' });
    assert.deepEqual(d.run.preset, { preset: 'paddle' });
  });
});
