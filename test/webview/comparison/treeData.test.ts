import type { ViewLayer } from '../../../src/shared/comparisonProtocol';
import * as assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { HEAD_ID, buildTreeData, pathTo, subtreeFails, type TreeNodeData } from '../../../src/webview/comparison/treeData';
import { comparisonData } from './fixture';

/** The tree the comparison view draws, derived from the protocol's ComparisonData (no DOM needed). */

function find(n: TreeNodeData, id: string): TreeNodeData | undefined {
  if (n.id === id) return n;
  for (const c of n.children) {
    const f = find(c, id);
    if (f) return f;
  }
  return undefined;
}

describe('treeData', () => {
  const data = comparisonData();
  const root = buildTreeData(data);

  test('the IDA spine under the model: stem, six stages, then one head node grouping the classifier', () => {
    assert.equal(root.id, '');
    assert.equal(root.name, 'dla60');
    assert.deepEqual(root.children.map((c) => c.id), ['base_layer', 'level0', 'level1', 'level2', 'level3', 'level4', 'level5', HEAD_ID]);
    const head = root.children[7];
    assert.deepEqual(head.children.map((c) => c.id), ['global_pool', 'head_drop', 'fc', 'flatten']);
    assert.equal(head.layer?.name, 'logits');
  });

  test('each module owns its records; a shared ReLU shows its last call', () => {
    const relu = find(root, 'level2.tree1.relu')!;
    assert.deepEqual(relu.records.map((l) => l.name), ['level2.tree1.relu#0', 'level2.tree1.relu#1', 'level2.tree1.relu#2']);
    assert.equal(relu.layer?.name, 'level2.tree1.relu#2');
    assert.equal(find(root, 'level3.tree1.project.1')!.layer?.name, 'level3.tree1.project.1');
    // A container with no output record of its own has none.
    assert.equal(find(root, 'level3.tree1.project')!.layer, undefined);
  });

  test('aggregation facts: level_root trees (IDA) and what each root concatenates (HDA)', () => {
    assert.equal(find(root, 'level2')!.levelRoot, false);
    assert.equal(find(root, 'level3')!.levelRoot, true);
    // The stage input of the level_root tree is the IDA edge; the subtrees' outputs are HDA edges.
    assert.deepEqual(find(root, 'level3.tree2.root')!.rootInputs, [
      { id: 'level3.tree2.tree2', edge: 'hda' }, { id: 'level3.tree2.tree1', edge: 'hda' },
      { id: 'level3.downsample', edge: 'ida' }, { id: 'level3.tree1', edge: 'hda' },
    ]);
    // level2 is no level_root: its root aggregates its subtrees only.
    assert.ok(find(root, 'level2.root')!.rootInputs.every((r) => r.edge === 'hda'));
  });

  test('subtreeFails: a stage fails when anything below it does, by the verdicts given', () => {
    const byReport = (l: ViewLayer) => !l.diff.pass;
    assert.equal(subtreeFails(find(root, 'level2')!, byReport), false);
    assert.equal(subtreeFails(find(root, 'level3')!, byReport), true);
    assert.equal(subtreeFails(root, byReport), true);
    // Nothing fails: nothing is kept.
    assert.equal(subtreeFails(root, () => false), false);
  });

  test('pathTo follows module paths, through the head group', () => {
    assert.deepEqual(pathTo(root, 'level3.tree1.project.1'), ['', 'level3', 'level3.tree1', 'level3.tree1.project', 'level3.tree1.project.1']);
    assert.deepEqual(pathTo(root, 'fc'), ['', HEAD_ID, 'fc']);
    assert.deepEqual(pathTo(root, 'global_pool.pool'), ['', HEAD_ID, 'global_pool', 'global_pool.pool']);
  });
});
