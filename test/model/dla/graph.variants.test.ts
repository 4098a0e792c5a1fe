import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildModuleTree, walk } from '../../../src/model/dla/moduleTree';
import { buildFastGraph, buildTapGraph, recordOrder, recordShapes } from '../../../src/model/dla/onnxGraph';
import { VARIANTS } from '../../../src/model/dla/variants';
import { createSession, releaseSession, run } from '../../../src/model/run/session';
import { randomInput, randomWeights, relativeError } from './graphHelpers';

/**
 * Every timm variant (Basic, Bottleneck, grouped, Bottle2neck with Split and AvgPool) builds and
 * runs from random weights at 32x32: every record has the predicted shape and finite values,
 * logits are [1, 1000], and the folded fast graph agrees with the tap graph.
 */

const SIZE = 32;

for (const variant of VARIANTS) {
  test(`${variant.name}: tap-all and fast graphs run at ${SIZE}x${SIZE}`, async (t) => {
    const tree = buildModuleTree(variant);
    const weights = randomWeights(tree, variant.name.length);
    const input = randomInput([1, 3, SIZE, SIZE]);

    const tapGraph = buildTapGraph(tree, weights, { taps: 'all' });
    const order = recordOrder(tree);
    assert.deepEqual([...tapGraph.records.keys()], order, 'every record exposed, in order');
    assert.deepEqual(tapGraph.outputNames, order.slice(1), 'each an output of its own name, but the input');
    // Below 'all': ORT's layout transform costs most of a session's creation (0.5-0.75 s for dla169)
    // and checks ORT rather than our graph; the reference tests run at 'all'.
    const tap = await createSession(tapGraph.bytes, { provider: 'cpu', graphOptimization: 'basic' });
    const out = await run(tap, { input });
    await releaseSession(tap);

    const shapes = recordShapes(tree, SIZE);
    for (const key of tapGraph.outputNames) {
      const r = out.get(key)!;
      assert.deepEqual(r.shape, shapes.get(key), key);
      assert.ok((r.data as Float32Array).every(Number.isFinite), `${key} has non-finite values`);
    }
    assert.deepEqual(out.get('logits')!.shape, [1, 1000]);

    const fast = await createSession(buildFastGraph(tree, weights).bytes, { provider: 'cpu', graphOptimization: 'extended' });
    const logits = (await run(fast, { input })).get('logits')!;
    await releaseSession(fast);
    assert.deepEqual(logits.shape, [1, 1000]);
    const rel = relativeError(logits, out.get('logits')!);
    assert.ok(rel < 1e-3, `fast vs tap logits ${rel}`);

    const kinds = new Set([...walk(tree)].map((n) => n.kind));
    const grouped = [...walk(tree)].some((n) => (n.conv?.groups ?? 1) > 1);
    t.diagnostic(`${order.length} records, ${[...kinds].filter((k) => k.startsWith('Dla') && k !== 'DlaTree' && k !== 'DlaRoot').join('/')}` +
      `${grouped ? ', grouped convs' : ''}; fast vs tap logits ${rel.toExponential(2)}`);
  });
}
