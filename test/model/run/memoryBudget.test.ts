import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { UsageError } from '../../../src/model/errors';
import { folderDataset } from '../../../src/model/eval/dataset';
import { evaluate } from '../../../src/model/eval/evaluate';
import { forwardTaps } from '../../../src/model/run/forward';
import { loadModel } from '../../../src/model/run/loadModel';
import { checkMemory } from '../../../src/model/run/memoryBudget';
import { presetByName } from '../../../src/model/run/presets';
import { float32Tensor } from '../../../src/model/tensor';
import { referencePath } from '../../helpers/reference';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * An input too large for memory stops with a sentence (what needs how much, what there is, what to
 * change) before anything is allocated, rather than dying mid-run.
 */
test('checkMemory: half of the free memory is the budget; the sentence says what to change', () => {
  assert.doesNotThrow(() => checkMemory('x', 2 ** 20, 'never', 4 * 2 ** 20));
  assert.throws(() => checkMemory('A batch of 64 images', 3 * 2 ** 30, 'give a smaller --batch.', 4 * 2 ** 30),
    (e: Error) => e instanceof UsageError && /^A batch of 64 images needs about 3\.0 GB of memory, more than half of the 4\.0 GB this machine has free; give a smaller --batch\.$/.test(e.message));
});

test('a tap run on an input batch too large for memory is refused before the session is made', async () => {
  const model = loadModel(referencePath('dla46_c.pth'));
  // 4096 images of 224x224: the records alone would be hundreds of GB. The input itself is a
  // small view here: nothing of that size is allocated, and the refusal comes first.
  const input = { ...float32Tensor([1, 3, 224, 224], new Float32Array(3 * 224 * 224)), shape: [4096, 3, 224, 224] };
  const t0 = performance.now();
  await assert.rejects(forwardTaps(model, input, { provider: 'cpu' }), /Running dla46_c with every record on an input of \[4096, 3, 224, 224\] needs about \d+(\.\d)? GB/);
  assert.ok(performance.now() - t0 < 2000, 'refused at once');
});

test('dla-lens eval with a --batch too large for memory is refused with the batch named', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'dla-mem-'));
  try {
    fs.mkdirSync(path.join(root, 'n01440764'));
    fs.copyFileSync(referencePath('probe.png'), path.join(root, 'n01440764', 'a.png'));
    await assert.rejects(
      evaluate({ weights: referencePath('dla46_c.pth'), dataset: folderDataset(root), preset: presetByName('timm'), provider: 'cpu', batch: 1_000_000 }),
      /A batch of 1000000 images .* needs about .* GB .*give a smaller --batch/,
    );
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
