import * as assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Worker } from 'node:worker_threads';
import { PreprocessPool } from '../../../src/model/eval/pools';
import { presetByName } from '../../../src/model/run/presets';
import { referencePath } from '../../helpers/reference';

/**
 * The preprocessing pool when one of its threads dies (an out-of-memory abort, a native crash; here
 * the thread is terminated from outside): what it held fails with the reason, the other threads
 * carry on, and with none left every image is refused at once instead of waiting forever.
 */
describe('preprocessing pool', { timeout: 60_000 }, () => {
  const image = referencePath('probe.png');
  const workersOf = (pool: PreprocessPool): Worker[] => (pool as unknown as { workers: Worker[] }).workers;

  test('a thread that dies: the others carry on; the last one gone, images are refused, not queued forever', async () => {
    const pool = new PreprocessPool([presetByName('timm')], 2);
    try {
      assert.equal((await pool.submit(image)).shapes[0].join('x'), '1x3x224x224');
      await workersOf(pool)[0].terminate();
      assert.equal(pool.size, 1);
      assert.equal((await pool.submit(image)).shapes[0].join('x'), '1x3x224x224', 'the other thread still works');
      await workersOf(pool)[0].terminate();
      assert.equal(pool.size, 0);
      await assert.rejects(pool.submit(image), /preprocessing thread stopped/);
    } finally {
      await pool.close();
    }
  });
});
