import assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { after, before, describe, it } from 'node:test';
import { chooseDlaWeights } from '../../../src/model/dla/detect';
import { FormatError } from '../../../src/model/errors';
import { readCheckpoint, readCheckpointAsync } from '../../../src/model/formats/registry';
import { loadModel } from '../../../src/model/run/loadModel';
import type { Checkpoint } from '../../../src/model/tensor';
import { runPython, skipWithoutTorch } from '../../helpers/python';

/**
 * Checkpoints written by real PyTorch (Debian's python3-torch) the way training code writes them -
 * scripts/fixtures/torch_checkpoints.py: plain state dicts, pytorch/examples' and timm's training
 * layouts, every dtype and strided views; each in the zip and the legacy format, with pickle
 * protocols 2 (torch's default), 4 (Python's) and 5 - are read bit for bit as torch.load reads them.
 * The files are written into a temporary folder at test time (about 125 MB, 3 s) and removed after.
 */

interface Expected {
  readonly dtype: string;
  readonly shape: number[];
  readonly sha256: string;
}
interface ManifestEntry {
  readonly variant: string | null;
  readonly protocol: number;
  readonly format: 'zip' | 'legacy';
  readonly key: string;
  readonly strippedPrefix?: string;
  /** A prefix the file's names carry that only the DLA chooser strips (Lightning's 'model.'). */
  readonly rawPrefix?: string;
  readonly tensors: Record<string, Expected>;
  readonly ema?: Record<string, Expected>;
  readonly info: Record<string, string>;
}

const ROOT = path.resolve(__dirname, '..', '..', '..');
const skip = skipWithoutTorch();

function sha256(c: Checkpoint, name: string): string {
  const d = c.tensors.get(name)!.data;
  return createHash('sha256').update(new Uint8Array(d.buffer, d.byteOffset, d.byteLength)).digest('hex');
}

function assertSameTensors(c: Checkpoint, expected: Record<string, Expected>, what: string, prefix = ''): void {
  assert.deepEqual([...c.tensors.keys()], Object.keys(expected).map((k) => prefix + k), `${what}: the names, in torch's order`);
  for (const [name, e] of Object.entries(expected)) {
    const t = c.tensors.get(prefix + name)!;
    assert.equal(t.dtype, e.dtype, `${what}: ${name} dtype`);
    assert.deepEqual([...t.shape], e.shape, `${what}: ${name} shape`);
    assert.equal(sha256(c, prefix + name), e.sha256, `${what}: ${name} bytes`);
  }
}

describe('checkpoints written by real PyTorch', { skip, timeout: 300_000 }, () => {
  let dir = '';
  let files: Record<string, ManifestEntry> = {};

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dla-torch-files-'));
    const r = runPython([path.join(ROOT, 'scripts', 'fixtures', 'torch_checkpoints.py'), '--out', dir]);
    assert.equal(r.status, 0, r.stderr);
    files = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')).files;
    assert.equal(Object.keys(files).length, 18);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('reads every file bit-identical to torch.load, unwrapped and prefix-stripped as torch code would', async () => {
    for (const [name, e] of Object.entries(files)) {
      const file = path.join(dir, name);
      for (const c of [readCheckpoint(file), await readCheckpointAsync(file)]) {
        assert.equal(c.format, 'pth', name);
        assertSameTensors(c, e.tensors, name, e.rawPrefix);
        assert.equal(c.weights?.key, e.key, `${name}: the weights taken`);
        assert.equal(c.weights?.strippedPrefix, e.strippedPrefix, `${name}: the prefix stripped`);
        for (const [k, v] of Object.entries(e.info)) assert.equal(c.metadata[k], v, `${name}: metadata ${k}`);
        if (e.format === 'legacy') assert.match(c.metadata.serialization, new RegExp(`legacy torch\\.save .*pickle protocol ${e.protocol}\\)`), name);
      }
    }
  });

  it('lists what sits beside the weights: skipped keys and the alternatives', () => {
    const examples = readCheckpoint(path.join(dir, 'examples_dla60x_c_legacy.pth'));
    assert.deepEqual(examples.weights?.skipped, ['epoch', 'arch', 'best_acc1', 'optimizer', 'scheduler']);
    // best_acc1 is a 0-d tensor, so the top level is a dict of tensors too: one, not the weights.
    assert.deepEqual(examples.weights?.candidates, [{ key: 'state_dict', tensors: 374 }, { key: '', tensors: 1 }]);
    const timm = readCheckpoint(path.join(dir, 'timm_dla46_c_zip.pth'));
    assert.deepEqual(timm.weights?.candidates.map((c) => c.key), ['state_dict', 'state_dict_ema']);
    assert.match(timm.metadata.args, /^Namespace\(model='dla46_c', lr=0\.1, epochs=300, mean=None, input_size=\(3, 224, 224\), model_ema=True/);
    assert.equal(timm.metadata.alternatives, "'state_dict_ema' (290 tensors)");
  });

  it('the DLA chooser takes the trained weights (Lightning prefix stripped); --weights-key takes the EMA copy, bit-identical too', () => {
    for (const [name, e] of Object.entries(files)) {
      if (!e.variant) continue;
      const file = path.join(dir, name);
      const model = loadModel(file);
      assert.equal(model.variant.name, e.variant, name);
      assert.equal(model.checkpoint.weights?.key, e.key, name);
      assert.match(model.checkpoint.weights!.reason, new RegExp(`^fits ${e.variant} exactly`), name);
      assertSameTensors(model.checkpoint, e.tensors, `${name} (DLA chooser)`);
      if (e.rawPrefix) {
        assert.match(model.checkpoint.weights!.reason, new RegExp(`once the prefix '${e.rawPrefix}' is stripped`), name);
        assert.equal(model.checkpoint.weights?.strippedPrefix, e.rawPrefix, name);
        // Asked for by key, the dict is still stripped of the prefix the chooser recognises.
        assert.equal(loadModel(file, { weightsKey: e.key }).variant.name, e.variant, `${name} by key`);
      }
      if (e.ema) {
        assert.match(model.checkpoint.weights!.reason, new RegExp(`'state_dict_ema' fits ${e.variant} too`), name);
        const ema = readCheckpoint(file, { weightsKey: 'state_dict_ema', chooseWeights: chooseDlaWeights });
        assertSameTensors(ema, e.ema, `${name} (EMA)`);
        assert.equal(loadModel(file, { weightsKey: 'state_dict_ema' }).checkpoint.weights?.key, 'state_dict_ema');
      }
    }
  });

  it('dla-lens inspect shows the weights chosen, the alternatives and what was saved beside them', () => {
    const cli = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src', 'model', 'cli', 'main.ts'), 'inspect', ...args], { encoding: 'utf8' });
    const timm = path.join(dir, 'timm_dla46_c_legacy.pth');
    const text = cli(timm);
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout, /variant {5}dla46_c/);
    assert.match(text.stdout, /weights {5}'state_dict': fits dla46_c exactly; 'state_dict_ema' fits dla46_c too/);
    assert.match(text.stdout, /other dicts 'state_dict_ema' \(290 tensors\) \(--weights-key picks one\)/);
    assert.match(text.stdout, /\n {4}epoch +299\n/);
    assert.match(text.stdout, /\n {4}metric +71\.25\n/);
    const json = JSON.parse(cli(path.join(dir, 'examples_dla60x_c_zip.pth'), '--json').stdout);
    assert.equal(json.metadata.best_acc1, 'tensor(76.13)');
    assert.equal(json.weights.strippedPrefix, 'module.');
    const wrong = cli(timm, '--weights-key', 'ema');
    assert.equal(wrong.status, 2);
    assert.match(wrong.stderr, /no dict of tensors under the weights key 'ema'\. This checkpoint's dicts of tensors are: 'state_dict' \(290 tensors\), 'state_dict_ema'/);
  });

  it('a wrong weights key is refused with the available keys', () => {
    const file = path.join(dir, 'timm_dla46_c_legacy.pth');
    assert.throws(
      () => loadModel(file, { weightsKey: 'model_ema' }),
      (e: unknown) =>
        e instanceof FormatError &&
        /no dict of tensors under the weights key 'model_ema'\. This checkpoint's dicts of tensors are: 'state_dict' \(290 tensors\), 'state_dict_ema' \(290 tensors\)/.test(e.message),
    );
    // The top level of the pytorch/examples layout is a (one-tensor) candidate, so '.' takes it.
    const top = readCheckpoint(path.join(dir, 'examples_dla46_c_p5_zip.pth'), { weightsKey: '.' });
    assert.deepEqual([...top.tensors.keys()], ['best_acc1']);
  });
});
