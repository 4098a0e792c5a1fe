import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FormatError } from '../../src/model/errors';
import type { Checkpoint } from '../../src/model/tensor';
import { checkpointProblem, errorProblem } from './campaign';
import { runInWorker } from './pool';

/** The fuzz suite's own checks must flag what they exist to flag, or a clean run proves nothing. */
describe("the fuzz suite's property", () => {
  const file = 'f.pth';
  const ckpt = (data: Float32Array | Uint8Array, shape: number[]): Checkpoint => ({
    file, format: 'pth', metadata: {}, tensors: new Map([['t', { dtype: 'float32', shape, data }]]),
  });

  it('accepts a consistent checkpoint and a FormatError naming the file and an offset or key', () => {
    assert.equal(checkpointProblem(ckpt(new Float32Array(6), [2, 3]), file), undefined);
    assert.equal(errorProblem(new FormatError(file, 'Expected 8 more bytes but only 2 remain.', 10), file, 100), undefined);
    assert.equal(errorProblem(new FormatError(file, 'Initializer has an unsupported type.', undefined, 'w'), file, 100), undefined);
  });

  it('flags any other error, a FormatError without a place, and an inconsistent checkpoint', () => {
    assert.match(errorProblem(new RangeError('Invalid typed array length: 4'), file, 100)!, /threw RangeError/);
    assert.match(errorProblem(new FormatError(file, 'Something is wrong with it.'), file, 100)!, /names neither an offset nor a key/);
    assert.match(errorProblem(new FormatError(file, 'Something is wrong with it.', 500), file, 100)!, /offset 500 is outside the 100-byte file/);
    assert.match(errorProblem(new FormatError('other.pth', 'Something is wrong with it.', 5), file, 100)!, /does not name the file/);
    assert.match(checkpointProblem(ckpt(new Float32Array(5), [2, 3]), file)!, /holds 5 elements/);
    assert.match(checkpointProblem(ckpt(new Uint8Array(6), [2, 3]), file)!, /holds a Uint8Array/);
    assert.match(checkpointProblem(ckpt(new Float32Array(6), [2, -3]), file)!, /has shape/);
  });

  it('a campaign whose worker dies is a failure, not a pass', async () => {
    const r = await runInWorker({ format: 'no-such-format' as never, cases: 10, seed: 1 });
    assert.equal(r.failures.length, 1);
    assert.match(r.failures[0].problem, /the worker died|exited/);
  });
});
