import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { after, before, describe, it } from 'node:test';
import { compare, reportPasses } from '../../src/model/compare/compare';
import { convertFile, convertTensors, outputFormatFor } from '../../src/model/convert';
import { UsageError } from '../../src/model/errors';
import { readCheckpoint } from '../../src/model/formats/registry';
import type { Checkpoint, Tensor } from '../../src/model/tensor';
import { runPython, skipWithoutTorch } from '../helpers/python';
import { ROOT, cli } from '../helpers/cli';
import { readReference, referencePath } from '../helpers/reference';


function sameBits(a: Tensor, b: Tensor): boolean {
  return a.dtype === b.dtype && a.shape.join() === b.shape.join() &&
    Buffer.compare(new Uint8Array(a.data.buffer, a.data.byteOffset, a.data.byteLength), new Uint8Array(b.data.buffer, b.data.byteOffset, b.data.byteLength)) === 0;
}

/** `dla-lens` from source (always there) or from the bundle (when built). */
let tmp = '';
before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dla-convert-'));
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('convert: names and refusals', () => {
  it('picks the output format from the extension, and says which ones exist', () => {
    assert.equal(outputFormatFor('a/b.PT'), 'pth');
    assert.equal(outputFormatFor('x.pdparams'), 'pdparams');
    assert.throws(() => outputFormatFor('x.onnx'), (e: Error) => e instanceof UsageError && /use \.pth or \.pt \(PyTorch\), \.safetensors or \.pdparams/.test(e.message));
  });

  it('refuses to overwrite its input', () => {
    const file = path.join(tmp, 'same.safetensors');
    fs.copyFileSync(referencePath('dla46_c.safetensors'), file);
    assert.throws(() => convertFile(file, file), /would overwrite the input/);
  });

  it('refuses a Linear (2-d) weight for Paddle, whose Linear is transposed', () => {
    const ckpt: Checkpoint = {
      file: 'lin.pth', format: 'pth', metadata: {},
      tensors: new Map([['head.weight', { dtype: 'float32', shape: [2, 3], data: new Float32Array(6) }]]),
    };
    assert.throws(() => convertTensors(ckpt, 'pdparams'), /Paddle stores transposed/);
    assert.equal(convertTensors(ckpt, 'safetensors').tensors.size, 1);
  });

  it('.pdparams -> .pdparams keeps Paddle\'s own parameter names: the reference file comes back byte for byte', () => {
    const out = path.join(tmp, 'again.pdparams');
    const r = convertFile(referencePath('dla46_c.pdparams'), out);
    assert.equal(r.renamed.length, 0);
    assert.ok(Buffer.compare(fs.readFileSync(out), readReference('dla46_c.pdparams')) === 0);
  });

  it('.safetensors (sorted by dtype and name) -> .pdparams is written in state_dict order: the reference file', () => {
    const out = path.join(tmp, 'from_st.pdparams');
    convertFile(referencePath('dla46_c.safetensors'), out);
    assert.ok(Buffer.compare(fs.readFileSync(out), readReference('dla46_c.pdparams')) === 0);
  });

  it('.pdparams -> .pth gives timm names and the same bits, with a note on num_batches_tracked', () => {
    const out = path.join(tmp, 'from_paddle.pth');
    const r = convertFile(referencePath('dla46_c.pdparams'), out);
    assert.equal(r.variant, 'dla46_c');
    assert.equal(r.tensorCount, 242);
    assert.ok(r.renamed.some(([a, b]) => a === 'base_layer.1._mean' && b === 'base_layer.1.running_mean'));
    assert.match(r.notes.join(' '), /torch fills them in at load_state_dict/);
    const ours = readCheckpoint(out).tensors;
    const ref = readCheckpoint(referencePath('dla46_c.pth')).tensors;
    assert.deepEqual([...ours.keys()], [...ref.keys()].filter((k) => !k.endsWith('num_batches_tracked')));
    for (const [k, t] of ours) assert.ok(sameBits(t, ref.get(k)!), k);
  });

  it('the CLI writes a file and exits 0; a bad output name exits 2 with the reason', () => {
    const out = path.join(tmp, 'cli.safetensors');
    const ok = cli(['convert', referencePath('dla46_c.pth'), out]);
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /\(pth\) -> .*cli\.safetensors \(safetensors\)\n {2}variant {3}dla46_c\n {2}tensors {3}290 written/);
    assert.ok(Buffer.compare(fs.readFileSync(out), readReference('dla46_c.safetensors')) === 0);
    const bad = cli(['convert', referencePath('dla46_c.pth'), path.join(tmp, 'x.bin')]);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /dla-lens convert: .*cannot tell the output format from the extension '\.bin'/);
  });
});

/**
 * The acceptance: dla60.pth compared with its own conversion to .pdparams and to
 * .safetensors: every weight and every layer identical, exit 0. (The 64x64 reference input keeps
 * the two forward passes short.)
 */
describe('dla60.pth against its own conversions', () => {
  for (const ext of ['pdparams', 'safetensors'] as const) {
    it(`.${ext}: every weight and every layer identical`, async () => {
      const out = path.join(tmp, `dla60.${ext}`);
      convertFile(referencePath('dla60.pth'), out);
      const { report } = await compare({
        reference: referencePath('dla60.pth'), candidate: out, input: referencePath('dla60_acts_64.npz'),
        provider: 'cpu', local: false, diagnose: false,
      });
      const w = report.weights!;
      assert.deepEqual([w.missing.length, w.mismatched.length, w.unexpected.length], [0, 0, 0]);
      const weightKeys = [...readCheckpoint(referencePath('dla60.pth')).tensors.keys()].filter((k) => !k.endsWith('num_batches_tracked'));
      assert.equal(w.compared.length, weightKeys.length);
      assert.ok(w.compared.every((c) => c.identical && c.maxAbs === 0));
      assert.equal(report.layers.length, 251);
      assert.ok(report.layers.every((l) => l.diff.maxAbs === 0), 'every layer bit-identical');
      assert.equal(report.firstDivergence, null);
      assert.ok(reportPasses(report));
    });
  }

  it('through the built CLI: exit 0', { skip: fs.existsSync(path.join(ROOT, 'dist', 'cli.js')) ? false : 'dist/cli.js is not built (npm run build)' }, () => {
    const out = path.join(tmp, 'dla60.pdparams');
    if (!fs.existsSync(out)) convertFile(referencePath('dla60.pth'), out);
    const r = cli(['compare', '--reference', referencePath('dla60.pth'), '--candidate', out, '--input', referencePath('dla60_acts_64.npz'),
      '--no-local', '--no-diagnose', '--provider', 'cpu', '--json'], true);
    assert.equal(r.status, 0, r.stderr);
    const report = JSON.parse(r.stdout) as { firstDivergence: string | null; layers: { diff: { maxAbs: number } }[] };
    assert.equal(report.firstDivergence, null);
    assert.ok(report.layers.every((l) => l.diff.maxAbs === 0));
  });
});

/** The files load in the frameworks' own readers: torch.load for .pth, Python's pickle with numpy for .pdparams. */
describe('written files load in Python', { skip: skipWithoutTorch() }, () => {
  it('torch.load gives the reference values; a .pth made from .pdparams loads strictly into DLA; pickle reads .pdparams', () => {
    const pth = path.join(tmp, 'dla46_c.pth');
    const fromPaddle = path.join(tmp, 'paddle_made.pth');
    const pdparams = path.join(tmp, 'dla46_c.pdparams');
    convertFile(referencePath('dla46_c.pth'), pth);
    convertFile(referencePath('dla46_c.pdparams'), fromPaddle);
    convertFile(referencePath('dla46_c.safetensors'), pdparams);
    const script = [
      'import pickle, sys, numpy as np, torch',
      `sys.path.insert(0, ${JSON.stringify(path.join(ROOT, 'scripts'))})`,
      'from torch_dla import DLA, VARIANTS',
      'ref_path, pth, from_paddle, pdparams = sys.argv[1:]',
      'ref = torch.load(ref_path)',
      'ours = torch.load(pth)',
      'assert list(ours) == list(ref), "keys"',
      'for k in ref: assert ours[k].dtype == ref[k].dtype and torch.equal(ours[k], ref[k]), k',
      "m = DLA(**VARIANTS['dla46_c']).eval()",
      'm.load_state_dict(torch.load(from_paddle), strict=True)',
      'for k, v in m.state_dict().items():',
      "    if not k.endswith('num_batches_tracked'): assert torch.equal(v, ref[k]), k",
      'with open(pdparams, "rb") as f: d = pickle.load(f)',
      "names = d.pop('StructuredToParameterName@@')",
      "expected = [k.replace('running_mean', '_mean').replace('running_var', '_variance') for k in ref if not k.endswith('num_batches_tracked')]",
      '# made from .safetensors (sorted by dtype and name): written back in state_dict order',
      'assert list(d) == expected and list(names) == expected, "pdparams keys"',
      'for k, v in d.items():',
      "    t = k.replace('._mean', '.running_mean').replace('._variance', '.running_var')",
      "    assert isinstance(v, np.ndarray) and v.dtype == np.float32 and np.array_equal(v, ref[t].numpy()), k",
      "print('ok', len(ours), len(d), names['fc.weight'])",
    ].join('\n');
    const r = runPython(['-c', script, referencePath('dla46_c.pth'), pth, fromPaddle, pdparams]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'ok 290 242 conv2d_48.w_0');
  });
});
