import * as assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { buildModuleTree } from '../../../src/model/dla/moduleTree';
import {
  buildFastGraph, buildModuleGraph, buildTapGraph, collectRecords, GraphBuildError, moduleInputs, recordShapes, type BuiltGraph,
} from '../../../src/model/dla/onnxGraph';
import { variantByName } from '../../../src/model/dla/variants';
import { createSession, releaseSession, run } from '../../../src/model/run/session';
import type { Tensor } from '../../../src/model/tensor';
import { errorRatio, loadReference } from './graphHelpers';

/** Re-running one module from the reference's records, and the errors a bad state dict or request gets. */

const tree = buildModuleTree(variantByName('dla46_c')!);

describe('module graphs re-run a module from the records that feed it (dla46_c, 96x96)', () => {
  let weights: Map<string, Tensor>;
  let ref: Map<string, Tensor>;
  before(() => {
    weights = loadReference('dla46_c.pth');
    ref = loadReference('dla46_c_acts_96.npz');
  });

  test('moduleInputs names the records each kind of module is fed', () => {
    assert.deepEqual(moduleInputs(tree, 'level3'), ['level2']);
    assert.deepEqual(moduleInputs(tree, 'level3.tree1.tree1'), ['level2', 'level3.tree1.downsample']); // an Identity project (64 -> 64)
    assert.deepEqual(moduleInputs(tree, 'level3.tree1.tree2'), ['level3.tree1.tree1']);
    assert.deepEqual(moduleInputs(tree, 'level3.tree2'), ['level3.tree1', 'level3.downsample', 'level3.tree1']);
    assert.deepEqual(moduleInputs(tree, 'level4.tree1.tree1'), ['level3', 'level4.tree1.project.1']);
    assert.deepEqual(moduleInputs(tree, 'level5.tree1'), ['level4', 'level5.project.1']);
    assert.deepEqual(moduleInputs(tree, 'level3.tree2.root'), ['level3.tree2.tree2', 'level3.tree2.tree1', 'level3.downsample', 'level3.tree1']);
    assert.deepEqual(moduleInputs(tree, 'level3.tree1.tree1.conv2'), ['level3.tree1.tree1.relu#0']);
    assert.deepEqual(moduleInputs(tree, 'fc'), ['global_pool.pool']);
    assert.throws(() => moduleInputs(tree, 'level9'), /no module 'level9'/);
  });

  for (const id of ['level3.tree1.tree1', 'level3.tree2', 'level4.tree2.root', 'level5']) {
    test(`${id} from reference inputs matches the reference inside it`, async () => {
      const g = buildModuleGraph(tree, weights, id);
      const feeds = Object.fromEntries(g.inputs.map((i) => [i.name, ref.get(i.name)!]));
      const s = await createSession(g.bytes, { provider: 'cpu' });
      try {
        const out = await run(s, feeds);
        assert.ok(out.has(id), `${id} itself is an output`);
        // 1e-4, the criterion's strict bound, even past level3: one module fed the reference's own
        // inputs adds only its own rounding (measured <= 1e-6), a margin of 100x on any CPU.
        for (const [key, t] of out) assert.ok(errorRatio(t, ref.get(key)!) <= 1e-4, key);
      } finally {
        await releaseSession(s);
      }
    });
  }

  test('a module graph takes variations too', async () => {
    const id = 'level3.tree1.tree1';
    const run1 = async (g: ReturnType<typeof buildModuleGraph>): Promise<Tensor> => {
      const s = await createSession(g.bytes, { provider: 'cpu' });
      const out = await run(s, Object.fromEntries(g.inputs.map((i) => [i.name, ref.get(i.name)!])), [id]);
      await releaseSession(s);
      return out.get(id)!;
    };
    const plain = await run1(buildModuleGraph(tree, weights, id, { taps: [id] }));
    const buggy = await run1(buildModuleGraph(tree, weights, id, { taps: [id], variations: [{ kind: 'bn-epsilon', epsilon: 1e-3 }] }));
    assert.ok(errorRatio(plain, ref.get(id)!) <= 1e-4);
    assert.ok(errorRatio(buggy, ref.get(id)!) > 1e-4);
  });

  test("aliases: 'share' outputs each value once and collectRecords restores every key", async () => {
    const input = ref.get('input')!;
    const records = async (aliases: 'identity' | 'share'): Promise<[BuiltGraph, Map<string, Tensor>]> => {
      const g = buildTapGraph(tree, weights, { aliases });
      const s = await createSession(g.bytes, { provider: 'cpu' });
      try {
        return [g, collectRecords(g, await run(s, { input }), { input })];
      } finally {
        await releaseSession(s);
      }
    };
    const [plain, a] = await records('identity');
    const [shared, b] = await records('share');
    assert.deepEqual([...b.keys()], [...ref.keys()]);
    assert.deepEqual([...a.keys()], [...ref.keys()]);
    for (const [k, t] of a) assert.deepEqual(b.get(k)!.data, t.data, k);
    assert.equal(shared.records.get('level3.tree1.tree1'), 'level3.tree1.tree1.relu#2');
    assert.equal(shared.records.get('level3'), 'level3.tree2.root.relu'); // level3 has two levels: its output is tree2's root
    assert.ok(b.get('level3') === b.get('level3.tree2.root.relu'), 'an alias is the same Tensor, not a copy');
    assert.equal(plain.outputNames.length, 189);
    assert.equal(shared.outputNames.length, 150); // 39 records share a value with an earlier one
  });

  test('an input inside a Bottle2neck hierarchy is no record', () => {
    const r2 = buildModuleTree(variantByName('dla60_res2net')!);
    assert.deepEqual(moduleInputs(r2, 'level2.tree2.conv1'), ['level2.tree1']);
    assert.throws(() => moduleInputs(r2, 'level2.tree2.convs.1'), /intermediate value no record holds/);
    assert.throws(() => moduleInputs(r2, 'level2.tree1.pool'), /intermediate value no record holds/);
  });
});

describe('errors name the key, the expected and the found', () => {
  const weights = (): Map<string, Tensor> => loadReference('dla46_c.pth');

  test('a missing weight', () => {
    const w = weights();
    w.delete('level2.tree1.bn1.running_var');
    assert.throws(() => buildFastGraph(tree, w), (e: unknown) =>
      e instanceof GraphBuildError && e.key === 'level2.tree1.bn1.running_var' &&
      /Weight 'level2\.tree1\.bn1\.running_var' is missing.*shape \[32\]/.test(e.message));
  });

  test('a weight of the wrong shape', () => {
    const w = weights();
    w.set('level3.tree1.tree1.conv2.weight', { dtype: 'float32', shape: [32, 32, 1, 1], data: new Float32Array(1024) });
    assert.throws(() => buildTapGraph(tree, w), /Weight 'level3\.tree1\.tree1\.conv2\.weight' has shape \[32, 32, 1, 1\], but shape \[32, 32, 3, 3\] was expected/);
  });

  test('an unknown tap, or nothing to compute', () => {
    assert.throws(() => buildTapGraph(tree, weights(), { taps: ['level2.root', 'level9'] }), /No record 'level9'/);
    assert.throws(() => buildTapGraph(tree, weights(), { taps: ['input'] }), /Nothing to compute/);
  });

  test('an input size the model cannot take (timm fails too)', () => {
    assert.deepEqual(recordShapes(tree, 64).get('level5'), [1, 256, 2, 2]);
    assert.throws(() => recordShapes(tree, 36), /does not fit/);
  });
});
