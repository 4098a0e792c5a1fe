import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import { compare } from '../../../src/model/compare/compare';
import { sourcesForReport } from '../../../src/model/compare/recordSources';
import { reportFromJson, reportToJson } from '../../../src/model/compare/reportJson';
import { skipWithoutTorch, writeTrainingCheckpoint } from '../../helpers/python';
import { referencePath } from '../../helpers/reference';

/**
 * A report written to disk and opened again (a reloaded window) recomputes its records from the
 * same weights the comparison used: in a training checkpoint, the dict the user asked for
 * (--weights-key), not the one the DLA chooser would take by itself.
 */
describe('a reopened report', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dla-reopen-'));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  test('re-runs each side with the weights key the comparison was made with', { skip: skipWithoutTorch() }, async () => {
    const train = path.join(tmp, 'train.pth');
    // The EMA copy differs in the head only, so 'fc' tells the two dicts apart.
    writeTrainingCheckpoint(train, referencePath('dla46_c.pth'), 0.5);

    const fc: Record<string, { original: Float32Array; reopenedRef: Float32Array; reopenedCand: Float32Array }> = {};
    for (const key of ['state_dict', 'state_dict_ema']) {
      const result = await compare({
        reference: train, referenceKey: key, candidate: train, candidateKey: key, seed: 1, provider: 'cpu', local: false, diagnose: false,
      });
      assert.equal(result.report.reference.weightsKey, key, 'the report records the key');
      const file = path.join(tmp, `${key}.json`);
      fs.writeFileSync(file, reportToJson(result.report));
      const reopened = await sourcesForReport(reportFromJson(fs.readFileSync(file, 'utf8'), file), 'cpu');
      fc[key] = {
        original: (await result.reference.get('fc'))!.data as Float32Array,
        reopenedRef: (await reopened.reference.get('fc'))!.data as Float32Array,
        reopenedCand: (await reopened.candidate!.get('fc'))!.data as Float32Array,
      };
      assert.deepEqual(fc[key].reopenedRef, fc[key].original, `${key}: the reopened reference is the same model`);
      assert.deepEqual(fc[key].reopenedCand, fc[key].original, `${key}: the reopened candidate is the same model`);
    }
    assert.notDeepEqual(fc.state_dict.original, fc.state_dict_ema.original, 'the two dicts give different logits');
  });
});
