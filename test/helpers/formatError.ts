import * as assert from 'node:assert/strict';
import { FormatError } from '../../src/model/errors';

/**
 * Runs `fn`, which must throw a FormatError matching `pattern`; with `file`, its message must start
 * with that file's name; with `offsetWithin`, it must name a byte offset in 0..offsetWithin (the
 * reader says where in the file it stopped). Returns the error for further checks.
 */
export function expectFormatError(fn: () => unknown, pattern: RegExp, opts: { file?: string; offsetWithin?: number } = {}): FormatError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof FormatError, `expected a FormatError, got ${String(e)}`);
    assert.match(e.message, pattern);
    if (opts.file !== undefined) assert.ok(e.message.startsWith(`${opts.file}: `), `names ${opts.file}: ${e.message}`);
    if (opts.offsetWithin !== undefined) {
      assert.ok(e.offset !== undefined && e.offset >= 0 && e.offset <= opts.offsetWithin, `names an offset in the file: ${e.message}`);
    }
    return e;
  }
  return assert.fail('expected an error');
}
