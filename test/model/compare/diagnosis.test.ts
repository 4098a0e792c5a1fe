import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { compare } from '../../../src/model/compare/compare';
import type { GraphVariation } from '../../../src/model/dla/onnxGraph';
import { buildModuleTree } from '../../../src/model/dla/moduleTree';
import { variantByName } from '../../../src/model/dla/variants';
import { writeNpz } from '../../../src/model/formats/npzWriter';
import { forwardTaps } from '../../../src/model/run/forward';
import { inputFromArrays } from '../../../src/model/run/inputSource';
import { loadModel, type LoadedModel } from '../../../src/model/run/loadModel';
import { readCheckpoint } from '../../../src/model/formats/registry';
import { referencePath } from '../../helpers/reference';
import { randomWeights } from '../dla/graphHelpers';

/**
 * Each known porting mistake, built into the model through our own runner and dumped the way a
 * porter would dump their port: compare must put the first divergence where the mistake first
 * shows and name it first. The reference side is the plain reference checkpoint.
 */
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dla-diagnosis-'));
const dla46 = referencePath('dla46_c.pth');
const input = inputFromArrays('dla46_c_acts_96.npz', readCheckpoint(referencePath('dla46_c_acts_96.npz')).tensors);

async function buggyDump(model: LoadedModel, variations: GraphVariation[], name: string): Promise<string> {
  const r = await forwardTaps(model, input.tensor, { variations, provider: 'cpu' });
  const file = path.join(tmp, `${name}.npz`);
  fs.writeFileSync(file, writeNpz(r.records));
  return file;
}

const CASES: { name: string; variations: GraphVariation[]; first: string | RegExp; cause: string }[] = [
  { name: 'bn-eps', variations: [{ kind: 'bn-epsilon', epsilon: 1e-3 }], first: 'base_layer.1', cause: 'bn-eps' },
  { name: 'bn-batch-stats', variations: [{ kind: 'bn-train' }], first: 'base_layer.1', cause: 'bn-batch-stats' },
  { name: 'padding', variations: [{ kind: 'same-padding' }], first: 'level1.0', cause: 'padding' },
  { name: 'bgr-input', variations: [{ kind: 'bgr-input' }], first: 'base_layer.0', cause: 'bgr-input' },
  { name: 'missing-relu', variations: [{ kind: 'drop-relu', at: 'level3.tree2' }], first: /^level3\.tree2\.(tree1|root)/, cause: 'missing-relu' },
];

const model46 = loadModel(dla46);

for (const c of CASES) {
  test(`diagnosis: ${c.name} is located and named first`, async () => {
    const dump = await buggyDump(model46, c.variations, c.name);
    const { report } = await compare({ reference: dla46, dump, provider: 'cpu', local: false });
    assert.ok(report.firstDivergence, 'the mistake must diverge');
    if (typeof c.first === 'string') assert.equal(report.firstDivergence, c.first);
    else assert.match(report.firstDivergence!, c.first);
    assert.equal(report.diagnosis[0].cause, c.cause, JSON.stringify(report.diagnosis));
    assert.ok(report.diagnosis[0].residual <= 1e-3, `residual ${report.diagnosis[0].residual}`);
    // The others were tried and explain it worse.
    for (const h of report.diagnosis.slice(1)) assert.ok(h.residual >= report.diagnosis[0].residual);
  });
}

test('diagnosis: avgpool count_include_pad in a res2net block', async () => {
  const v = variantByName('dla60_res2net')!;
  const tree = buildModuleTree(v);
  const ref = path.join(tmp, 'res2net.npz');
  fs.writeFileSync(ref, writeNpz(randomWeights(tree, 7)));
  const model = loadModel(ref);
  assert.equal(model.variant.name, 'dla60_res2net');
  const dump = await buggyDump(model, [{ kind: 'avgpool-exclude-pad' }], 'avgpool');
  const { report } = await compare({ reference: ref, dump, provider: 'cpu', local: false });
  assert.match(report.firstDivergence ?? '', /^level2\.tree1\.(pool|conv3|bn3)/);
  assert.equal(report.diagnosis[0].cause, 'avgpool-count-pad', JSON.stringify(report.diagnosis));
});

test('no mistake: no divergence, no diagnosis', async () => {
  const dump = await buggyDump(model46, [], 'clean');
  const { report } = await compare({ reference: dla46, dump, provider: 'cpu', local: false });
  assert.equal(report.firstDivergence, null);
  assert.deepEqual(report.diagnosis, []);
});

test('an unknown cause (a perturbed weight) is reported as unknown, not guessed', async () => {
  const weights = new Map(model46.weights);
  const w = weights.get('level2.tree1.conv2.weight')!;
  const scaled = Float32Array.from(w.data as Float32Array, (x) => x * 1.05);
  weights.set('level2.tree1.conv2.weight', { ...w, data: scaled });
  const dump = await buggyDump({ ...model46, weights }, [], 'perturbed');
  const { report } = await compare({ reference: dla46, dump, provider: 'cpu', local: false });
  assert.equal(report.firstDivergence, 'level2.tree1.conv2');
  assert.equal(report.diagnosis[0].cause, 'unknown');
  assert.ok(report.diagnosis.length > 1, 'the hypotheses tried are listed with their residuals');
});

test('local error separates inherited from added error', async () => {
  const dump = await buggyDump(model46, [{ kind: 'drop-relu', at: 'level3.tree2.tree1' }], 'local');
  const { report } = await compare({ reference: dla46, dump, provider: 'cpu', diagnose: false });
  const block = report.layers.find((l) => l.name === 'level3.tree2.tree1')!;
  const downstream = report.layers.find((l) => l.name === 'level3.tree2.tree2')!;
  assert.equal(block.local?.pass, false, 'the block with the mistake adds error itself');
  assert.equal(downstream.diff.pass, false, 'downstream inherits the error');
  assert.equal(downstream.local?.pass, true, 'but adds none of its own');
});

test('a dump fed BGR input while --input gives the RGB one: the input itself diverges, named bgr-input', async () => {
  const x = input.tensor.data as Float32Array;
  const plane = x.length / 3;
  const bgr = new Float32Array(x.length);
  for (let c = 0; c < 3; c++) bgr.set(x.subarray(c * plane, (c + 1) * plane), (2 - c) * plane);
  const r = await forwardTaps(model46, { ...input.tensor, data: bgr }, { provider: 'cpu' });
  const dump = path.join(tmp, 'bgr-fed.npz');
  fs.writeFileSync(dump, writeNpz(r.records));
  const rgb = path.join(tmp, 'rgb-input.npz');
  fs.writeFileSync(rgb, writeNpz([['input', input.tensor]]));
  const { report } = await compare({ reference: dla46, dump, input: rgb, provider: 'cpu', local: false });
  assert.equal(report.firstDivergence, 'input');
  assert.equal(report.diagnosis[0].cause, 'bgr-input');
});

test('a record with another shape is the first divergence, and the diagnosis does not crash on it', async () => {
  const r = await forwardTaps(model46, input.tensor, { provider: 'cpu' });
  const records = new Map(r.records);
  const conv = records.get('level2.tree1.conv2')!;
  const [n, c, h, w] = conv.shape;
  // A port whose stride-2 conv kept one row and column too few.
  const smaller = new Float32Array(n * c * (h - 1) * (w - 1));
  records.set('level2.tree1.conv2', { dtype: 'float32', shape: [n, c, h - 1, w - 1], data: smaller });
  const dump = path.join(tmp, 'shape.npz');
  fs.writeFileSync(dump, writeNpz(records));
  const { report } = await compare({ reference: dla46, dump, provider: 'cpu', local: false });
  assert.equal(report.firstDivergence, 'level2.tree1.conv2');
  assert.deepEqual(report.unmatched.shapeMismatch.map((m) => m.name), ['level2.tree1.conv2']);
  assert.equal(report.diagnosis[0].cause, 'unknown');
  assert.ok(report.diagnosis.every((h) => h.residual === Infinity), JSON.stringify(report.diagnosis));
});
