import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { compare } from '../../src/model/compare/compare';
import { readCheckpoint } from '../../src/model/formats/registry';
import { writeNpz } from '../../src/model/formats/npzWriter';
import { referencePath } from '../helpers/reference';
import { runPython, skipWithoutTorch } from '../helpers/python';

/**
 * The diagnosis against REAL PyTorch models carrying each porting mistake (not our own graph
 * variations): scripts/fixtures/torch_buggy_dump.py patches scripts/torch_dla.py's DLA the way a
 * broken port would be written and dumps it with scripts/dump_torch.py's hooks. `compare` must put
 * the first divergence where the mistake first shows and name it first.
 */
const ROOT = path.resolve(__dirname, '..', '..');
const SCRIPT = path.join(ROOT, 'scripts', 'fixtures', 'torch_buggy_dump.py');
const skip = skipWithoutTorch();
let tmp = '';
let inputFile = '';

before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dla-torch-bugs-'));
  inputFile = path.join(tmp, 'input.npz');
  fs.writeFileSync(inputFile, writeNpz([['input', readCheckpoint(referencePath('dla46_c_acts_96.npz')).tensors.get('input')!]]));
});

function dumpWith(bug: string, weights: string[], variant = 'dla46_c'): string {
  const out = path.join(tmp, `${variant}-${bug}.npz`);
  const r = runPython([SCRIPT, '--variant', variant, ...weights, '--input', inputFile, '--bug', bug, '--out', out]);
  assert.equal(r.status, 0, r.stderr);
  return out;
}

const CASES: { bug: string; first: RegExp }[] = [
  { bug: 'bn-eps', first: /^base_layer\.1$/ },
  { bug: 'bn-batch-stats', first: /^base_layer\.1$/ },
  { bug: 'padding', first: /^level1\.0$/ },
  { bug: 'bgr-input', first: /^base_layer\.0$/ },
  { bug: 'missing-relu', first: /^level2\.tree1$/ },
];

for (const c of CASES) {
  test(`a PyTorch model with ${c.bug}: located and named`, { skip }, async () => {
    const dump = dumpWith(c.bug, ['--weights', referencePath('dla46_c.pth')]);
    const { report } = await compare({ reference: referencePath('dla46_c.pth'), dump, provider: 'cpu', local: false });
    assert.match(report.firstDivergence ?? 'none', c.first);
    assert.equal(report.diagnosis[0]?.cause, c.bug, JSON.stringify(report.diagnosis, null, 1));
  });
}

test('a PyTorch res2net with AvgPool count_include_pad=False: located and named', { skip }, async () => {
  const weights = path.join(tmp, 'res2net.pth');
  const dump = dumpWith('avgpool-count-pad', ['--random-weights', weights], 'dla60_res2net');
  const { report } = await compare({ reference: weights, dump, provider: 'cpu', local: false });
  assert.match(report.firstDivergence ?? 'none', /^level2\.tree1\./);
  assert.equal(report.diagnosis[0]?.cause, 'avgpool-count-pad', JSON.stringify(report.diagnosis, null, 1));
});

test('the same PyTorch model without a mistake matches every layer', { skip }, async () => {
  const dump = dumpWith('none', ['--weights', referencePath('dla46_c.pth')]);
  const { report } = await compare({ reference: referencePath('dla46_c.pth'), dump, provider: 'cpu', local: false });
  assert.equal(report.firstDivergence, null);
});
