import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { describe, it } from 'node:test';
import onnxPkg from 'onnx-proto';
import { FormatError } from '../../../src/model/errors';
import { writeNpz } from '../../../src/model/formats/npzWriter';
import { writeStoredZip } from '../../../src/model/formats/write/zipWriter';
import { detectFormat, readCheckpoint, readCheckpointAsync, readCheckpointBytes } from '../../../src/model/formats/registry';
import type { FormatId } from '../../../src/model/tensor';
import { readReference, referencePath } from '../../helpers/reference';
import { PickleWriter, bytesOf } from './fixtures';
import { expectFormatError } from '../../helpers/formatError';

/** Which format each reference file is, and how many tensors it holds (dla60.pth is covered elsewhere). */
const MANIFEST: [string, FormatId, number][] = [
  ['dla46_c.pth', 'pth', 290],
  ['dla46_c.safetensors', 'safetensors', 290],
  ['dla46_c.pdparams', 'pdparams', 242],
  ['dla46_c_reprod.npy', 'reprod-npy', 181],
  ['dla46_c_acts_96.npz', 'npz', 190],
  ['dla60_acts_64.npz', 'npz', 251],
  ['dla60_levels_224.npz', 'npz', 9],
  ['probe_preprocessed.npz', 'npz', 9],
];

const expectError = (fn: () => unknown, pattern: RegExp): FormatError => expectFormatError(fn, pattern);

describe('format registry', () => {
  for (const [name, format, count] of MANIFEST) {
    it(`${name} is read as ${format} with ${count} tensors`, () => {
      const c = readCheckpoint(referencePath(name));
      assert.equal(c.format, format);
      assert.equal(c.tensors.size, count);
      assert.equal(c.file, referencePath(name));
    });
  }

  it('detects formats by signature, whatever the extension says', () => {
    for (const [name, format] of MANIFEST) {
      const head = readReference(name).subarray(0, 65536);
      const expected = format === 'reprod-npy' ? 'npy' : format;
      assert.equal(detectFormat(head, name), expected, name);
      assert.equal(detectFormat(head, 'renamed.bin'), expected, `${name} renamed`);
    }
    const onnx = onnxPkg.onnx.ModelProto.encode({ irVersion: 8, graph: { name: 'g' } }).finish();
    assert.equal(detectFormat(onnx, 'model.bin'), 'onnx');
  });

  it('says what an unreadable file looks like and lists the supported formats', () => {
    const lfs = new TextEncoder().encode('version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 88416205\n');
    expectError(() => readCheckpointBytes(lfs, 'dla60.pth'), /^dla60\.pth: .*Git LFS pointer.*git lfs pull.*Supported formats: PyTorch/);
    expectError(() => readCheckpointBytes(new Uint8Array(0), 'empty.pth'), /it is empty/);
    expectError(() => readCheckpointBytes(readReference('probe.png'), 'probe.png'), /an image/);
    expectError(() => readCheckpointBytes(Uint8Array.of(0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3), 'w.pth.gz'), /gzip/);
    expectError(() => readCheckpointBytes(new TextEncoder().encode('<!DOCTYPE html><html>'), 'w.pth'), /HTML/);
  });

  it('reports the error of the reader that matched', () => {
    expectError(() => readCheckpointBytes(writeStoredZip([['notes.txt', new Uint8Array(3)]]), 'x.pth'), /no 'data\.pkl' entry/);
    const evil = new PickleWriter().proto(2).global('os', 'system').str('true').tuple(1).reduce().stop().finish();
    expectError(() => readCheckpointBytes(evil, 'x.pdparams'), /refuses to load global 'os\.system'/);
  });

  it('falls back to the extension for a file without a signature', () => {
    const noIrVersion = onnxPkg.onnx.ModelProto.encode({ graph: { name: 'g', initializer: [{ name: 'w', dims: [1], dataType: 1, floatData: [2] }] } }).finish();
    assert.equal(detectFormat(noIrVersion, 'm.onnx'), undefined);
    const c = readCheckpointBytes(noIrVersion, 'm.onnx');
    assert.equal(c.format, 'onnx');
    assert.deepEqual([...c.tensors.keys()], ['w']);
  });

  it('reads zip formats entry by entry from disk, sync and async, to the same tensors as from memory', async () => {
    for (const name of ['dla46_c.pth', 'dla60_acts_64.npz', 'probe_preprocessed.npz']) {
      const inMemory = readCheckpointBytes(readReference(name), name);
      for (const fromDisk of [readCheckpoint(referencePath(name)), await readCheckpointAsync(referencePath(name))]) {
        assert.deepEqual([...fromDisk.tensors.keys()], [...inMemory.tensors.keys()], name);
        assert.deepEqual(fromDisk.metadata, inMemory.metadata, name);
        for (const [key, t] of inMemory.tensors) {
          const d = fromDisk.tensors.get(key)!;
          assert.deepEqual(d.shape, t.shape, key);
          assert.equal(Buffer.compare(bytesOf(d.data), bytesOf(t.data)), 0, key);
        }
      }
    }
    // numpy pads each header to 64 bytes, so entries read on their own are views, not copies.
    const npz = readCheckpoint(referencePath('dla60_acts_64.npz'));
    for (const t of npz.tensors.values()) assert.equal(t.data.byteOffset % 64, 0);
  });

  it('truncated files on disk fail with the same FormatErrors, sync and async', async () => {
    const full = readReference('dla46_c.pth');
    const file = path.join(os.tmpdir(), `dla-lens-truncated-${process.pid}.pth`);
    try {
      for (const at of [10, 1000, full.length - 30, full.length - 1]) {
        fs.writeFileSync(file, full.subarray(0, at));
        assert.throws(() => readCheckpoint(file), FormatError);
        await assert.rejects(readCheckpointAsync(file), FormatError);
      }
      // A directory offset past the end (in torch's zip64 end record, which sits before the 20-byte
      // locator and the 22-byte end record) is refused before any read is made there.
      const forged = full.slice();
      new DataView(forged.buffer).setUint32(forged.length - 22 - 20 - 56 + 48, 0x7fffffff, true);
      fs.writeFileSync(file, forged);
      assert.throws(() => readCheckpoint(file), /central directory \(offset 2147483647/);
    } finally {
      fs.rmSync(file, { force: true });
    }
  });

  it('readCheckpoint reads from disk', () => {
    const file = path.join(os.tmpdir(), `dla-lens-registry-${process.pid}.npz`);
    fs.writeFileSync(file, writeNpz([['x', { dtype: 'float32', shape: [2], data: new Float32Array([1, 2]) }]]));
    try {
      assert.deepEqual([...(readCheckpoint(file).tensors.get('x')!.data as Float32Array)], [1, 2]);
    } finally {
      fs.unlinkSync(file);
    }
  });
});
