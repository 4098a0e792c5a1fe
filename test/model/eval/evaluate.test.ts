import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { writeSafetensors } from '../../../src/model/formats/write/safetensorsWriter';
import { folderDataset, listDataset } from '../../../src/model/eval/dataset';
import { evaluate, type EvalRequest } from '../../../src/model/eval/evaluate';
import { classify } from '../../../src/model/run/forward';
import { loadModel, type LoadedModel } from '../../../src/model/run/loadModel';
import { preprocessImage } from '../../../src/model/run/preprocess';
import { presetByName } from '../../../src/model/run/presets';
import { float32Tensor } from '../../../src/model/tensor';
import { referencePath } from '../../helpers/reference';
import { clearTop1, drawLabelledImages, relabel, writeImageFolder, writeList, type DrawnImage } from './labelledSet';

/**
 * dla-lens eval on labelled sets drawn here, labelled with the model's own per-image top-1 (so the
 * expected accuracy is exact) and relabelled with known errors: exact top-1/top-5 counts for both
 * layouts; agreement with a checkpoint carrying a planted mistake finds exactly the images where
 * the per-image classify() of the two disagrees; preset agreement finds exactly the images whose
 * top-1 changes between timm and paddle; --resume after an interrupted run gives the uninterrupted
 * totals; Cancel stops within a batch and leaves no thread behind; batches sharded over two CPU
 * sessions give the same result.
 */
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dla-eval-'));
const timm = presetByName('timm');
const N = 24;
const SECOND = [1, 5, 9];
const OUTSIDE = [2, 14];
let model: LoadedModel;
let images: DrawnImage[];

before(async () => {
  model = loadModel(referencePath('dla46_c.pth'));
  images = await drawLabelledImages(tmp, N, model, timm);
  writeList(path.join(tmp, 'all.txt'), images);
  // Relabelled with known errors: `second` get their second class (a top-5 hit), `outside` one outside their top-5.
  writeList(path.join(tmp, 'relabelled.txt'), relabel(images, SECOND, OUTSIDE));
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const base = (extra: Partial<EvalRequest>): EvalRequest => ({
  weights: referencePath('dla46_c.pth'), dataset: listDataset(path.join(tmp, 'all.txt'), tmp), preset: timm, provider: 'cpu', batch: 5,
  preprocessThreads: 2, ...extra,
});

/**
 * The other side of an agreement run, image by image through per-image classify: the images whose
 * top-1 is not their label. Its top-1 was not chosen for a clear lead (the labels were), so an image
 * where it leads by less than the margin may go either way in a batch, on another CPU's kernels:
 * `check` holds the run's disagreements to these exactly on every other image.
 */
async function otherSide(classifyImage: (im: DrawnImage) => Promise<{ top: readonly { index: number }[]; logits: Float32Array }>) {
  const disagree: number[] = [];
  const unclear: number[] = [];
  for (const [i, im] of images.entries()) {
    const c = await classifyImage(im);
    if (!clearTop1(c.logits)) unclear.push(i);
    if (c.top[0].index !== im.label) disagree.push(i);
  }
  const clear = (xs: readonly number[]) => xs.filter((i) => !unclear.includes(i));
  return {
    disagree, unclear,
    check(found: readonly number[]): void {
      assert.deepEqual(clear(found), clear(disagree), `disagreements among the ${N - unclear.length} images with a clear top-1 on the other side`);
      assert.ok(unclear.length <= N / 4, `most images have a clear top-1 on the other side (${unclear.length} unclear)`);
    },
  };
}

/** OS threads of this process (Linux): what a worker thread left behind would show in. */
const threads = (): number => fs.readdirSync('/proc/self/task').length;

describe('dla-lens eval', { timeout: 600_000 }, () => {
  test('exact top-1/top-5 counts for a list and for an ImageFolder, relabelled with known errors', async () => {
    const second = SECOND, outside = OUTSIDE;
    const labelled = relabel(images, second, outside);
    const clean = await evaluate(base({}));
    assert.equal(clean.count, N);
    assert.deepEqual([clean.correct1, clean.correct5], [N, N]);
    assert.equal(clean.top1, 1);
    assert.deepEqual(clean.failed, []);

    const list = await evaluate(base({ dataset: listDataset(path.join(tmp, 'relabelled.txt'), tmp) }));
    assert.deepEqual([list.count, list.correct1, list.correct5], [N, N - second.length - outside.length, N - outside.length]);
    assert.ok(Math.abs(list.top1 - (N - 5) / N) < 1e-12 && Math.abs(list.top5 - (N - 2) / N) < 1e-12);
    // Each wrong image is a confusion of its label with its top-1.
    assert.equal(list.confusions.reduce((s, c) => s + c.count, 0), second.length + outside.length);

    const root = path.join(tmp, 'folder');
    writeImageFolder(root, labelled);
    const folder = await evaluate(base({ dataset: folderDataset(root) }));
    assert.deepEqual([folder.count, folder.correct1, folder.correct5], [list.count, list.correct1, list.correct5]);
    // Within the comparison criterion: the two layouts batch the images differently, which moves float32 logits by ~1e-5.
    assert.ok(Math.abs(folder.loss - list.loss) <= 1e-3 * Math.max(1, list.loss), `the same images and labels give the same loss (${folder.loss} vs ${list.loss})`);
    // Synset folders keep the ImageNet indices: per-class counts by the model's class.
    for (const c of folder.perClass) assert.equal(c.count, labelled.filter((im) => im.label === c.index).length, c.name);
  });

  test('agreement with a checkpoint carrying a planted mistake: exactly the images where per-image classify disagrees', async () => {
    // The mistake: one BatchNorm's running variance off by 4x, deep in level4 (a porting slip in a conversion script).
    const weights = new Map(model.checkpoint.tensors);
    const key = [...weights.keys()].find((k) => /^level4\.tree1\.tree1\.bn2\.running_var$/.test(k))!;
    const v = weights.get(key)!.data as Float32Array;
    weights.set(key, float32Tensor([v.length], v.map((x) => x * 4)));
    const buggy = path.join(tmp, 'buggy.safetensors');
    fs.writeFileSync(buggy, Buffer.concat(writeSafetensors(weights)));
    const other = loadModel(buggy);
    const expected = await otherSide(async (im) => classify(other, (await preprocessImage(new Uint8Array(fs.readFileSync(im.file)), im.file, timm)).input, 1, 'cpu'));
    assert.ok(expected.disagree.length > 0 && expected.disagree.length < N, `the mistake changes some top-1s but not all (${expected.disagree.length})`);
    const r = await evaluate(base({ against: buggy }));
    expected.check(r.disagreements!.map((d) => d.i));
    if (expected.unclear.length === 0) {
      assert.equal(r.agreement, (N - expected.disagree.length) / N);
      assert.equal(r.against!.correct1, N - expected.disagree.length);
    }
    assert.equal(r.against!.kind, 'checkpoint');
    assert.ok(r.meanAbsLogitDiff! > 0);
    for (const d of r.disagreements!) assert.equal(d.a[0][0], images[d.i].label);
  });

  test('preset agreement: exactly the images whose top-1 changes between timm and paddle', async () => {
    const paddle = presetByName('paddle');
    const expected = await otherSide(async (im) => classify(model, (await preprocessImage(new Uint8Array(fs.readFileSync(im.file)), im.file, paddle)).input, 1, 'cpu'));
    const r = await evaluate(base({ againstPreset: paddle }));
    expected.check(r.disagreements!.map((d) => d.i));
    assert.equal(r.against!.kind, 'preset');
    assert.equal(r.against!.source, 'paddle');
    assert.equal(r.correct1, N);
    console.log(`  timm vs paddle preprocessing: ${expected.disagree.length} of ${N} top-1s change, mean |logit diff| ${r.meanAbsLogitDiff!.toFixed(3)}`);
  });

  test('--resume after an interrupted run gives the uninterrupted totals; a torn last line is dropped', async () => {
    const dataset = listDataset(path.join(tmp, 'relabelled.txt'), tmp);
    const whole = await evaluate(base({ dataset }));
    const out = path.join(tmp, 'preds.jsonl');
    let batches = 0;
    const first = await evaluate(base({ dataset, out, isCancelled: () => ++batches > 2 }));
    assert.equal(first.partial, true);
    assert.ok(first.count < N && first.count > 0, `stopped part way (${first.count})`);
    // A kill during a write leaves half a line.
    fs.appendFileSync(out, '{"i":23,"image":"flat/x');
    const resumed = await evaluate(base({ dataset, out, resume: true }));
    assert.equal(resumed.partial, false);
    assert.equal(resumed.resumed, first.count);
    for (const k of ['count', 'correct1', 'correct5', 'top1', 'top5'] as const) assert.equal(resumed[k], whole[k], k);
    assert.ok(Math.abs(resumed.loss - whole.loss) < 1e-9);
    assert.deepEqual(resumed.confusions, whole.confusions);
    const lines = fs.readFileSync(out, 'utf8').trim().split('\n');
    assert.equal(lines.length, 1 + N, 'the header and one line per image');
    // Another run's file is not resumed into this one.
    await assert.rejects(evaluate(base({ dataset, out, resume: true, preset: presetByName('paddle') })), /records another run \(preset "timm"/);
  });

  test('Cancel stops within one batch and leaves no thread behind', async () => {
    await evaluate(base({ batch: 4 })); // libuv's and onnxruntime's process-wide threads exist from here on
    const before = threads();
    let checks = 0;
    const r = await evaluate(base({ batch: 4, isCancelled: () => ++checks > 1 }));
    assert.equal(r.partial, true);
    // One batch was submitted before the Cancel was seen; at most the batches in flight finish.
    assert.ok(r.count <= 2 * 4, `${r.count} images after a Cancel at the second batch`);
    await new Promise((res) => setTimeout(res, 200));
    assert.equal(threads(), before, 'the preprocessing and inference threads are gone');
  });

  test('batches sharded over two CPU sessions (one thread each) give the same result', async () => {
    const one = await evaluate(base({}));
    const two = await evaluate(base({ devices: 'cpu,cpu' }));
    assert.deepEqual(two.devices, ['cpu', 'cpu']);
    assert.equal(two.batchesPerDevice.length, 2);
    assert.ok(two.batchesPerDevice.every((b) => b > 0), `both sessions ran batches: ${two.batchesPerDevice.join(', ')}`);
    assert.equal(two.batchesPerDevice[0] + two.batchesPerDevice[1], Math.ceil(N / 5));
    for (const k of ['count', 'correct1', 'correct5'] as const) assert.equal(two[k], one[k], k);
    // Within the comparison criterion: the sessions run other thread counts, so other float32 sums.
    assert.ok(Math.abs(two.loss - one.loss) <= 1e-3 * Math.max(1, one.loss), `${two.loss} vs ${one.loss}`);
  });

  test('a batch that fails rejects the run with its error, closing the threads, instead of ending the process', async () => {
    const before = threads();
    let calls = 0;
    await assert.rejects(evaluate(base({ batch: 4, onProgress: () => { if (++calls === 2) throw new Error('stderr is gone (EPIPE)'); } })), /EPIPE/);
    await new Promise((res) => setTimeout(res, 200));
    assert.ok(threads() <= before, 'the preprocessing and inference threads are gone');
  });

  test('an image that does not decode is listed as failed, never dropped silently', async () => {
    const bad = path.join(tmp, 'flat', 'broken.jpg');
    fs.writeFileSync(bad, Buffer.from('not a jpeg at all'));
    writeList(path.join(tmp, 'with-bad.txt'), [...images.slice(0, 3), { file: bad, name: 'flat/broken.jpg', label: 1, top5: [] }]);
    const r = await evaluate(base({ dataset: listDataset(path.join(tmp, 'with-bad.txt'), tmp) }));
    assert.equal(r.count, 3);
    assert.equal(r.failed.length, 1);
    assert.equal(r.failed[0].image, 'flat/broken.jpg');
    assert.match(r.failed[0].error, /broken\.jpg/);
  });
});
