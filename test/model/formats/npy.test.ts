import assert from 'node:assert/strict';
import * as fs from 'fs';
import { describe, it } from 'node:test';
import { FormatError } from '../../../src/model/errors';
import { npyReader, readNpy, readNpyHeader, readReprodNpy } from '../../../src/model/formats/npy';
import { npzReader, readNpz } from '../../../src/model/formats/npz';
import { npyHeader, writeNpz } from '../../../src/model/formats/npzWriter';
import type { Tensor } from '../../../src/model/tensor';
import { readReference, referenceOrder, referencePath } from '../../helpers/reference';
import { bytesOf } from './fixtures';

function sameBytes(a: Tensor, b: Tensor, key: string): void {
  assert.equal(a.dtype, b.dtype, `${key}: dtype`);
  assert.deepEqual([...a.shape], [...b.shape], `${key}: shape`);
  assert.equal(Buffer.compare(bytesOf(a.data), bytesOf(b.data)), 0, `${key}: values differ`);
}

/** An .npy built by hand: any version, any header text, any payload. */
function npy(header: string, payload: Uint8Array, major = 1): Uint8Array {
  const h = new TextEncoder().encode(header);
  const pre = major === 1 ? [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, h.length & 0xff, h.length >> 8]
    : [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0, h.length & 0xff, (h.length >> 8) & 0xff, 0, 0];
  return Uint8Array.from([...pre, ...h, ...payload]);
}

describe('npz and npy readers on the reference dumps', () => {
  it('dla60_acts_64.npz (stored): keys in execution order, shapes from the index', () => {
    const tensors = readNpz(readReference('dla60_acts_64.npz'), 'dla60_acts_64.npz');
    assert.deepEqual([...tensors.keys()], referenceOrder('dla60_acts_64_order.txt'));
    const index = JSON.parse(fs.readFileSync(referencePath('dla60_acts_64_index.json'), 'utf8')) as Record<string, number[]>;
    assert.equal(tensors.size, 251);
    for (const [key, t] of tensors) {
      assert.equal(t.dtype, 'float32');
      assert.deepEqual([...t.shape], index[key], key);
    }
  });

  it("dla46_c_reprod.npy holds the same arrays as the same keys of dla46_c_acts_96.npz (deflated)", () => {
    const npz = npzReader.read(readReference('dla46_c_acts_96.npz'), 'dla46_c_acts_96.npz');
    assert.equal(npz.tensors.size, 190);
    assert.equal(npz.metadata.compression, 'deflated');
    const reprod = npyReader.read(readReference('dla46_c_reprod.npy'), 'dla46_c_reprod.npy');
    assert.equal(reprod.format, 'reprod-npy');
    assert.equal(reprod.tensors.size, 181);
    const npzKeys = [...npz.tensors.keys()];
    assert.deepEqual([...reprod.tensors.keys()], npzKeys.filter((k) => reprod.tensors.has(k)), 'same relative order');
    for (const [key, t] of reprod.tensors) sameBytes(t, npz.tensors.get(key)!, key);
    assert.deepEqual([...npz.tensors.keys()], referenceOrder('dla46_c_acts_96_order.txt'));
  });

  it('probe_preprocessed.npz mixes uint8 images and float32 tensors', () => {
    const t = readNpz(readReference('probe_preprocessed.npz'), 'probe_preprocessed.npz');
    assert.equal(t.get('decoded_u8')!.dtype, 'uint8');
    assert.deepEqual(t.get('decoded_u8')!.shape, [300, 400, 3]);
    assert.deepEqual(t.get('timm_bilinear_logits')!.shape, [1, 1000]);
  });
});

describe('npy headers', () => {
  const f4 = bytesOf(new Float32Array([1, 2, 3, 4, 5, 6]));

  it('reads versions 1.0, 2.0 and 3.0', () => {
    for (const major of [1, 2, 3]) {
      const t = readNpy(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", f4, major), 'v.npy');
      assert.deepEqual(t.shape, [2, 3]);
      assert.deepEqual([...(t.data as Float32Array)], [1, 2, 3, 4, 5, 6]);
    }
  });

  it('reads every supported dtype, and 0-d and empty arrays', () => {
    const cases: [string, string, ArrayBufferView][] = [
      ['<f8', 'float64', new Float64Array([1.5])], ['<f2', 'float16', new Uint16Array([0x3c00])],
      ['|u1', 'uint8', new Uint8Array([200])], ['|i1', 'int8', new Int8Array([-3])], ['<i2', 'int16', new Int16Array([-300])],
      ['<i4', 'int32', new Int32Array([-70000])], ['<i8', 'int64', new BigInt64Array([-5n])], ['|b1', 'bool', new Uint8Array([1])],
    ];
    for (const [descr, dtype, data] of cases) {
      const t = readNpy(npy(`{'descr': '${descr}', 'fortran_order': False, 'shape': (1,), }`, bytesOf(data)), 'd.npy');
      assert.equal(t.dtype, dtype);
      assert.equal(Buffer.compare(bytesOf(t.data), bytesOf(data)), 0);
    }
    assert.deepEqual(readNpy(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (), }", bytesOf(new Float32Array([7]))), 's.npy').shape, []);
    assert.equal(readNpy(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 5), }", new Uint8Array(0)), 'e.npy').data.length, 0);
  });

  const refusals: [string, Uint8Array, RegExp][] = [
    ['Fortran order', npy("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", f4), /Fortran order/],
    ['big-endian', npy("{'descr': '>f4', 'fortran_order': False, 'shape': (6,), }", f4), /big-endian/],
    ['unsupported dtype', npy("{'descr': '<u2', 'fortran_order': False, 'shape': (12,), }", f4), /'<u2' is not supported/],
    ['structured dtype', npy("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (6,), }", f4), /'descr'/],
    ['object array', npy("{'descr': '|O', 'fortran_order': False, 'shape': (), }", f4), /pickled Python objects/],
    ['too little data', npy("{'descr': '<f4', 'fortran_order': False, 'shape': (7,), }", f4), /needs 28 bytes/],
    ['negative dimension', npy("{'descr': '<f4', 'fortran_order': False, 'shape': (-6,), }", f4), /non-negative/],
    ['not a literal', npy("{'descr': '<f4', 'fortran_order': Maybe, 'shape': (6,), }", f4), /not a valid Python literal/],
    ['unclosed', npy("{'descr': '<f4', 'fortran_order': False, 'shape': (6,", f4), /not a valid Python literal/],
    ['deep nesting', npy(`{'descr': ${'('.repeat(40)}`, f4), /nested/],
    ['version 4', npy("{'descr': '<f4', 'fortran_order': False, 'shape': (6,), }", f4, 4), /version 4\.0/],
    ['header past the end', Uint8Array.of(0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, 0xff, 0xff, 0x7b), /header declares 65535 bytes/],
    ['bad magic', Uint8Array.of(0x93, 0x4e, 0x55, 0x4d, 0x50, 0x00, 1, 0, 0, 0), /magic/],
  ];
  for (const [name, bytes, pattern] of refusals) {
    it(`refuses ${name} with a FormatError naming file and offset`, () => {
      assert.throws(() => readNpy(bytes, 'bad.npy'), (e: unknown) => {
        assert.ok(e instanceof FormatError, String(e));
        assert.match(e.message, pattern);
        assert.match(e.message, /^bad\.npy: .*at byte offset \d+/);
        return true;
      });
    });
  }

  it('copies misaligned data out of a Node Buffer correctly (Buffer.slice is a view, not a copy)', () => {
    const bytes = npy("{'descr': '<f4', 'fortran_order': False, 'shape': (6,), }", f4);
    const dataOffset = readNpyHeader(bytes, 'odd.npy').dataOffset;
    for (let pad = 1; pad < 4; pad++) {
      const odd = Buffer.concat([Buffer.alloc(pad), Buffer.from(bytes)]).subarray(pad);
      if ((odd.byteOffset + dataOffset) % 4 === 0) continue; // aligned: a view, not the case under test
      const t = readNpy(odd, 'odd.npy');
      assert.notEqual(t.data.buffer, odd.buffer, 'misaligned data is copied');
      assert.deepEqual([...(t.data as Float32Array)], [1, 2, 3, 4, 5, 6]);
    }
  });

  it('a plain .npy read through npyReader is keyed by the file stem', () => {
    const c = npyReader.read(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (6,), }", f4), '/x/logits.npy');
    assert.equal(c.format, 'npy');
    assert.deepEqual([...c.tensors.keys()], ['logits']);
  });

  it('readReprodNpy refuses a numeric .npy', () => {
    assert.throws(() => readReprodNpy(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (6,), }", f4), 'r.npy'), /descr '\|O'/);
  });

  it('npyHeader pads to 64 bytes and parses back', () => {
    const h = npyHeader({ dtype: 'int64', shape: [3], data: new BigInt64Array(3) });
    assert.equal(h.length % 64, 0);
    const parsed = readNpyHeader(Uint8Array.from([...h, ...new Uint8Array(24)]), 'h.npy');
    assert.deepEqual(parsed, { descr: '<i8', fortranOrder: false, shape: [3], dataOffset: h.length });
  });
});

describe('npz writer', () => {
  it('round-trips every numpy dtype, 0-d and empty arrays, keys with dots, hashes and non-ASCII', () => {
    const tensors = new Map<string, Tensor>([
      ['level2.tree1.relu#2', { dtype: 'float32', shape: [1, 2, 2], data: new Float32Array([1, -2, 3.5, 1e-30]) }],
      ['f64', { dtype: 'float64', shape: [2], data: new Float64Array([Math.PI, -0]) }],
      ['f16', { dtype: 'float16', shape: [1], data: new Uint16Array([0x3c00]) }],
      ['u8', { dtype: 'uint8', shape: [3], data: new Uint8Array([0, 128, 255]) }],
      ['i8', { dtype: 'int8', shape: [1], data: new Int8Array([-128]) }],
      ['i16', { dtype: 'int16', shape: [1], data: new Int16Array([-2]) }],
      ['i32', { dtype: 'int32', shape: [1], data: new Int32Array([2 ** 31 - 1]) }],
      ['num_batches_tracked', { dtype: 'int64', shape: [], data: new BigInt64Array([4n]) }],
      ['b', { dtype: 'bool', shape: [2], data: new Uint8Array([1, 0]) }],
      ['empty', { dtype: 'float32', shape: [0, 3], data: new Float32Array(0) }],
      ['größe', { dtype: 'float32', shape: [1], data: new Float32Array([2]) }],
    ]);
    const bytes = writeNpz(tensors);
    const back = npzReader.read(bytes, 'w.npz');
    assert.deepEqual([...back.tensors.keys()], [...tensors.keys()]);
    for (const [key, t] of tensors) sameBytes(back.tensors.get(key)!, t, key);
    for (const t of back.tensors.values()) assert.equal(t.data.buffer, bytes.buffer, 'the written layout reads back as views');
  });

  it('round-trips a reference dump exactly', () => {
    const source = readNpz(readReference('probe_preprocessed.npz'), 'probe_preprocessed.npz');
    const back = readNpz(writeNpz(source), 'copy.npz');
    for (const [key, t] of source) sameBytes(back.get(key)!, t, key);
  });

  it('refuses bfloat16, which numpy cannot hold', () => {
    assert.throws(() => writeNpz([['x', { dtype: 'bfloat16', shape: [1], data: new Uint16Array(1) }]]), /bfloat16/);
  });
});
