import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { compare } from '../../src/model/compare/compare';
import { readCheckpoint } from '../../src/model/formats/registry';
import { writeNpz } from '../../src/model/formats/npzWriter';
import { referenceOrder, referencePath } from '../helpers/reference';
import { runPython, skipWithoutTorch } from '../helpers/python';

const ROOT = path.resolve(__dirname, '..', '..');

/**
 * scripts/dump_torch.py for real, in Debian's torch: a plain-torch DLA (scripts/torch_dla.py, timm's
 * module names) with the reference weights and input must produce exactly the reference dump's keys
 * in the same order, and a dump that `compare` finds identical to our own run.
 */
test('dump_torch.py reproduces the reference dump convention', { skip: skipWithoutTorch() }, async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dla-dump-'));
  const factory = path.join(tmp, 'models.py');
  fs.writeFileSync(factory, [
    'import sys',
    `sys.path.insert(0, ${JSON.stringify(path.join(ROOT, 'scripts'))})`,
    'import torch_dla',
    'def dla46_c():',
    "    return torch_dla.DLA(**torch_dla.VARIANTS['dla46_c'])",
    '',
  ].join('\n'));
  const ref = readCheckpoint(referencePath('dla46_c_acts_96.npz')).tensors;
  const inputFile = path.join(tmp, 'input.npz');
  fs.writeFileSync(inputFile, writeNpz([['input', ref.get('input')!]]));
  const out = path.join(tmp, 'dump.npz');
  const r = runPython([path.join(ROOT, 'scripts', 'dump_torch.py'), '--model', `${factory}:dla46_c`,
    '--weights', referencePath('dla46_c.pth'), '--input', inputFile, '--out', out]);
  assert.equal(r.status, 0, r.stderr);

  const dump = readCheckpoint(out).tensors;
  assert.deepEqual([...dump.keys()], referenceOrder('dla46_c_acts_96_order.txt'));
  for (const [k, t] of dump) assert.deepEqual(t.shape, ref.get(k)!.shape, k);

  const { report } = await compare({ reference: referencePath('dla46_c.pth'), dump: out, provider: 'cpu', local: false });
  assert.equal(report.firstDivergence, null);
  assert.equal(report.layers.length, 190);
});

test('dump_torch.py refuses a bad --model spec with a clear message', { skip: skipWithoutTorch() }, () => {
  const r = runPython([path.join(ROOT, 'scripts', 'dump_torch.py'), '--model', 'nofactory', '--out', '/tmp/x.npz']);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /--model expects FILE\.py:FUNCTION, got 'nofactory'/);
});
