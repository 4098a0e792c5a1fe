import * as assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { editRule, editableFields, verdictsFor } from '../../../src/webview/comparison/verdicts';
import { comparisonData } from './fixture';

describe('the page\'s verdicts', () => {
  test('at the report\'s own rule they are the report\'s, read as they are', () => {
    const data = comparisonData('level3.tree1.project.1');
    // A report whose verdicts the numbers would not give (a weights-only failure, say): the page shows the report's.
    const doctored = { ...data, firstDivergence: 'level2.tree1.conv1.weight', layers: data.layers.map((l) => ({ ...l, diff: { ...l.diff, pass: true } })) };
    const v = verdictsFor(doctored, doctored.rule);
    assert.equal(v.edited, false);
    assert.equal(v.first, 'level2.tree1.conv1.weight');
    assert.ok(doctored.layers.every((l) => !v.fails(l)));
  });

  test('an edited tolerance re-applies the same rule to the summaries', () => {
    const data = comparisonData('level3.tree1.project.1');
    const loose = verdictsFor(data, { mode: 'scaled-max', tol: 1 });
    assert.equal(loose.edited, true);
    assert.equal(loose.first, null);
    // Tighter than the passing layers' 1e-6: the very first record fails, the input itself (a dump fed another input diverges there).
    assert.equal(data.layers[0].name, 'input');
    assert.equal(verdictsFor(data, { mode: 'scaled-max', tol: 1e-7 }).first, 'input');
    assert.equal(verdictsFor(data, { mode: 'scaled-max', tol: 1e-3 }).first, 'level3.tree1.project.1');
  });

  test('a record whose shapes differ diverges at its place under every rule', () => {
    const data = { ...comparisonData('level3.tree1.project.1'), unpaired: [{ name: 'level2.tree1', index: 5 }] };
    assert.equal(verdictsFor(data, { mode: 'scaled-max', tol: 1 }).first, 'level2.tree1');
    assert.equal(verdictsFor(data, { mode: 'scaled-max', tol: 1e-7 }).first, data.layers[0].name);
  });

  test('allclose numbers are editable only with envelopes; the fields take numbers only', () => {
    const data = comparisonData();
    assert.deepEqual(editableFields(data), ['tol']);
    const allclose = { ...data, rule: { mode: 'allclose' as const, atol: 1e-5, rtol: 1e-3 } };
    assert.deepEqual(editableFields(allclose), [], 'no envelopes in these layers');
    assert.deepEqual(editRule(allclose.rule, 'rtol', '0.5'), { mode: 'allclose', atol: 1e-5, rtol: 0.5 });
    assert.match(String(editRule(data.rule, 'tol', 'abc')), /tol must be a positive number/);
    assert.match(String(editRule(allclose.rule, 'atol', '-1')), /atol must be a non-negative number/);
  });
});
