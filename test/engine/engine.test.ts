import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import { CancelledError, EngineClient, EngineCrashedError, EngineError } from '../../src/engine/client';
import { compare } from '../../src/model/compare/compare';
import { skipWithoutTorch, writeTrainingCheckpoint } from '../helpers/python';
import { referencePath } from '../helpers/reference';

/**
 * The engine as the extension uses it: a real child process (src/engine/worker.ts, through tsx),
 * real onnxruntime and real checkpoints. What is proved: results equal the model functions' own,
 * progress arrives, a record's detail crosses as binary, errors keep their class and message,
 * Cancel stops a comparison between its steps, and a crashed engine is reported and replaced.
 */
const WORKER = path.resolve(__dirname, '..', '..', 'src', 'engine', 'worker.ts');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dla-engine-'));

function client(extra: Partial<ConstructorParameters<typeof EngineClient>[0]> = {}): EngineClient {
  return new EngineClient({ entry: WORKER, execArgv: ['--import', 'tsx'], ...extra });
}

const clients: EngineClient[] = [];
after(async () => {
  await Promise.all(clients.map((c) => c.dispose()));
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('the engine process', { timeout: 300_000 }, () => {
  const engine = client();
  clients.push(engine);
  const params = {
    reference: referencePath('dla46_c.pth'), candidate: referencePath('dla46_c.pdparams'),
    preset: 'timm', seed: 3, tolerance: { mode: 'scaled-max' as const, tol: 1e-3 }, provider: 'cpu' as const,
  };

  test('compare gives the report compare() gives, with progress, and a handle for record details', async () => {
    const progress: string[] = [];
    const result = await engine.call('compare', params, { onProgress: (p) => progress.push(p) });
    const { report: direct } = await compare(params);
    assert.equal(result.report.layers.length, direct.layers.length);
    assert.deepEqual(result.report.layers.map((l) => [l.name, l.diff.maxAbs, l.diff.pass]), direct.layers.map((l) => [l.name, l.diff.maxAbs, l.diff.pass]));
    assert.equal(result.report.firstDivergence, null);
    assert.deepEqual(result.report.inputSpec, { kind: 'seeded', seed: 3, size: 224 });
    assert.ok(progress.some((p) => /^Reading dla46_c\.pth/.test(p)) && progress.some((p) => /reference/.test(p)), progress.join(' | '));
    assert.equal(result.view.variant, 'dla46_c');
    assert.equal(result.view.firstDivergence, result.report.firstDivergence);
    assert.ok(result.handle !== undefined);

    const layer = result.report.layers.find((l) => l.name === 'level3.tree1.tree1.conv2')!;
    const detail = await engine.call('layerDetail', { handle: result.handle!, layer: layer.name, bins: 16 });
    assert.ok(detail.channelMaxAbs instanceof Float32Array, 'typed arrays cross as binary');
    assert.equal(detail.channelMaxAbs.length, layer.reference.shape[1]);
    // The same weights on both sides: the detail of a record is exactly zero difference.
    assert.ok(detail.channelMaxAbs.every((x) => x === 0));
    assert.equal(detail.values.reference.reduce((a, b) => a + b, 0), layer.reference.shape.reduce((a, b) => a * b, 1));
    await engine.call('releaseComparison', { handle: result.handle! });
    await assert.rejects(engine.call('layerDetail', { handle: result.handle!, layer: 'level2', bins: 4 }), /no longer held by the engine/);
  });

  test('an error keeps its class and its message naming the file', async () => {
    const bad = path.join(tmp, 'truncated.pth');
    fs.writeFileSync(bad, fs.readFileSync(referencePath('dla46_c.pth')).subarray(0, 5000));
    await assert.rejects(engine.call('inspectCheckpoint', { file: bad }), (e: Error) => e instanceof EngineError && e.name === 'FormatError' && e.message.includes(bad));
    const data = await engine.call('inspectCheckpoint', { file: referencePath('dla46_c.safetensors') });
    assert.equal(data.variant, 'dla46_c');
    assert.equal(data.tree?.id, '');
    const stats = await engine.call('tensorStats', { file: referencePath('dla46_c.safetensors'), name: 'fc.bias' });
    assert.deepEqual(stats.shape, [1000]);
    await assert.rejects(engine.call('tensorStats', { file: referencePath('dla46_c.safetensors'), name: 'nope' }), /'nope' is not a tensor of dla46_c\.safetensors/);
  });

  test('Cancel stops a dla60 comparison at its next step, and the engine serves the next call', async () => {
    const abort = new AbortController();
    const steps: string[] = [];
    const t0 = performance.now();
    const running = engine.call('compare', { ...params, reference: referencePath('dla60.pth'), candidate: undefined, dump: referencePath('dla60_acts_64.npz') }, {
      signal: abort.signal,
      onProgress: (p) => {
        steps.push(p);
        if (/reference/.test(p)) abort.abort();
      },
    });
    await assert.rejects(running, (e: Error) => e instanceof CancelledError);
    const ms = performance.now() - t0;
    assert.ok(!steps.some((s) => /local error|Diagnosing/.test(s)), `it stopped before the later steps: ${steps.join(' | ')}`);
    const again = await engine.call('inspectCheckpoint', { file: referencePath('dla46_c.pdparams') });
    assert.equal(again.variant, 'dla46_c');
    console.log(`  cancelled after ${steps.length} steps in ${ms.toFixed(0)} ms`);
  });

  test('a package without this platform\'s native binaries answers every call with the sentence naming the right package', async () => {
    // A package folder as a user might unpack one by hand: the manifest and the built engine, no binaries.
    const root = path.join(tmp, 'wrong-platform');
    fs.mkdirSync(path.join(root, 'dist'), { recursive: true });
    fs.copyFileSync(path.resolve(__dirname, '..', '..', 'package.json'), path.join(root, 'package.json'));
    const built = path.resolve(__dirname, '..', '..', 'dist', 'engine.js');
    assert.ok(fs.existsSync(built), 'dist/engine.js is built by npm install (or npm run build)');
    fs.copyFileSync(built, path.join(root, 'dist', 'engine.js'));
    const e3 = new EngineClient({ entry: path.join(root, 'dist', 'engine.js') });
    clients.push(e3);
    for (const method of ['inspectCheckpoint', 'tensorStats'] as const) {
      await assert.rejects(e3.call(method, { file: referencePath('dla46_c.safetensors'), name: 'fc.bias' }),
        (e: Error) => e.name === 'NativeModulesError' && /onnxruntime/.test(e.message) && e.message.includes(`${process.platform}-${process.arch}`));
    }
  });

  test('a training checkpoint: the weights key picks its EMA copy for inspect, hover stats and classify', { skip: skipWithoutTorch() }, async () => {
    const file = path.join(tmp, 'train.pth');
    writeTrainingCheckpoint(file, referencePath('dla46_c.pth'), 0.9, ', "arch": "dla46_c", "best_acc1": torch.tensor(64.5)');
    const trained = await engine.call('inspectCheckpoint', { file });
    const ema = await engine.call('inspectCheckpoint', { file, weightsKey: 'state_dict_ema' });
    assert.equal(trained.variant, 'dla46_c');
    assert.equal(ema.variant, 'dla46_c');
    assert.notEqual(JSON.stringify(trained.metadata), JSON.stringify(ema.metadata), 'the metadata says which dict was taken');
    const a = await engine.call('tensorStats', { file, name: 'fc.bias' });
    const b = await engine.call('tensorStats', { file: path.join(tmp, 'train.pth'), name: 'fc.bias', weightsKey: 'state_dict_ema' });
    assert.ok(Math.abs(b.mean - 0.9 * a.mean) < 1e-6 * Math.max(1, Math.abs(a.mean)), `${b.mean} vs 0.9 x ${a.mean}`);
    const image = referencePath('probe.png');
    const p1 = await engine.call('classify', { image, checkpoint: file, provider: 'cpu' });
    const p2 = await engine.call('classify', { image, checkpoint: file, provider: 'cpu', weightsKey: 'state_dict_ema' });
    assert.equal(p1.preset, 'timm', 'no preset given: timm for a plain checkpoint');
    assert.notEqual(p1.top[0].prob, p2.top[0].prob, 'the EMA head scales the logits');
  });

  test('a crashed engine rejects what it was running, is reported, and the next call starts a new one', async () => {
    const crashes: EngineCrashedError[] = [];
    const e2 = client({ onCrash: (e) => crashes.push(e) });
    clients.push(e2);
    await e2.call('inspectCheckpoint', { file: referencePath('dla46_c.safetensors') });
    const first = e2.pid!;
    const generation = e2.generation;
    const running = e2.call('compare', { ...params, reference: referencePath('dla60.pth'), candidate: referencePath('dla60.pth') }, {
      onProgress: () => process.kill(first, 'SIGKILL'),
    });
    await assert.rejects(running, (e: Error) => e instanceof EngineCrashedError && /was killed \(SIGKILL\) while running compare/.test(e.message));
    assert.equal(crashes.length, 1);
    // What the dead process held is gone with it: a release starts no new process for it.
    assert.equal(e2.running, false);
    await e2.release('releaseCheckpoint', { file: referencePath('dla46_c.safetensors') });
    assert.equal(e2.running, false, 'a release started no engine');
    assert.equal(e2.generation, generation);
    const data = await e2.call('inspectCheckpoint', { file: referencePath('dla46_c.safetensors') });
    assert.equal(data.variant, 'dla46_c');
    assert.notEqual(e2.pid, first);
    assert.equal(e2.generation, generation + 1);
  });
});
