import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import { compare } from '../../../src/model/compare/compare';
import { DumpStream } from '../../../src/model/compare/dumpStream';
import { UsageError } from '../../../src/model/errors';
import { runPython, skipWithoutTorch } from '../../helpers/python';
import { referencePath } from '../../helpers/reference';

/**
 * Dumps holding a batch, as numpy writes them: np.savez (stored) and np.savez_compressed
 * (deflated), made here by real numpy from timm's dla46_c dump with every record doubled along the
 * batch axis. A stream reads both alike; a batch dump of another variant is refused as one
 * image's is, naming the variant it is a dump of.
 */
describe('batch dumps, stored and compressed', { skip: skipWithoutTorch() }, () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dla-dumpstream-'));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const stored = path.join(tmp, 'two.npz');
  const compressed = path.join(tmp, 'two_compressed.npz');
  const r = runPython(['-c', [
    'import sys, numpy as np',
    'd = np.load(sys.argv[1])',
    'two = {k: np.concatenate([d[k], d[k]]) for k in d.files}',
    'np.savez(sys.argv[2], **two)',
    'np.savez_compressed(sys.argv[3], **two)',
  ].join('\n'), referencePath('dla46_c_acts_96.npz'), stored, compressed]);

  test('a compressed stream has the stored one\'s records, shapes and values', () => {
    assert.equal(r.status, 0, r.stderr);
    const a = DumpStream.open(stored), b = DumpStream.open(compressed);
    try {
      assert.deepEqual([...b.shapes()], [...a.shapes()]);
      assert.deepEqual(b.shapes().get('input'), [2, 3, 96, 96]);
      for (const key of ['input', 'level3', 'fc']) assert.deepEqual(b.slice(key, 1, 1).data, a.slice(key, 1, 1).data, key);
    } finally {
      a.close();
      b.close();
    }
  });

  for (const file of [stored, compressed]) {
    test(`a batch dump of dla46_c against a dla60 reference is refused, naming dla46_c (${path.basename(file)})`, async () => {
      await assert.rejects(compare({ reference: referencePath('dla60.pth'), dump: file, provider: 'cpu', local: false, diagnose: false }),
        (e: Error) => e instanceof UsageError && /do not have dla60's shapes: .* it is a dump of dla46_c/.test(e.message));
    });
  }
});
