import * as assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { METRICS, isMetric, metricValue, moduleOfRecord } from '../../../src/webview/comparison/metrics';
import type { ViewLayer } from '../../../src/shared/comparisonProtocol';
import { diff } from './fixture';

const stats = { shape: [1], mean: 0, std: 0, min: 0, max: 0, absMax: 0, nan: 0, inf: 0 };
const layer = (name: string, scaled: number, local?: number): ViewLayer => ({
  name, reference: stats, candidate: stats, diff: diff(scaled), ...(local !== undefined ? { local: diff(local) } : {}),
});

describe('webview metrics', () => {
  test('every metric reads its field; cosine becomes a distance so that bigger is worse everywhere', () => {
    const l = layer('x', 2e-3, 1e-7);
    const d = l.diff;
    assert.equal(metricValue(l, 'scaledMaxAbs'), d.scaledMaxAbs);
    assert.equal(metricValue(l, 'maxAbs'), d.maxAbs);
    assert.equal(metricValue(l, 'meanAbs'), d.meanAbs);
    assert.equal(metricValue(l, 'relL2'), d.relL2);
    assert.equal(metricValue(l, 'cosineDistance'), 1 - d.cosine);
    assert.equal(metricValue(l, 'localScaledMaxAbs'), 1e-7);
    assert.equal(metricValue(layer('y', 1), 'localScaledMaxAbs'), undefined, 'no local error measured');
    assert.ok(METRICS.every((m) => isMetric(m.id)));
    assert.equal(isMetric('cosine'), false);
  });

  test('moduleOfRecord drops the call suffix of shared modules', () => {
    assert.equal(moduleOfRecord('level2.tree1.relu#2'), 'level2.tree1.relu');
    assert.equal(moduleOfRecord('level2.tree1.conv1'), 'level2.tree1.conv1');
  });
});
