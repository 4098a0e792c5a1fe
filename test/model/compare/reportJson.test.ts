import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { compare } from '../../../src/model/compare/compare';
import { reportFromJson, reportToJson } from '../../../src/model/compare/reportJson';
import { writeNpz } from '../../../src/model/formats/npzWriter';
import { forwardTaps } from '../../../src/model/run/forward';
import { inputFromArrays } from '../../../src/model/run/inputSource';
import { loadModel } from '../../../src/model/run/loadModel';
import { readCheckpoint } from '../../../src/model/formats/registry';
import { referencePath } from '../../helpers/reference';

/** The JSON a CI script reads: the field names at the top of each layer, NaN kept. */
test('report JSON: headline fields per layer, diagnosis, provider; NaN survives a round trip', async () => {
  const ref = referencePath('dla46_c.pth');
  const model = loadModel(ref);
  const input = inputFromArrays('x', readCheckpoint(referencePath('dla46_c_acts_96.npz')).tensors);
  const r = await forwardTaps(model, input.tensor, { variations: [{ kind: 'bn-epsilon', epsilon: 1e-3 }], provider: 'cpu' });
  // A NaN in one candidate record: it must fail that layer and survive JSON.
  const poisoned = new Map(r.records);
  const logits = r.records.get('logits')!;
  const data = Float32Array.from(logits.data as Float32Array);
  data[3] = NaN;
  poisoned.set('logits', { ...logits, data });
  const dump = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'dla-json-')), 'dump.npz');
  fs.writeFileSync(dump, writeNpz(poisoned));
  const { report } = await compare({ reference: ref, dump, provider: 'cpu', local: false });

  const json = JSON.parse(reportToJson(report));
  assert.equal(json.firstDivergence, 'base_layer.1');
  assert.equal(json.diagnosis[0].cause, 'bn-eps');
  assert.equal(typeof json.diagnosis[0].residual, 'number');
  assert.match(json.provider, /^cpu/);
  for (const [i, l] of json.layers.entries()) {
    for (const k of ['name', 'maxAbs', 'meanAbs', 'relL2', 'cosine', 'pass']) assert.ok(k in l, `layers[${i}] lacks ${k}`);
    assert.equal(l.maxAbs === 'NaN' ? 'NaN' : l.maxAbs, l.diff.maxAbs);
  }
  const last = json.layers.at(-1);
  assert.equal(last.name, 'logits');
  assert.equal(last.maxAbs, 'NaN');
  assert.equal(last.pass, false);

  const back = reportFromJson(reportToJson(report), 'report.json');
  assert.ok(Number.isNaN(back.layers.at(-1)!.diff.maxAbs));
  assert.equal(back.layers.length, report.layers.length);
  assert.throws(() => reportFromJson('{"version": 2}', 'old.json'), /old\.json is not a DLA Lens comparison report/);
});
