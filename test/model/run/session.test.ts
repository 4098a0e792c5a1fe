import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { OnnxGraphBuilder } from '../../../src/model/dla/onnxBuilder';
import { candidates, shortError, skipUnderAuto } from '../../../src/model/run/providers';
import { cli } from '../../helpers/cli';
import { referencePath } from '../../helpers/reference';
import { createSession, describeSession, releaseSession, run } from '../../../src/model/run/session';

/** The runner on a two-op model: provider fallback that says what happened, Tensor in and out. */

function tinyModel(): Uint8Array {
  const g = new OnnxGraphBuilder();
  g.input('x', ['N', 3]);
  g.node('Relu', ['x'], ['y']);
  g.node('Add', ['x', 'x'], ['z']);
  g.output('y');
  g.output('z');
  return g.encode('tiny');
}

const x = { dtype: 'float32' as const, shape: [2, 3], data: Float32Array.of(-1, 2, -3, 4, -5, 6) };

test("'auto' tries CUDA, then WebGPU, then the CPU, and states what ran and what failed", async (t) => {
  assert.deepEqual(candidates('auto'), ['cuda', 'webgpu', 'cpu']);
  const s = await createSession(tinyModel(), { provider: 'auto' });
  try {
    const last = s.attempts[s.attempts.length - 1];
    assert.deepEqual([last.provider, last.ok], [s.provider, true]);
    for (const a of s.attempts.slice(0, -1)) assert.ok(!a.ok && a.error && a.error.length <= 140, JSON.stringify(a));
    if (s.provider === 'cpu') {
      // This machine: no CUDA provider library (installed with the download skipped), no WebGPU adapter.
      assert.deepEqual(s.attempts.map((a) => [a.provider, a.ok]), [['cuda', false], ['webgpu', false], ['cpu', true]]);
      assert.match(describeSession(s), /^cpu \(cuda failed: .+; webgpu failed: .+\)$/);
    }
    t.diagnostic(describeSession(s));
  } finally {
    await releaseSession(s);
  }
});

test("an explicit provider that cannot load throws, naming it", async () => {
  const s = await createSession(tinyModel(), { provider: 'auto' });
  await releaseSession(s);
  const failed = s.attempts.find((a) => !a.ok);
  if (!failed) return; // every provider loads on this machine: nothing to fail
  await assert.rejects(createSession(tinyModel(), { provider: failed.provider }), new RegExp(`No execution provider could run the model: ${failed.provider}: `));
});

test('run converts Tensors both ways and fetches only the outputs asked for', async () => {
  const s = await createSession(tinyModel(), { provider: 'cpu', threads: 1 });
  try {
    assert.deepEqual(s.attempts, [{ provider: 'cpu', ok: true }]);
    const all = await run(s, { x });
    assert.deepEqual([...all.keys()], ['y', 'z']);
    assert.deepEqual(all.get('y'), { dtype: 'float32', shape: [2, 3], data: Float32Array.of(0, 2, 0, 4, 0, 6) });
    assert.deepEqual([...(await run(s, { x }, ['z'])).keys()], ['z']);
    await assert.rejects(run(s, { x: { dtype: 'float64', shape: [1, 3], data: new Float64Array(3) } }), /Feed 'x' is float64/);
  } finally {
    await releaseSession(s);
  }
});

test('shortError keeps one plain line', () => {
  assert.equal(shortError(new Error('OrtSessionOptionsAppendExecutionProvider_Cuda: Failed to load shared library')),
    'CUDA provider library not installed (onnxruntime-node was installed without its CUDA download)');
  assert.equal(shortError(new Error('/onnxruntime_src/x/webgpu_context.cc:136 onnxruntime::f()::<lambda()> a == b was false. Failed to get a WebGPU adapter: No supported adapters\n')),
    'no WebGPU adapter (No supported adapters)');
  assert.equal(shortError(new Error('/onnxruntime_src/a/b.cc:12 something broke\nmore')), 'something broke');
  assert.equal(shortError('x'.repeat(300)).length, 140);
});

test("'auto' does not probe WebGPU on a Linux machine without a GPU device node; an explicit setting still tries", () => {
  const dev = fs.mkdtempSync(path.join(os.tmpdir(), 'dla-dev-'));
  try {
    fs.mkdirSync(path.join(dev, 'dri'));
    assert.match(skipUnderAuto('webgpu', 'linux', dev) ?? '', /no GPU device/);
    fs.writeFileSync(path.join(dev, 'dri', 'card0'), '');
    assert.match(skipUnderAuto('webgpu', 'linux', dev) ?? '', /no GPU device/, 'a display card without a render node');
    fs.writeFileSync(path.join(dev, 'dri', 'renderD128'), '');
    assert.equal(skipUnderAuto('webgpu', 'linux', dev), undefined);
    fs.rmSync(path.join(dev, 'dri'), { recursive: true });
    fs.writeFileSync(path.join(dev, 'nvidia0'), '');
    assert.equal(skipUnderAuto('webgpu', 'linux', dev), undefined);
  } finally {
    fs.rmSync(dev, { recursive: true, force: true });
  }
  assert.equal(skipUnderAuto('webgpu', 'darwin'), undefined);
  assert.equal(skipUnderAuto('webgpu', 'win32'), undefined);
  assert.equal(skipUnderAuto('cuda', 'linux', '/nonexistent'), undefined);
});

test('the CLI\'s normal output carries no Vulkan loader warning from a WebGPU probe', { skip: skipUnderAuto('webgpu') === undefined && 'this machine has a GPU device node: WebGPU is probed' }, () => {
  const r = cli(['classify', referencePath('probe.png'), '--weights', referencePath('dla46_c.pth'), '--top', '1']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /webgpu failed: no GPU device/);
  assert.equal(r.stderr, '');
});
