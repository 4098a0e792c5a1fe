import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { after, before, describe, it } from 'node:test';
import onnxPkg from 'onnx-proto';
import { compare } from '../../../src/model/compare/compare';
import { runOnnxCandidate } from '../../../src/model/compare/onnxCandidate';
import { mapOnnxNames, scopeSegments, type OnnxNodeInfo } from '../../../src/model/compare/onnxNames';
import { textReport } from '../../../src/model/compare/textReport';
import { buildModuleTree } from '../../../src/model/dla/moduleTree';
import { variantByName } from '../../../src/model/dla/variants';
import { UsageError } from '../../../src/model/errors';
import { writeNpz } from '../../../src/model/formats/npzWriter';
import { readCheckpoint } from '../../../src/model/formats/registry';
import { seededInput } from '../../../src/model/run/inputSource';
import { runPython, skipWithoutTorch } from '../../helpers/python';
import { referencePath } from '../../helpers/reference';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const tree = buildModuleTree(variantByName('dla46_c')!);

/** A node as torch 1.13's exporter names it: `/scope/Op` with output `/scope/Op_output_0`. */
function node(scope: string, op: string, inputs: string[]): OnnxNodeInfo {
  return { name: `${scope}/${op}`, opType: op.replace(/_\d+$/, ''), inputs, outputs: [`${scope}/${op}_output_0`] };
}

/** base_layer and level2.tree1 of dla46_c, optionally with BatchNormalization nodes kept and a wrapper scope. */
function stemAndBlock(keepBn: boolean, wrapper = ''): OnnxNodeInfo[] {
  const w = wrapper ? `/${wrapper}` : '';
  const nodes: OnnxNodeInfo[] = [];
  let x = 'input';
  const push = (scope: string, op: string, extra: string[] = []): string => {
    const n = node(`${w}${scope}`, op, [x, ...extra]);
    nodes.push(n);
    x = n.outputs[0];
    return x;
  };
  push('/base_layer/base_layer.0', 'Conv');
  if (keepBn) push('/base_layer/base_layer.1', 'BatchNormalization');
  const stem = push('/base_layer/base_layer.2', 'Relu');
  for (const [i, relu] of [[1, 'relu'], [2, 'relu_1'], [3, '']] as const) {
    push(`/level2/tree1/conv${i}`, 'Conv');
    if (keepBn) push(`/level2/tree1/bn${i}`, 'BatchNormalization');
    if (relu) push(`/level2/tree1/${relu}`, 'Relu');
  }
  push('/level2/tree1', 'Add', [stem]);
  push('/level2/tree1/relu_2', 'Relu');
  nodes.push(node(`${w}/level2/tree2/conv1`, 'Conv', [x])); // a consumer outside level2.tree1
  return nodes;
}

const byRecord = (m: ReturnType<typeof mapOnnxNames>): Map<string, { tensor: string; kind: string }> =>
  new Map(m.records.map((r) => [r.record, r]));

describe('ONNX tensor names -> record keys', () => {
  it('reads module scopes, Sequential children and repeated calls from node names', () => {
    assert.deepEqual(scopeSegments({ name: '/base_layer/base_layer.0/Conv', outputs: [] }), ['base_layer', '0']);
    assert.deepEqual(scopeSegments({ name: '/level2/project/project.0/Conv', outputs: [] }), ['level2', 'project', '0']);
    assert.deepEqual(scopeSegments({ name: '/level2/tree1/relu_1/Relu', outputs: [] }), ['level2', 'tree1', 'relu_1']);
    assert.deepEqual(scopeSegments({ name: '', outputs: ['/fc/Conv_output_0'] }), ['fc']);
    assert.equal(scopeSegments({ name: 'Conv_12', outputs: ['123'] }), null);
  });

  it('maps a folded export: conv outputs are the BatchNorm records, the last ReLU is the block', () => {
    const m = mapOnnxNames(tree, { nodes: stemAndBlock(false), input: 'input', outputs: ['logits'] });
    const r = byRecord(m);
    assert.deepEqual(r.get('base_layer.1'), { record: 'base_layer.1', tensor: '/base_layer/base_layer.0/Conv_output_0', kind: 'fused-bn' });
    assert.equal(r.get('base_layer')?.tensor, '/base_layer/base_layer.2/Relu_output_0');
    assert.equal(r.get('level2.tree1.bn3')?.tensor, '/level2/tree1/conv3/Conv_output_0');
    assert.equal(r.get('level2.tree1.relu#0')?.tensor, '/level2/tree1/relu/Relu_output_0');
    assert.equal(r.get('level2.tree1.relu#1')?.tensor, '/level2/tree1/relu_1/Relu_output_0');
    assert.equal(r.get('level2.tree1.relu#2')?.tensor, '/level2/tree1/relu_2/Relu_output_0');
    assert.equal(r.get('level2.tree1')?.tensor, '/level2/tree1/relu_2/Relu_output_0');
    assert.equal(r.get('input')?.kind, 'input');
    assert.equal(r.get('logits')?.kind, 'graph-output');
    assert.ok(m.missing.includes('base_layer.0') && m.missing.includes('level2.tree1.conv2'), 'folded convs are not observable');
    assert.ok(m.fusedBatchNorms.includes('level2.tree1.bn1'));
  });

  it('maps an export that kept its BatchNorm nodes, and drops a wrapper scope', () => {
    const m = mapOnnxNames(tree, { nodes: stemAndBlock(true, 'model'), input: 'input', outputs: ['logits'] });
    const r = byRecord(m);
    assert.equal(m.droppedPrefix, 'model');
    // Only the trailing level2.tree2.conv1, which has no BatchNormalization node after it here, counts as folded.
    assert.deepEqual(m.fusedBatchNorms, ['level2.tree2.bn1']);
    assert.equal(r.get('base_layer.0')?.tensor, '/model/base_layer/base_layer.0/Conv_output_0');
    assert.equal(r.get('base_layer.1')?.tensor, '/model/base_layer/base_layer.1/BatchNormalization_output_0');
    assert.equal(r.get('level2.tree1.bn3')?.kind, 'output');
    assert.equal(r.get('level2.tree1')?.tensor, '/model/level2/tree1/relu_2/Relu_output_0');
  });
});

/**
 * A real export: scripts/torch_dla.py's plain-torch DLA with timm's module names and the reference
 * weights, through torch.onnx.export (scripts/fixtures/export_onnx.py), compared with our own run of
 * dla46_c.pth on the reference 96x96 input.
 */
describe('an ONNX export as the candidate', { skip: skipWithoutTorch() }, () => {
  let tmp = '';
  const exported = (name: string): string => path.join(tmp, name);
  const input = (): string => referencePath('dla46_c_acts_96.npz');

  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dla-onnx-'));
    for (const [file, bug] of [['good.onnx', []], ['eps.onnx', ['--bug', 'bn-eps:level3.tree2']], ['batch2.onnx', ['--batch', '2']]] as const) {
      const r = runPython([path.join(ROOT, 'scripts', 'fixtures', 'export_onnx.py'), '--variant', 'dla46_c',
        '--weights', referencePath('dla46_c.pth'), '--out', exported(file), '--size', '96', ...bug]);
      assert.equal(r.status, 0, r.stderr);
    }
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('the faithful export matches every layer it exposes', async () => {
    const { report } = await compare({ reference: referencePath('dla46_c.pth'), candidate: exported('good.onnx'), input: input(), provider: 'cpu', local: false });
    assert.equal(report.firstDivergence, null);
    assert.equal(report.candidate.kind, 'onnx');
    assert.equal(report.weights, null);
    // 190 records less the 48 convolutions whose BatchNorm was folded into them.
    assert.equal(report.layers.length, 142);
    assert.ok(report.layers.every((l) => l.diff.pass));
    for (const key of ['base_layer.1', 'level2.tree1.relu#1', 'level3.tree2', 'level5', 'head_drop', 'fc', 'logits']) {
      assert.ok(report.layers.some((l) => l.name === key), `${key} is compared`);
    }
    assert.match(report.notes!.join(' '), /Weights were not compared: an ONNX export folds each BatchNorm/);
    assert.match(textReport(report), /note {7}48 BatchNorm records are read from the output of the convolution/);
  });

  it('BatchNorm eps 1e-3 inside level3.tree2 is caught there and diagnosed as bn-eps', async () => {
    const { report } = await compare({ reference: referencePath('dla46_c.pth'), candidate: exported('eps.onnx'), input: input(), provider: 'cpu', local: false });
    const first = report.firstDivergence;
    assert.ok(first?.startsWith('level3.tree2.'), `first divergence ${first} lies in level3.tree2`);
    const firstIndex = report.layers.findIndex((l) => l.name === first);
    const treeStart = report.layers.findIndex((l) => l.name.startsWith('level3.tree2.'));
    assert.ok(report.layers.slice(0, treeStart).every((l) => l.diff.pass), 'everything before level3.tree2 matches');
    assert.ok(firstIndex >= treeStart);
    assert.equal(report.diagnosis[0]?.cause, 'bn-eps');
  });

  it('on a batch of three images, the export runs in one graph with the reference: each image as compared alone', async () => {
    const x = readCheckpoint(input()).tensors.get('input')!;
    const a = Float32Array.from(x.data as Float32Array);
    const images = [a, a.map((v, i) => a[a.length - 1 - i]), a.map((v) => 0.5 * v + 0.1)];
    const batch = path.join(tmp, 'batch3.npz');
    const all = new Float32Array(3 * a.length);
    images.forEach((im, i) => all.set(im, i * a.length));
    fs.writeFileSync(batch, writeNpz([['input', { dtype: 'float32', shape: [3, 3, 96, 96], data: all }]]));
    const { report } = await compare({ reference: referencePath('dla46_c.pth'), candidate: exported('eps.onnx'), input: batch, provider: 'cpu', local: false, diagnose: false });
    assert.equal(report.batch?.method, 'in-graph');
    assert.equal(report.batch?.chunk, 1, 'the export fixes its batch at 1');
    assert.equal(report.layers.length, 142);
    for (let i = 0; i < 3; i++) {
      const one = path.join(tmp, `one${i}.npz`);
      fs.writeFileSync(one, writeNpz([['input', { dtype: 'float32', shape: [1, 3, 96, 96], data: images[i] }]]));
      const { report: alone } = await compare({ reference: referencePath('dla46_c.pth'), candidate: exported('eps.onnx'), input: one, provider: 'cpu', local: false, diagnose: false });
      assert.equal(report.batch!.firstDivergence[i], alone.firstDivergence, `image ${i}`);
      assert.ok(alone.firstDivergence?.startsWith('level3.tree2.'));
      const lastStrict = alone.layers.findIndex((l) => l.name === 'level3');
      assert.ok(lastStrict > 0);
      alone.layers.forEach((l, k) => {
        const im = report.layers[k].batch!.images[i];
        assert.equal(report.layers[k].name, l.name);
        // The export runs unoptimised in both; the reference runs unoptimised in the pair graph and
        // optimised alone: two correct float32 runs, each within the criterion of timm's (1e-4 of
        // max(1, max|ref|) up to level3, 1e-3 after: README, Accuracy), on top of float32's a - b
        // (2^-24 relative).
        const tol = k <= lastStrict ? 1e-4 : 1e-3;
        const margin = 2 ** -22 * l.diff.maxAbs + tol * Math.max(1, l.reference.absMax);
        assert.ok(Math.abs(im.diff.maxAbs - l.diff.maxAbs) <= margin, `${l.name} image ${i}: ${im.diff.maxAbs} vs ${l.diff.maxAbs}`);
        if (Math.abs(l.diff.maxAbs - l.diff.bound) > margin) assert.equal(im.diff.pass, l.diff.pass, `${l.name} image ${i}`);
      });
    }
  });

  it('on many inputs, an export with a fixed batch of 2 is refused, saying how to export it', async () => {
    const x = readCheckpoint(input()).tensors.get('input')!;
    const three = path.join(tmp, 'three.npz');
    fs.writeFileSync(three, writeNpz([['input', { dtype: 'float32', shape: [3, 3, 96, 96], data: Float32Array.from({ length: 3 * x.data.length }, (_, i) => (x.data as Float32Array)[i % x.data.length]) }]]));
    await assert.rejects(compare({ reference: referencePath('dla46_c.pth'), candidate: exported('batch2.onnx'), input: three, provider: 'cpu', local: false, diagnose: false }),
      (e: Error) => e instanceof UsageError && /exported with a fixed batch of 2; .* dynamic batch axis/.test(e.message));
  });

  it('refuses an input the export cannot take, naming both shapes', async () => {
    await assert.rejects(runOnnxCandidate(exported('good.onnx'), tree, seededInput(0, 64).tensor), (e: Error) =>
      e instanceof UsageError && /takes an input of shape \[1, 3, 96, 96\] but the comparison input is \[1, 3, 64, 64\]/.test(e.message));
  });

  it('refuses an export whose node names carry no module scopes', async () => {
    const { onnx } = onnxPkg;
    const model = onnx.ModelProto.decode(fs.readFileSync(exported('good.onnx')));
    const rename = new Map<string, string>();
    const name = (t: string): string => (t.startsWith('/') ? (rename.get(t) ?? rename.set(t, `t${rename.size}`).get(t)!) : t);
    for (const n of model.graph!.node!) {
      n.name = '';
      n.input = n.input!.map(name);
      n.output = n.output!.map(name);
    }
    const file = exported('unscoped.onnx');
    fs.writeFileSync(file, onnx.ModelProto.encode(model).finish());
    await assert.rejects(runOnnxCandidate(file, tree, seededInput(0, 96).tensor), (e: Error) => e instanceof UsageError && /carries a module scope/.test(e.message));
  });
});
