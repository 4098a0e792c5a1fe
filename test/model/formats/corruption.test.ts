import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FormatError } from '../../../src/model/errors';
import { npyReader } from '../../../src/model/formats/npy';
import { npzReader } from '../../../src/model/formats/npz';
import { pdparamsReader } from '../../../src/model/formats/pdparams';
import { pthReader } from '../../../src/model/formats/pth';
import type { FormatReader } from '../../../src/model/formats/reader';
import { safetensorsReader } from '../../../src/model/formats/safetensors';
import { readZip } from '../../../src/model/formats/zip';
import { readReference } from '../../helpers/reference';
import { bytesOf } from './fixtures';

/**
 * Corrupted reference files, as a manifest: each file is truncated at header boundaries (with the
 * error expected there) and at 40 positions spread over it, and has bytes flipped at seeded random
 * positions. Every case must either read (a flip inside tensor data legitimately does) or throw a
 * FormatError that names the file and a byte offset inside it; nothing else, and never a hang.
 */

interface FileCase {
  readonly file: string;
  readonly reader: FormatReader;
  /** Truncation points (a length, or a function of the bytes) and the error expected there. */
  readonly boundaries: readonly [number | ((b: Uint8Array) => number), RegExp][];
}

const safetensorsHeaderEnd = (b: Uint8Array) => 8 + Number(new DataView(b.buffer, b.byteOffset).getBigUint64(0, true));
const npyDataOffset = (b: Uint8Array) => 10 + (b[8] | (b[9] << 8));

const MANIFEST: FileCase[] = [
  {
    file: 'dla46_c.pth',
    reader: pthReader,
    boundaries: [
      [0, /at least 22 bytes/],
      [64, /end-of-central-directory/],
      [(b) => b.length - 22, /end-of-central-directory/],
      [(b) => b.length - 1, /end-of-central-directory/],
    ],
  },
  {
    file: 'dla46_c.safetensors',
    reader: safetensorsReader,
    boundaries: [
      [0, /Expected 8 more bytes/],
      [8, /header declares \d+ bytes but only 0 follow/],
      [safetensorsHeaderEnd, /run past the 0-byte data section/],
      [(b) => b.length - 1, /run past the/],
    ],
  },
  {
    file: 'dla46_c.pdparams',
    reader: pdparamsReader,
    boundaries: [
      [0, /without a STOP/],
      [2, /without a STOP/],
      [3, /Expected 8 more bytes/],
      [11, /FRAME declares 90308 bytes but only 0 remain/],
      // The last frame ends with STOP, so cutting it short is seen at the frame's length first.
      [(b) => b.length - 1, /FRAME declares \d+ bytes but only \d+ remain/],
    ],
  },
  {
    file: 'dla46_c_reprod.npy',
    reader: npyReader,
    boundaries: [
      [0, /magic/],
      [8, /Expected 2 more bytes/],
      [10, /header declares \d+ bytes but only 0 follow/],
      [npyDataOffset, /without a STOP/],
      [(b) => b.length - 1, /without a STOP/],
    ],
  },
  { file: 'dla60_acts_64.npz', reader: npzReader, boundaries: [[0, /at least 22 bytes/], [(b) => b.length - 1, /end-of-central-directory/]] },
  { file: 'probe_preprocessed.npz', reader: npzReader, boundaries: [[0, /at least 22 bytes/], [(b) => b.length - 1, /end-of-central-directory/]] },
];

const SPREAD = 40;
const FLIPS = 40;

/** A small deterministic generator (mulberry32), so a failing position can be replayed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Read, and check that a failure is a FormatError naming the file and an offset within it. */
function readOrFormatError(reader: FormatReader, bytes: Uint8Array, file: string, what: string): FormatError | undefined {
  try {
    reader.read(bytes, file);
    return undefined;
  } catch (e) {
    assert.ok(e instanceof FormatError, `${what}: expected a FormatError, got ${e instanceof Error ? e.stack : String(e)}`);
    assert.ok(e.message.startsWith(`${file}: `), `${what}: the message names the file: ${e.message}`);
    assert.ok(e.offset !== undefined && e.offset >= 0 && e.offset <= bytes.length + 8, `${what}: the error names an offset in the file: ${e.message}`);
    assert.match(e.message, /at byte offset \d+/, what);
    return e;
  }
}

describe('corrupted reference files', { timeout: 120_000 }, () => {
  for (const { file, reader, boundaries } of MANIFEST) {
    describe(file, () => {
      const original = readReference(file);

      for (const [where, pattern] of boundaries) {
        it(`truncated at ${typeof where === 'number' ? where : 'a header boundary'}: ${pattern.source}`, () => {
          const at = typeof where === 'number' ? where : where(original);
          const e = readOrFormatError(reader, original.subarray(0, at), file, `truncated at ${at}`);
          assert.ok(e, `truncated at ${at}: expected an error`);
          assert.match(e.message, pattern);
        });
      }

      it(`truncated at ${SPREAD} positions spread over the file`, () => {
        for (let i = 0; i < SPREAD; i++) {
          const at = Math.floor((original.length * i) / SPREAD) + (i % 7);
          const e = readOrFormatError(reader, original.subarray(0, at), file, `truncated at ${at}`);
          assert.ok(e, `truncated at ${at}: a truncated file must not read`);
        }
      });

      it(`with bytes flipped at ${FLIPS} seeded positions (half in the first and last 64 KiB)`, () => {
        const rand = random(0xd1a + original.length);
        const bytes = original.slice();
        const head = Math.min(65536, bytes.length);
        for (let i = 0; i < FLIPS; i++) {
          const r = rand();
          const at =
            i % 4 === 0 ? Math.floor(r * bytes.length)
              : i % 4 === 1 ? Math.floor(r * head)
                : i % 4 === 2 ? bytes.length - 1 - Math.floor(r * head)
                  : Math.floor(r * Math.min(4096, bytes.length));
          const mask = 1 + Math.floor(rand() * 255);
          bytes[at] ^= mask;
          readOrFormatError(reader, bytes, file, `byte ${at} ^ 0x${mask.toString(16)}`);
          bytes[at] ^= mask;
        }
      });
    });
  }

  it('a flip inside tensor data reads, and changes only that tensor', () => {
    const original = readReference('dla46_c.pth');
    const zip = readZip(original, 'dla46_c.pth');
    const at = zip.dataOffset(zip.get('dla46_c/data/0')!) + 5;
    const bytes = original.slice();
    bytes[at] ^= 0x10;
    const before = pthReader.read(original, 'dla46_c.pth');
    const after = pthReader.read(bytes, 'dla46_c.pth');
    for (const [key, t] of before.tensors) {
      const same = Buffer.compare(bytesOf(t.data), bytesOf(after.tensors.get(key)!.data)) === 0;
      assert.equal(same, key !== 'base_layer.0.weight', key);
    }
  });
});
