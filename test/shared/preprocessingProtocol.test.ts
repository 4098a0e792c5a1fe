import * as assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { preprocessingData } from '../../src/engine/preprocessingView';
import { comparePreprocessing } from '../../src/model/run/comparePreprocessing';
import { loadModel } from '../../src/model/run/loadModel';
import { presetByName } from '../../src/model/run/presets';
import { parseToPage } from '../../src/shared/channel';
import { classificationProtocol } from '../../src/shared/classificationProtocol';
import { checkPreprocessing, preprocessingProtocol, type PreprocessingData } from '../../src/shared/preprocessingProtocol';
import { ProtocolError } from '../../src/shared/validate';
import { readReference, referencePath } from '../helpers/reference';

/**
 * The Compare Preprocessing page's validators, on the data the engine really makes (probe.png,
 * timm vs paddleclas, classified by dla46_c): it passes untouched and survives the JSON round trip
 * of the webview state (what a window reload restores); a malformed field is named by its path.
 */
const toPage = (m: unknown) => parseToPage(preprocessingProtocol, m);
const mutate = (d: PreprocessingData, f: (x: any) => void): unknown => {
  const c = structuredClone(d);
  f(c);
  return c;
};

describe('the preprocessing page protocol', () => {
  let data: PreprocessingData;
  before(async () => {
    const c = await comparePreprocessing(readReference('probe.png'), referencePath('probe.png'), presetByName('timm'), presetByName('paddleclas'),
      { model: loadModel(referencePath('dla46_c.pth')), provider: 'cpu' });
    data = await preprocessingData(c, { checkpoint: referencePath('dla46_c.pth'), variant: 'dla46_c', ms: 1 });
  });

  test('what the engine makes passes as reply and as push, and after the JSON round trip of the webview state', () => {
    const reply = { type: 'preprocessingData', inReplyTo: 3, data };
    assert.equal(toPage(reply), reply);
    assert.doesNotThrow(() => toPage({ type: 'preprocessingChanged', data }));
    const restored = JSON.parse(JSON.stringify(data));
    assert.deepEqual(restored, data, 'nothing in it is lost to JSON (no typed arrays, no undefined)');
    assert.equal(checkPreprocessing(restored, 'the restored comparison'), restored);
    // Without a model and without a pixel comparison, the nulls are allowed.
    assert.doesNotThrow(() => toPage({ type: 'preprocessingChanged', data: mutate(data, (d) => {
      d.model = null; d.a.top = null; d.b.top = null; d.comparable = false; d.incomparable = 'sizes differ'; d.pixels = null; d.tensor = null; d.heatmap = null;
    }) }));
  });

  test('a wrong field is refused, named by its path', () => {
    const cases: [(d: any) => void, RegExp][] = [
      [(d) => { d.a.crop.uri = 'file:///etc/passwd'; }, /preprocessingChanged\.data\.a\.crop\.uri: expected a data:image\/png URI/],
      [(d) => { d.heatmap.legend.uri = 'https://example.com/x.png'; }, /data\.heatmap\.legend\.uri: expected a data:image\/png URI/],
      [(d) => { d.pixels.max = '83'; }, /data\.pixels\.max: expected a number, got string/],
      [(d) => { d.tensor.differing = 1.5; }, /data\.tensor\.differing: expected an integer/],
      [(d) => { delete d.a.label; }, /data\.a\.label: expected a string, got undefined/],
      [(d) => { d.b.decoder = 'imagemagick'; }, /data\.b\.decoder: expected 'pillow' or 'opencv', got 'imagemagick'/],
      [(d) => { d.b.top[2].prob = '0.1 %'; }, /data\.b\.top\[2\]\.prob: expected a number, got string/],
      [(d) => { d.model.rankDiffers[1] = 'no'; }, /data\.model\.rankDiffers\[1\]: expected a boolean, got string/],
      [(d) => { d.model.top1Differs = undefined; }, /data\.model\.top1Differs: expected a boolean, got undefined/],
      [(d) => { delete d.incomparable; }, /data\.incomparable: expected a string, got undefined/],
      [(d) => { d.a.resized = [341, 256]; }, /data\.a\.resized: expected an object, got an array/],
    ];
    for (const [f, message] of cases) {
      assert.throws(() => toPage({ type: 'preprocessingChanged', data: mutate(data, f) }), (e: Error) => e instanceof ProtocolError && message.test(e.message), String(message));
    }
    assert.throws(() => toPage({ type: 'preprocessingData', data }), /preprocessingData\.inReplyTo: expected a number, got undefined/);
  });

  test('each page takes its own messages only', () => {
    assert.throws(() => toPage({ type: 'classificationChanged', data }), /Unknown message type 'classificationChanged' sent to the preprocessing page/);
    assert.throws(() => parseToPage(classificationProtocol, { type: 'preprocessingChanged', data }), /sent to the classification page/);
    assert.deepEqual(preprocessingProtocol.parseFromPage({ type: 'ready', messageId: 1 }), { type: 'ready', messageId: 1 });
    assert.throws(() => preprocessingProtocol.parseFromPage({ type: 'exportReport', messageId: 1 }), /Unknown message type 'exportReport' sent by the preprocessing page/);
    assert.throws(() => preprocessingProtocol.parseFromPage({ type: 'ready' }), /ready\.messageId: expected a number/);
  });
});
