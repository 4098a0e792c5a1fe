import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import { FormatError } from '../../../src/model/errors';
import { readCheckpoint } from '../../../src/model/formats/registry';
import { inspectCheckpoint } from '../../../src/model/inspect';
import { referencePath } from '../../helpers/reference';

/**
 * Lazy reads (what the checkpoint editor opens a file with): the index at once, each tensor's bytes
 * when its data is first used, the same bytes as a full read. A file that changes or disappears
 * after it was opened is a clear error when its data is then asked for, not a mix of two files.
 */
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dla-lazy-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const bytesOf = (d: ArrayBufferView): Buffer => Buffer.from(d.buffer, d.byteOffset, d.byteLength);

describe('lazy checkpoint reads', () => {
  for (const name of ['dla46_c.pth', 'dla46_c.safetensors']) {
    test(`${name}: the same tensors as a full read, data read on first use`, () => {
      const full = readCheckpoint(referencePath(name));
      const lazy = readCheckpoint(referencePath(name), { lazy: true });
      assert.deepEqual([...lazy.tensors.keys()], [...full.tensors.keys()]);
      for (const [k, t] of full.tensors) {
        const l = lazy.tensors.get(k)!;
        assert.equal(l.dtype, t.dtype, k);
        assert.deepEqual(l.shape, t.shape, k);
        assert.ok(bytesOf(l.data).equals(bytesOf(t.data)), k);
        assert.equal(l.data, l.data, 'read once, then kept');
      }
    });

    test(`${name}: inspect reads no tensor data; a file changed or removed afterwards is named when its data is asked for`, () => {
      const copy = path.join(tmp, name);
      fs.copyFileSync(referencePath(name), copy);
      // Every byte inspect reads goes through fs.readSync (of the one fs module every import shares): counted.
      const shared = createRequire(__filename)('fs') as typeof fs;
      let read = 0;
      const original = shared.readSync;
      shared.readSync = ((...args: Parameters<typeof fs.readSync>) => {
        const n = original(...args);
        read += n;
        return n;
      }) as typeof fs.readSync;
      let r;
      try {
        r = inspectCheckpoint(copy);
      } finally {
        shared.readSync = original;
      }
      assert.ok(read > 0, 'the counting saw the reads');
      assert.equal(r.variant, 'dla46_c');
      const size = fs.statSync(copy).size;
      assert.ok(read < size / 20, `inspect read ${read} of ${size} bytes`);
      const lazy = readCheckpoint(copy, { lazy: true });
      const [first, second] = [...lazy.tensors.values()];
      assert.ok(first.data.length > 0);
      // Changed on disk after the index was read: the next tensor's data is refused, naming the file.
      fs.appendFileSync(copy, Buffer.from([0]));
      assert.throws(() => second.data, (e: Error) => e instanceof FormatError && e.message.includes(copy) && /changed on disk after it was opened/.test(e.message));
      fs.rmSync(copy);
      const again = [...lazy.tensors.values()][2];
      assert.throws(() => again.data, (e: Error) => e instanceof FormatError && /could not be opened again .*moved or deleted/.test(e.message));
    });
  }

  test('formats without a separate index (.pdparams) are read whole, lazy or not', () => {
    const lazy = readCheckpoint(referencePath('dla46_c.pdparams'), { lazy: true });
    const full = readCheckpoint(referencePath('dla46_c.pdparams'));
    assert.equal(lazy.tensors.size, full.tensors.size);
  });
});
