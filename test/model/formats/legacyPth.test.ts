import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { FormatError } from '../../../src/model/errors';
import { isLegacyTorchHead, readLegacyPth } from '../../../src/model/formats/legacyPth';
import { pdparamsReader } from '../../../src/model/formats/pdparams';
import { pthReader, readPth } from '../../../src/model/formats/pth';
import { readCheckpointAsync, readCheckpointBytes } from '../../../src/model/formats/registry';
import type { TensorData } from '../../../src/model/tensor';
import { PickleWriter, bytesOf, legacyTorchFile, sysInfoPickle, writeStateDict, writeTensor, type LegacyStorage, type TensorRef } from './fixtures';
import { expectFormatError } from '../../helpers/formatError';

/**
 * The legacy torch.save layout, built byte by byte so each field can be made wrong on its own.
 * Files written by real PyTorch (`_use_new_zipfile_serialization=False`) are read in
 * torchFiles.test.ts; these are the layout's corners and every refusal.
 */

const floats = (n: number, from = 0) => Float32Array.from({ length: n }, (_, i) => from + i);
const f32 = (key: string, size: number[], extra: Partial<TensorRef> = {}): TensorRef => ({
  storageType: 'FloatStorage', storageKey: key, storageNumel: size.reduce((a, b) => a * b, 1), size, view: null, ...extra,
});
const values = (d: TensorData) => Array.from(d as ArrayLike<number | bigint>);
const storage = (key: string, data: ArrayBufferView, count?: number | bigint): LegacyStorage => ({
  key, bytes: bytesOf(data), count: count ?? data.byteLength / (data as Float32Array).BYTES_PER_ELEMENT,
});

function mainPickle(tensors: readonly (readonly [string, TensorRef])[], protocol = 2): Uint8Array {
  return writeStateDict(new PickleWriter().proto(protocol), tensors).stop().finish();
}

const expectError = (bytes: Uint8Array, pattern: RegExp, file = 'old.pth'): FormatError =>
  expectFormatError(() => readPth(bytes, file), pattern, { file, offsetWithin: bytes.length });

describe('legacy torch.save: reading', () => {
  const twoTensors = mainPickle([['a', f32('k1', [2, 3])], ['b', f32('k0', [2])]]);
  // torch writes the key list sorted, so the data order need not be the pickle's order.
  const file = legacyTorchFile(twoTensors, [storage('k0', floats(2, 100)), storage('k1', floats(6))]);

  it('reads tensors whose storages follow the pickle, in the key list order', () => {
    const c = readPth(file, 'old.pth');
    assert.deepEqual([...c.tensors.keys()], ['a', 'b']);
    assert.deepEqual(values(c.tensors.get('a')!.data), [0, 1, 2, 3, 4, 5]);
    assert.deepEqual(c.tensors.get('a')!.shape, [2, 3]);
    assert.deepEqual(values(c.tensors.get('b')!.data), [100, 101]);
    assert.match(c.metadata.serialization, /legacy torch\.save \(protocol 1001, pickle protocol 2\)/);
  });

  it('is matched by its magic number whatever the pickle protocol, and not taken for a .pdparams', () => {
    for (const proto of [2, 3, 4, 5]) {
      const magic = new PickleWriter().proto(proto);
      if (proto >= 4) magic.frame(13);
      const head = magic.int(0x1950a86a20f9469cfc6cn).stop().finish();
      assert.equal(isLegacyTorchHead(head), true, `protocol ${proto}`);
      assert.equal(pthReader.match(head, 'x.bin'), true);
      assert.equal(pdparamsReader.match(head, 'x.pdparams'), false);
    }
    assert.equal(isLegacyTorchHead(new TextEncoder().encode('L119547037146038801333356L\n.')), true, 'protocols 0 and 1 write a text LONG');
    assert.equal(isLegacyTorchHead(new PickleWriter().proto(2).int(12345).stop().finish()), false);
  });

  it('reads protocol 1 (no PROTO opcode, the magic number as a text LONG)', () => {
    const text = new TextEncoder().encode('L119547037146038801333356L\n.');
    const rest = file.subarray(15); // past the protocol 2 magic pickle
    const c = readPth(Uint8Array.from([...text, ...rest]), 'p1.pth');
    assert.deepEqual(values(c.tensors.get('b')!.data), [100, 101]);
  });

  it('reads the storage views torch < 1.0 wrote (view key, element offset, size)', () => {
    const main = mainPickle([
      ['head', f32('root', [2], { storageNumel: 6, view: ['v1', 0, 2] })],
      ['tail', f32('root', [2, 2], { storageNumel: 6, view: ['v2', 2, 4] })],
      ['strided', f32('root', [2], { storageNumel: 6, view: ['v2', 2, 4], offset: 1, stride: [2] })],
    ]);
    const c = readPth(legacyTorchFile(main, [storage('root', floats(6))]), 'views.pth');
    assert.deepEqual(values(c.tensors.get('head')!.data), [0, 1]);
    assert.deepEqual(values(c.tensors.get('tail')!.data), [2, 3, 4, 5]);
    assert.deepEqual(values(c.tensors.get('strided')!.data), [3, 5]);
  });

  it('reads every storage type, at any alignment of the data section', () => {
    const cases: [string, string, ArrayBufferView][] = [
      ['DoubleStorage', 'float64', new Float64Array([1.5, -2])], ['HalfStorage', 'float16', new Uint16Array([0x3c00, 0xc000])],
      ['BFloat16Storage', 'bfloat16', new Uint16Array([0x3f80, 0x4000])], ['LongStorage', 'int64', new BigInt64Array([-1n, 2n ** 40n])],
      ['IntStorage', 'int32', new Int32Array([-7, 8])], ['ShortStorage', 'int16', new Int16Array([-3, 4])],
      ['CharStorage', 'int8', new Int8Array([-1, 1])], ['ByteStorage', 'uint8', new Uint8Array([255, 0])],
      ['BoolStorage', 'bool', new Uint8Array([1, 0])], ['FloatStorage', 'float32', new Float32Array([0.25, 8])],
    ];
    const main = mainPickle(cases.map(([type], i) => [type, { storageType: type, storageKey: String(i), storageNumel: 2, size: [2], view: null }] as const));
    // The 1-byte storages come first, so every later storage starts misaligned.
    const order = [7, 8, 6, 0, 1, 2, 3, 4, 5, 9];
    const c = readPth(legacyTorchFile(main, order.map((i) => storage(String(i), cases[i][2], 2))), 'dtypes.pth');
    for (const [type, dtype, data] of cases) {
      const t = c.tensors.get(type)!;
      assert.equal(t.dtype, dtype, type);
      assert.equal(Buffer.compare(bytesOf(t.data), bytesOf(data)), 0, type);
    }
  });

  it("reads torch 2's untyped storages viewed through _rebuild_tensor_v3, misaligned or not", () => {
    for (const pad of [0, 1, 2, 3]) {
      const w = new PickleWriter().proto(2).emptyDict().mark().str('pad');
      writeTensor(w, { storageType: 'ByteStorage', storageKey: 'p', storageNumel: pad, size: [pad], view: null });
      w.str('t').global('torch._utils', '_rebuild_tensor_v3').mark();
      w.mark().str('storage').global('torch', 'UntypedStorage').str('u').str('cpu').int(16).none().tuple().binpersid();
      w.int(1).intTuple([3]).intTuple([1]).bool(false).global('collections', 'OrderedDict').emptyTuple().reduce().global('torch', 'float32').tuple().reduce();
      const bytes = legacyTorchFile(w.setitems().stop().finish(), [
        { key: 'p', bytes: new Uint8Array(pad), count: pad },
        { key: 'u', bytes: bytesOf(Float32Array.of(9, 1, 2, 3)), count: 16 },
      ]);
      const t = readPth(bytes, 'v3.pth').tensors.get('t')!;
      assert.equal(t.dtype, 'float32');
      assert.deepEqual(values(t.data), [1, 2, 3], `pad ${pad}`);
    }
  });

  it('unwraps training-script wrappers and strips the DDP prefix as the zip reader does', () => {
    const w = new PickleWriter().proto(2).emptyDict().mark().str('epoch').int(7).str('state_dict');
    writeStateDict(w, [['module.w', f32('0', [6])], ['module.b', f32('1', [2])]]);
    const c = readPth(legacyTorchFile(w.setitems().stop().finish(), [storage('0', floats(6)), storage('1', floats(2))]), 'ckpt.pth');
    assert.deepEqual([...c.tensors.keys()], ['w', 'b']);
    assert.equal(c.weights?.key, 'state_dict');
    assert.equal(c.weights?.strippedPrefix, 'module.');
    assert.equal(c.metadata.epoch, '7');
  });

  it('is read through the registry whatever the extension', () => {
    assert.equal(readCheckpointBytes(file, 'weights.bin').format, 'pth');
  });
});

describe('legacy torch.save: what it refuses', () => {
  const main = mainPickle([['a', f32('k', [4])]]);
  const good = [storage('k', floats(4))];

  const cases: [string, Uint8Array, RegExp][] = [
    ['another protocol version', legacyTorchFile(main, good, { version: 1002 }), /protocol version 1001 but found the number 1002/],
    ['a big-endian machine', legacyTorchFile(main, good, { sysInfo: sysInfoPickle({ littleEndian: false }) }), /big-endian machine \(sys_info little_endian=False\)/],
    ['no byte order', legacyTorchFile(main, good, { sysInfo: sysInfoPickle({ littleEndian: null }) }), /little_endian to be True but found nothing/],
    ['an 8-byte int', legacyTorchFile(main, good, { sysInfo: sysInfoPickle({ int: 8 }) }), /a C 'int' is the number 8 bytes; expected 4/],
    ['a 4-byte short', legacyTorchFile(main, good, { sysInfo: sysInfoPickle({ short: 4 }) }), /a C 'short' is the number 4 bytes; expected 2/],
    ['a 16-byte long', legacyTorchFile(main, good, { sysInfo: sysInfoPickle({ long: 16 }) }), /a C 'long' is the number 16 bytes; expected 4 or 8/],
    ['an element count other than declared', legacyTorchFile(main, [storage('k', floats(4), 5)]), /declared in the pickle with 4 float32 elements but its data section says 5/],
    ['a negative element count', legacyTorchFile(main, [storage('k', floats(4), -1n)]), /data section says -1/],
    ['a huge element count', legacyTorchFile(main, [storage('k', floats(4), 2n ** 62n)]), /data section says 4611686018427387904/],
    ['data cut short', legacyTorchFile(main, good).subarray(0, -3), /needs 16 bytes \(4 float32 elements\) but only 13 remain/],
    ['a missing element count', legacyTorchFile(main, good).subarray(0, -16 - 5), /8-byte element count of storage 'k' but only 3 bytes remain/],
    ['a key list naming an undeclared storage', legacyTorchFile(main, good, { keys: ['k', 'x'] }), /names 'x', which the pickle never declares/],
    ['a key listed twice', legacyTorchFile(main, [...good, ...good]), /names 'k' twice/],
    ['a declared storage left out of the key list', legacyTorchFile(main, [], { keys: [] }), /Storage 'k' is used by the pickle but missing from the list of storage keys/],
    // The key list pickle of one key is 12 bytes, its storage record 8 + 16.
    ['a file that ends after the pickle', legacyTorchFile(main, good).subarray(0, -12 - 24), /ends where its list of storage keys should start/],
    ['a view past its storage', legacyTorchFile(mainPickle([['a', f32('k', [2], { storageNumel: 4, view: ['v', 3, 2] })]]), good), /covers elements 3 to 5 of storage 'k', which holds only 4/],
    ['a storage declared twice as two types', legacyTorchFile(mainPickle([['a', f32('k', [4])], ['b', { ...f32('k', [4]), storageType: 'IntStorage' }]]), good), /declared again as 4 int32 elements/],
    ['a tensor past its storage', legacyTorchFile(mainPickle([['a', f32('k', [4], { offset: 1 })]]), good), /reaches element 4 but storage 'k' holds only 4/],
  ];
  for (const [name, bytes, pattern] of cases) {
    it(`refuses ${name}, naming what was expected`, () => {
      expectError(bytes, pattern);
    });
  }

  it('checks the magic number itself, not only the sniffed head', () => {
    try {
      readLegacyPth(legacyTorchFile(main, good, { magic: 0x1950a86a20f9469cfc6dn }), 'old.pth');
      assert.fail('expected an error');
    } catch (e) {
      assert.ok(e instanceof FormatError);
      assert.match(e.message, /Expected torch's magic number 119547037146038801333356 as the first pickle but found the number 119547037146038801333357/);
    }
  });

  it("refuses the pre-0.1.10 tar format by name, read at once or read ahead asynchronously", async () => {
    const tar = new Uint8Array(1024);
    tar.set(new TextEncoder().encode('sys_info'), 0);
    tar.set(new TextEncoder().encode('ustar\u000000'), 257);
    assert.equal(pthReader.match(tar, 'model.tar'), true, 'matched by its member names');
    const byName = /tar archive in the format torch\.save wrote before PyTorch 0\.1\.10 \(members 'sys_info', 'pickle', 'tensors' and 'storages'\)/;
    expectError(tar, byName, 'model.tar');
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'dla-tar-')), 'model.pth');
    fs.writeFileSync(file, tar);
    try {
      await assert.rejects(readCheckpointAsync(file), (e: Error) => e instanceof FormatError && byName.test(e.message));
    } finally {
      fs.rmSync(path.dirname(file), { recursive: true, force: true });
    }
  });
});
