import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readPdparams } from '../../../../src/model/formats/pdparams';
import { PyObject, inertObject, unpickle, type GlobalHandler } from '../../../../src/model/formats/pickle';
import { readPth } from '../../../../src/model/formats/pth';
import { readCheckpoint } from '../../../../src/model/formats/registry';
import { readSafetensors } from '../../../../src/model/formats/safetensors';
import { readZip } from '../../../../src/model/formats/zip';
import { syntheticParameterNames, writePdparams } from '../../../../src/model/formats/write/pdparamsWriter';
import {
  PickleWriter, concatParts, pyDict, pyFloat, pyGlobal, pyPersistent, pyReduce, pyShared, type PickleValue,
} from '../../../../src/model/formats/write/pickleWriter';
import { archiveNameFor, writePth } from '../../../../src/model/formats/write/pthWriter';
import { writeSafetensors } from '../../../../src/model/formats/write/safetensorsWriter';
import { convertTensors, encodeTensors } from '../../../../src/model/convert';
import type { Checkpoint, Tensor } from '../../../../src/model/tensor';
import { runPython, skipWithoutTorch } from '../../../helpers/python';
import { readReference, referencePath } from '../../../helpers/reference';

const dump = (v: PickleValue, protocol: 2 | 4): Uint8Array => concatParts(PickleWriter.dump(v, protocol));

function load(bytes: Uint8Array, globals = new Map<string, GlobalHandler>(), persistentLoad?: (pid: unknown) => unknown): unknown {
  return unpickle(bytes, { file: 'w.pkl', globals, purpose: 'tests', persistentLoad });
}

/** Byte-for-byte equality of the raw data, dtype and shape. */
function assertSameTensor(a: Tensor, b: Tensor, key: string): void {
  assert.equal(a.dtype, b.dtype, key);
  assert.deepEqual([...a.shape], [...b.shape], key);
  const x = new Uint8Array(a.data.buffer, a.data.byteOffset, a.data.byteLength);
  const y = new Uint8Array(b.data.buffer, b.data.byteOffset, b.data.byteLength);
  assert.ok(Buffer.compare(x, y) === 0, `${key}: data differs`);
}

function assertSameTensors(a: ReadonlyMap<string, Tensor>, b: ReadonlyMap<string, Tensor>): void {
  assert.deepEqual([...a.keys()], [...b.keys()]);
  for (const [k, t] of a) assertSameTensor(t, b.get(k)!, k);
}

/** Tensors of every dtype, odd sizes (unaligned ends) and a 0-d one. */
function oddTensors(): Map<string, Tensor> {
  const bytes = (n: number, seed: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 37 + seed) & 0xff);
  return new Map<string, Tensor>([
    ['a.weight', { dtype: 'float32', shape: [3, 1, 1, 1], data: new Float32Array([1.5, -0, Number.NaN]) }],
    ['a.num_batches_tracked', { dtype: 'int64', shape: [], data: new BigInt64Array([4n]) }],
    ['b.h', { dtype: 'float16', shape: [3], data: new Uint16Array(bytes(6, 1).buffer) }],
    ['b.bf', { dtype: 'bfloat16', shape: [1, 3], data: new Uint16Array(bytes(6, 2).buffer) }],
    ['c.d', { dtype: 'float64', shape: [2], data: new Float64Array([Math.PI, -1e300]) }],
    ['c.i', { dtype: 'int32', shape: [1], data: new Int32Array([-7]) }],
    ['c.s', { dtype: 'int16', shape: [3], data: new Int16Array([1, -2, 3]) }],
    ['c.b', { dtype: 'int8', shape: [5], data: new Int8Array([1, -2, 3, -4, 5]) }],
    ['c.u', { dtype: 'uint8', shape: [7], data: bytes(7, 3) }],
    ['c.flag', { dtype: 'bool', shape: [2], data: new Uint8Array([1, 0]) }],
    ['0', { dtype: 'float32', shape: [1], data: new Float32Array([2]) }],
  ]);
}

describe('pickle writer', () => {
  it('writes values our interpreter reads back (protocols 2 and 4)', () => {
    const value: PickleValue = [
      null, true, false, 0, 255, 256, 65535, 65536, -1, -(2 ** 31), 2 ** 31, 2n ** 70n, -(2n ** 70n),
      pyFloat(1), pyFloat(-2.5e-300), 'short', 'é'.repeat(200), [], [1], [1, 2], [1, 2, 3], [1, 2, 3, 4],
      new Map<PickleValue, PickleValue>([['k', 'v'], [3, [4]]]),
    ];
    for (const protocol of [2, 4] as const) {
      const back = load(dump(value, protocol)) as unknown[];
      assert.deepEqual(back.slice(0, 11), [null, true, false, 0, 255, 256, 65535, 65536, -1, -(2 ** 31), 2 ** 31]);
      assert.deepEqual(back.slice(11, 13), [2n ** 70n, -(2n ** 70n)]);
      assert.deepEqual(back.slice(13, 17), [1, -2.5e-300, 'short', 'é'.repeat(200)]);
      assert.deepEqual(back.slice(17, 22).map((t) => [...(t as unknown[])]), [[], [1], [1, 2], [1, 2, 3], [1, 2, 3, 4]]);
      assert.deepEqual(back[22], new Map<unknown, unknown>([['k', 'v'], [3, Object.freeze([4])]]));
    }
  });

  /** {'k0': ('same', 0.5, 0), ...}: 2001 items (two SETITEMS batches and a lone SETITEM), one shared str, memo past 256. */
  const batched = (): PickleValue =>
    pyDict(Array.from({ length: 2001 }, (_, i) => [`k${i}`, [pyShared('s', 'same'), pyFloat(i / 2), i * 99991]] as const));

  it('batches dict items by 1000 and memoizes shared objects once', () => {
    const bytes = dump(batched(), 4);
    const back = load(bytes) as Map<string, unknown[]>;
    assert.equal(back.size, 2001);
    assert.deepEqual([...back.get('k2000')!], ['same', 1000, 2000 * 99991]);
    // 'same' is written once; every other occurrence is a memo fetch.
    assert.equal(Buffer.from(bytes).toString('latin1').split('same').length - 1, 1);
  });

  it('is byte-identical to CPython pickle.dumps (protocols 2 and 4)', { skip: skipWithoutTorch() }, () => {
    const r = runPython(['-c', [
      'import pickle, sys',
      "d = {f'k{i}': ('same', i / 2, i * 99991) for i in range(2001)}",
      "sys.stdout.write(pickle.dumps(d, protocol=2).hex() + ' ' + pickle.dumps(d, protocol=4).hex())",
    ].join('\n')]);
    assert.equal(r.status, 0, r.stderr);
    const [p2, p4] = r.stdout.split(' ');
    assert.equal(Buffer.from(dump(batched(), 2)).toString('hex'), p2);
    assert.equal(Buffer.from(dump(batched(), 4)).toString('hex'), p4);
  });

  it('frames protocol 4 at 64 KiB and writes big bytes outside frames', () => {
    const big = new Uint8Array(70_000).fill(7);
    const bytes = dump([new Uint8Array([1, 2]), big, 'after'], 4);
    const back = load(bytes) as unknown[];
    assert.deepEqual([...(back[0] as Uint8Array)], [1, 2]);
    assert.equal((back[1] as Uint8Array).length, 70_000);
    assert.equal(back[2], 'after');
    assert.equal(bytes[2], 0x95, 'the pickle opens a frame');
  });

  it('writes globals, reduce with state and dict items, and persistent ids', () => {
    const thing = pyReduce(pyGlobal('m', 'Thing'), [1], { state: pyDict([['x', 2]]) });
    const bytes = dump([thing, pyGlobal('m', 'Thing'), pyPersistent(['id', 5])], 2);
    const seen: unknown[] = [];
    const back = load(bytes, new Map([['m.Thing', inertObject('m.Thing')]]), (pid) => (seen.push(pid), 'resolved')) as unknown[];
    assert.ok(back[0] instanceof PyObject);
    assert.deepEqual((back[0] as PyObject).state, new Map([['x', 2]]));
    assert.equal(back[2], 'resolved');
    assert.deepEqual(seen.map((p) => [...(p as unknown[])]), [['id', 5]]);
    // The global is written once (GLOBAL 'm\nThing'), then fetched from the memo.
    assert.equal(Buffer.from(bytes).toString('latin1').split('m\nThing\n').length - 1, 1);
  });

  it('refuses what it cannot write faithfully', () => {
    assert.throws(() => dump(1.5, 2), /wrap floats in pyFloat/);
    assert.throws(() => dump(new Uint8Array(1), 2), /protocol 2 cannot hold bytes/);
    assert.throws(() => dump(pyShared('n', 3), 4), /not memoized/);
  });
});

describe('writers reproduce the reference files', () => {
  const pth = readCheckpoint(referencePath('dla46_c.pth'));

  it('dla46_c.pth -> .safetensors is byte-identical to dla46_c.safetensors', () => {
    const c = convertTensors(pth, 'safetensors');
    const bytes = concatParts(encodeTensors(c.tensors, 'safetensors', { output: 'x.safetensors', variant: c.variant, source: pth }));
    assert.ok(Buffer.compare(bytes, readReference('dla46_c.safetensors')) === 0);
  });

  it('dla46_c.pth -> .pdparams is byte-identical to dla46_c.pdparams (names, numpy pickling, frames)', () => {
    const c = convertTensors(pth, 'pdparams');
    assert.equal(c.tensors.size, 242);
    assert.equal(c.dropped.length, 48);
    const bytes = concatParts(encodeTensors(c.tensors, 'pdparams', { output: 'x.pdparams', source: pth }));
    assert.ok(Buffer.compare(bytes, readReference('dla46_c.pdparams')) === 0);
  });

  it('.pth: torch.save layout, and data.pkl is the reference pickle up to its _metadata', () => {
    const bytes = concatParts(writePth(pth.tensors, { archiveName: archiveNameFor('/some/dir/dla46_c.pth') }));
    const zip = readZip(bytes, 'ours.pth');
    const ref = readZip(readReference('dla46_c.pth'), 'dla46_c.pth');
    assert.deepEqual(zip.entries.map((e) => e.name), ref.entries.map((e) => e.name));
    for (const e of zip.entries) {
      assert.equal(zip.dataOffset(e) % 64, 0, `${e.name} is 64-byte aligned`);
      if (e.name.includes('/data/')) assert.ok(Buffer.compare(zip.entryData(e), ref.entryData(ref.get(e.name)!)) === 0, e.name);
    }
    assert.equal(new TextDecoder().decode(zip.entryData(zip.get('dla46_c/version')!)), '3\n');
    const ours = zip.entryData(zip.get('dla46_c/data.pkl')!);
    const theirs = ref.entryData(ref.get('dla46_c/data.pkl')!);
    // torch then sets _metadata with a BUILD; ours stops after the items.
    assert.ok(Buffer.compare(ours.subarray(0, -1), theirs.subarray(0, ours.length - 1)) === 0);
    assert.equal(ours[ours.length - 1], 0x2e);
    const view = new DataView(bytes.buffer, bytes.byteOffset);
    assert.equal(view.getUint16(6, true), 0x0808, 'local header flags');
    assert.equal(view.getUint32(bytes.length - 22 - 20 - 56, true), 0x06064b50, 'zip64 end record');
    assertSameTensors(readPth(bytes, 'ours.pth').tensors, pth.tensors);
  });

  it('archive names follow torch: the base name up to its last dot', () => {
    assert.equal(archiveNameFor('/a/b/dla60.pth'), 'dla60');
    assert.equal(archiveNameFor('w.tar.pth'), 'w.tar');
    assert.equal(archiveNameFor('/a/.pth'), 'archive');
  });
});

describe('round trips: each writer, then our reader, gives the same bits', () => {
  it('.pth and .safetensors hold every dtype, 0-d tensors and integer-like names', () => {
    const t = oddTensors();
    assertSameTensors(readPth(concatParts(writePth(t)), 'rt.pth').tensors, t);
    const st = readSafetensors(concatParts(writeSafetensors(t, { metadata: { note: 'x"y' } })), 'rt.safetensors');
    assert.deepEqual(new Set(st.tensors.keys()), new Set(t.keys()));
    for (const [k, v] of t) assertSameTensor(st.tensors.get(k)!, v, k);
    assert.deepEqual(st.metadata, { format: 'pt', note: 'x"y' });
  });

  it('.safetensors puts each tensor at a multiple of its element size', () => {
    const bytes = concatParts(writeSafetensors(oddTensors()));
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    assert.equal(n % 8, 0);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))) as Record<string, { dtype: string; data_offsets: number[] }>;
    const size: Record<string, number> = { F64: 8, I64: 8, F32: 4, I32: 4, F16: 2, BF16: 2, I16: 2, I8: 1, U8: 1, BOOL: 1 };
    for (const [k, v] of Object.entries(header)) if (k !== '__metadata__') assert.equal(v.data_offsets[0] % size[v.dtype], 0, k);
  });

  it('.pdparams holds every numpy dtype, with structured-to-parameter names', () => {
    const t = oddTensors();
    t.delete('b.bf');
    const c: Checkpoint = readPdparams(concatParts(writePdparams(t)), 'rt.pdparams');
    assertSameTensors(c.tensors, t);
    const names = JSON.parse(c.metadata.structuredToParameterName) as Record<string, string>;
    assert.equal(names['a.weight'], 'conv2d_0.w_0');
    assert.throws(() => writePdparams(new Map([['x', oddTensors().get('b.bf')!]])), /bfloat16, which numpy/);
  });

  it('synthetic Paddle parameter names count each layer type in state_dict order', () => {
    const f = (...shape: number[]): Tensor => ({ dtype: 'float32', shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) });
    const names = syntheticParameterNames(new Map([
      ['stem.0.weight', f(4, 3, 3, 3)], ['stem.1.weight', f(4)], ['stem.1.bias', f(4)], ['stem.1._mean', f(4)], ['stem.1._variance', f(4)],
      ['head.weight', f(10, 4, 1, 1)], ['head.bias', f(10)], ['lin.weight', f(2, 10)], ['scale', f(1)],
    ]));
    assert.deepEqual([...names.values()], [
      'conv2d_0.w_0', 'batch_norm2d_0.w_0', 'batch_norm2d_0.b_0', 'batch_norm2d_0.w_1', 'batch_norm2d_0.w_2',
      'conv2d_1.w_0', 'conv2d_1.b_0', 'linear_0.w_0', 'create_parameter_0.w_0',
    ]);
  });
});
