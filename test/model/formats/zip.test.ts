import assert from 'node:assert/strict';
import * as zlib from 'zlib';
import { describe, it } from 'node:test';
import { FormatError } from '../../../src/model/errors';
import { writeStoredZip } from '../../../src/model/formats/write/zipWriter';
import { DEFLATED, STORED, readZip } from '../../../src/model/formats/zip';
import { readReference } from '../../helpers/reference';
import { expectFormatError } from '../../helpers/formatError';

const enc = new TextEncoder();

const expectZipError = (fn: () => unknown, pattern: RegExp, file: string): FormatError =>
  expectFormatError(fn, pattern, { file, offsetWithin: Number.MAX_SAFE_INTEGER });

describe('zip reader', () => {
  it('reads the torch zip from the central directory (zip64 end record, zero local sizes, 64-byte payloads)', () => {
    const bytes = readReference('dla46_c.pth');
    const zip = readZip(bytes, 'dla46_c.pth');
    assert.equal(zip.entries.length, 292);
    assert.equal(zip.entries[0].name, 'dla46_c/data.pkl');
    assert.equal(zip.entries[zip.entries.length - 1].name, 'dla46_c/version');
    for (const e of zip.entries) {
      assert.equal(e.method, STORED);
      assert.equal(zip.dataOffset(e) % 64, 0, `${e.name} is 64-byte aligned`);
    }
    const data = zip.entryData(zip.get('dla46_c/data/0')!);
    assert.equal(data.buffer, bytes.buffer, 'stored entries are views, not copies');
    assert.equal(data.length, 16 * 3 * 7 * 7 * 4);
    assert.equal(new TextDecoder().decode(zip.entryData(zip.get('dla46_c/version')!)), '3\n');
  });

  it('inflates deflated npz entries to their declared size', () => {
    const zip = readZip(readReference('probe_preprocessed.npz'), 'probe_preprocessed.npz');
    assert.equal(zip.entries.length, 9);
    for (const e of zip.entries) {
      assert.equal(e.method, DEFLATED);
      assert.equal(zip.entryData(e).length, e.uncompressedSize);
    }
  });

  it('round-trips what writeStoredZip writes', () => {
    const files: [string, Uint8Array][] = [['a.txt', enc.encode('hello')], ['dir/ü.bin', Uint8Array.of(1, 2, 3)], ['empty', new Uint8Array(0)]];
    const zip = readZip(writeStoredZip(files), 'w.zip');
    assert.deepEqual(zip.entries.map((e) => e.name), files.map((f) => f[0]));
    for (const [name, data] of files) assert.deepEqual([...zip.entryData(zip.get(name)!)], [...data]);
  });

  describe('refuses corrupt archives with a FormatError naming the file and offset', () => {
    const good = writeStoredZip([['a.npy', enc.encode('0123456789')]]);
    const eocd = good.length - 22;
    const cd = eocd - 46 - 'a.npy'.length;
    const mutate = (f: (b: Uint8Array, v: DataView) => void): Uint8Array => {
      const b = good.slice();
      f(b, new DataView(b.buffer));
      return b;
    };
    const cases: [string, Uint8Array, RegExp][] = [
      ['too short', good.subarray(0, 10), /at least 22 bytes/],
      ['no end record', good.subarray(0, good.length - 1), /end-of-central-directory/],
      ['central directory past the end record', mutate((_, v) => v.setUint32(eocd + 16, eocd, true)), /runs past the end record/],
      ['more entries than the directory can hold', mutate((_, v) => (v.setUint16(eocd + 8, 500, true), v.setUint16(eocd + 10, 500, true))), /cannot fit/],
      ['multi-disk', mutate((_, v) => v.setUint16(eocd + 4, 1, true)), /multi-disk/],
      ['bad central signature', mutate((b) => (b[cd] = 0)), /central directory header signature/],
      ['local header beyond the file', mutate((_, v) => v.setUint32(cd + 42, 1e6, true)), /beyond the/],
      ['unsupported method', mutate((_, v) => v.setUint16(cd + 10, 12, true)), /method 12/],
      ['bad local signature', mutate((b) => (b[0] = 0)), /local header signature/],
      ['stored sizes disagree', mutate((_, v) => v.setUint32(cd + 24, 11, true)), /must be equal/],
      ['encrypted', mutate((_, v) => v.setUint16(cd + 8, 1, true)), /encrypted/],
      ['zip64 sizes without a locator', mutate((_, v) => v.setUint32(eocd + 16, 0xffffffff, true)), /no zip64 locator/],
    ];
    for (const [name, bytes, pattern] of cases) {
      it(name, () => {
        expectZipError(() => {
          const zip = readZip(bytes, 'bad.zip');
          for (const e of zip.entries) zip.entryData(e);
        }, pattern, 'bad.zip');
      });
    }

    it('a deflated entry with a bad CRC or a forged size', () => {
      const payload = enc.encode('x'.repeat(1000));
      const deflated = zlib.deflateRawSync(payload);
      // Build a one-entry deflated zip by patching a stored one's method, sizes and CRC fields.
      const base = writeStoredZip([['d', deflated]]);
      const end = base.length - 22;
      const central = end - 46 - 1;
      const withFields = (crc: number, size: number) => {
        const b = base.slice();
        const v = new DataView(b.buffer);
        v.setUint16(central + 10, 8, true);
        v.setUint32(central + 16, crc, true);
        v.setUint32(central + 24, size, true);
        return b;
      };
      // zlib.crc32 arrived in Node 20.15; without it the reader skips the check, and so does this test.
      const hasCrc = typeof zlib.crc32 === 'function';
      const crc = hasCrc ? zlib.crc32(payload) : 0;
      const ok = readZip(withFields(crc, 1000), 'd.zip');
      if (hasCrc) assert.equal(ok.entryData(ok.entries[0]).length, 1000);
      if (hasCrc) expectZipError(() => { const z = readZip(withFields(crc ^ 1, 1000), 'd.zip'); z.entryData(z.entries[0]); }, /CRC-32/, 'd.zip');
      expectZipError(() => { const z = readZip(withFields(crc, 999), 'd.zip'); z.entryData(z.entries[0]); }, /inflate/, 'd.zip');
      expectZipError(() => { const z = readZip(withFields(crc, 2 ** 31), 'd.zip'); z.entryData(z.entries[0]); }, /deflate cannot produce/, 'd.zip');
    });
  });
});
