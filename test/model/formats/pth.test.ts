import assert from 'node:assert/strict';
import * as fs from 'fs';
import { describe, it } from 'node:test';
import { FormatError } from '../../../src/model/errors';
import { writeStoredZip } from '../../../src/model/formats/write/zipWriter';
import { pthReader, readPth } from '../../../src/model/formats/pth';
import type { TensorData } from '../../../src/model/tensor';
import { PickleWriter, bytesOf, sentinelPath, torchZip, writeStateDict, writeTensor, type TensorRef } from './fixtures';
import { expectFormatError } from '../../helpers/formatError';

const floats = (n: number) => Float32Array.from({ length: n }, (_, i) => i);
const f32 = (key: string, size: number[], extra: Partial<TensorRef> = {}): TensorRef => ({
  storageType: 'FloatStorage', storageKey: key, storageNumel: size.reduce((a, b) => a * b, 1), size, ...extra,
});

function values(d: TensorData): (number | bigint)[] {
  return Array.from(d as ArrayLike<number | bigint>);
}

const expectError = (bytes: Uint8Array, pattern: RegExp, file = 'bad.pth'): FormatError =>
  expectFormatError(() => readPth(bytes, file), pattern, { file });

describe('pth reader: training-script wrappers', () => {
  const storages: [string, Uint8Array][] = [['0', bytesOf(floats(6))], ['1', bytesOf(floats(2))]];

  it("unwraps {'state_dict': ..., 'epoch', 'optimizer', 'args'} and strips DDP's 'module.' prefix", () => {
    const w = new PickleWriter().proto(2).emptyDict().mark();
    w.str('epoch').int(3);
    w.str('state_dict');
    writeStateDict(w, [['module.conv.weight', f32('0', [2, 3])], ['module.conv.bias', f32('1', [2])]]);
    w.str('optimizer').emptyDict().str('param_groups').emptyList().emptyDict().str('lr').float(0.1).setitem().append().setitem();
    w.str('args').global('argparse', 'Namespace').emptyTuple().newobj().emptyDict().str('model').str('dla60').setitem().build();
    w.str('best_metric').global('numpy.core.multiarray', 'scalar');
    w.global('numpy', 'dtype').str('f8').bool(false).bool(true).tuple(3).reduce();
    w.mark().int(3).str('<').none().none().none().int(-1).int(-1).int(0).tuple().build();
    w.bytes(bytesOf(new Float64Array([81.5]))).tuple(2).reduce();
    const c = pthReader.read(torchZip('ckpt', w.setitems().stop().finish(), storages), 'ckpt.pth.tar');
    assert.deepEqual([...c.tensors.keys()], ['conv.weight', 'conv.bias']);
    assert.deepEqual(values(c.tensors.get('conv.weight')!.data), [0, 1, 2, 3, 4, 5]);
    assert.equal(c.metadata.unwrapped, 'state_dict');
    assert.equal(c.metadata.strippedPrefix, 'module.');
    assert.equal(c.metadata.skipped, 'epoch, optimizer, args, best_metric');
    assert.deepEqual(c.weights?.skipped, ['epoch', 'optimizer', 'args', 'best_metric']);
    // The values beside the weights, summarised for inspect: a numpy scalar shows its value.
    assert.equal(c.metadata.epoch, '3');
    assert.equal(c.metadata.optimizer, 'dict of 1');
    assert.equal(c.metadata.args, "Namespace(model='dla60')");
    assert.equal(c.metadata.best_metric, '81.5');
  });

  it("prefers 'model' over 'model_ema' and records the alternative", () => {
    const w = new PickleWriter().proto(2).emptyDict().mark();
    w.str('model');
    writeStateDict(w, [['w', f32('0', [6])]]);
    w.str('model_ema');
    writeStateDict(w, [['w', f32('1', [2])]]);
    const c = readPth(torchZip('x', w.setitems().stop().finish(), storages), 'x.pth');
    assert.deepEqual(c.tensors.get('w')!.shape, [6]);
    assert.equal(c.metadata.unwrapped, 'model');
    assert.equal(c.metadata.alternatives, "'model_ema' (1 tensor)");
    assert.deepEqual(c.weights?.candidates, [{ key: 'model', tensors: 1 }, { key: 'model_ema', tensors: 1 }]);
  });

  it("reads an EMA-only checkpoint ('state_dict_ema')", () => {
    const w = new PickleWriter().proto(2).emptyDict().str('state_dict_ema');
    writeStateDict(w, [['w', f32('1', [2])]]);
    const c = readPth(torchZip('x', w.setitem().stop().finish(), storages), 'x.pth');
    assert.equal(c.metadata.unwrapped, 'state_dict_ema');
  });

  it('ignores non-tensor values beside the tensors, and keeps a module. prefix that not every key has', () => {
    const w = new PickleWriter().proto(2);
    w.global('collections', 'OrderedDict').emptyTuple().reduce().mark();
    writeTensor(w.str('module.w'), f32('0', [6]));
    w.str('w2');
    writeTensor(w, { ...f32('1', [2]), parameter: true });
    w.str('note').str('hello');
    const c = readPth(torchZip('x', w.setitems().stop().finish(), storages), 'x.pth');
    assert.deepEqual([...c.tensors.keys()], ['module.w', 'w2']);
    assert.equal(c.metadata.ignoredKeys, 'note');
    assert.equal(c.metadata.strippedPrefix, undefined);
  });

  it('says what it found when there are no tensors', () => {
    const w = new PickleWriter().proto(2).emptyDict().str('epoch').int(3).setitem().stop();
    const e = expectError(torchZip('x', w.finish()), /Found no tensors in the top-level dict or in the dicts under it \(to depth 3\)\. The top-level keys are: epoch/);
    assert.ok(e.offset !== undefined);
  });
});

describe('pth reader: tensors and storages', () => {
  it('materialises non-contiguous strides as a contiguous copy', () => {
    const w = new PickleWriter().proto(2);
    writeStateDict(w, [
      ['transposed', f32('0', [2, 3], { storageNumel: 6, stride: [1, 2] })],
      ['strided', f32('0', [2], { storageNumel: 6, offset: 1, stride: [3] })],
      ['offset', f32('0', [2, 2], { storageNumel: 6, offset: 2 })],
      ['unit-dim', f32('0', [1, 3], { storageNumel: 6, stride: [99, 1] })],
    ]);
    const c = readPth(torchZip('x', w.stop().finish(), [['0', bytesOf(floats(6))]]), 'x.pth');
    assert.deepEqual(values(c.tensors.get('transposed')!.data), [0, 2, 4, 1, 3, 5]);
    assert.deepEqual(c.tensors.get('transposed')!.shape, [2, 3]);
    assert.deepEqual(values(c.tensors.get('strided')!.data), [1, 4]);
    assert.deepEqual(values(c.tensors.get('offset')!.data), [2, 3, 4, 5]);
    assert.deepEqual(values(c.tensors.get('unit-dim')!.data), [0, 1, 2], 'a size-1 dimension may carry any stride');
  });

  it('reads every storage type', () => {
    const cases: [string, string, ArrayBufferView][] = [
      ['DoubleStorage', 'float64', new Float64Array([1.5, -2])], ['HalfStorage', 'float16', new Uint16Array([0x3c00, 0xc000])],
      ['BFloat16Storage', 'bfloat16', new Uint16Array([0x3f80, 0x4000])], ['LongStorage', 'int64', new BigInt64Array([-1n, 2n ** 40n])],
      ['IntStorage', 'int32', new Int32Array([-7, 8])], ['ShortStorage', 'int16', new Int16Array([-3, 4])],
      ['CharStorage', 'int8', new Int8Array([-1, 1])], ['ByteStorage', 'uint8', new Uint8Array([255, 0])],
      ['BoolStorage', 'bool', new Uint8Array([1, 0])],
    ];
    const w = new PickleWriter().proto(2);
    writeStateDict(w, cases.map(([type], i) => [type, { storageType: type, storageKey: String(i), storageNumel: 2, size: [2] }] as const));
    const c = readPth(torchZip('x', w.stop().finish(), cases.map(([, , data], i) => [String(i), bytesOf(data)] as const)), 'x.pth');
    for (const [type, dtype, data] of cases) {
      const t = c.tensors.get(type)!;
      assert.equal(t.dtype, dtype, type);
      assert.equal(Buffer.compare(bytesOf(t.data), bytesOf(data)), 0, type);
    }
  });

  const refusals: [string, TensorRef, Uint8Array, RegExp][] = [
    ['an expand()ed tensor (stride 0)', f32('0', [4], { storageNumel: 1, stride: [0] }), bytesOf(floats(1)), /repeats elements/],
    ['a view past its storage', f32('0', [4], { storageNumel: 6, offset: 3 }), bytesOf(floats(6)), /reaches element 6/],
    ['a storage entry shorter than numel', f32('0', [6]), bytesOf(floats(5)), /should hold 6 float32 elements/],
    ['sizes and strides of different rank', f32('0', [6], { stride: [1, 1] }), bytesOf(floats(6)), /1 sizes but 2 strides/],
    ['an unknown storage type', { ...f32('0', [6]), storageType: 'QInt8Storage' }, bytesOf(floats(6)), /refuses to load global 'torch\.QInt8Storage'/],
  ];
  for (const [name, ref, storage, pattern] of refusals) {
    it(`refuses ${name}`, () => {
      const w = new PickleWriter().proto(2);
      writeStateDict(w, [['t', ref]]);
      const e = expectError(torchZip('x', w.stop().finish(), [['0', storage]]), pattern);
      assert.ok(e.offset !== undefined, 'names an offset');
    });
  }

  it('refuses a missing storage entry', () => {
    const w = new PickleWriter().proto(2);
    writeStateDict(w, [['t', f32('7', [2])]]);
    expectError(torchZip('x', w.stop().finish()), /no entry 'x\/data\/7'/);
  });
});

describe('pth reader: what it refuses', () => {
  it('refuses os.system and builtins.eval inside data.pkl, naming the global, running nothing', () => {
    const marker = sentinelPath('pth');
    const system = new PickleWriter().proto(2).global('os', 'system').str(`touch ${marker}`).tuple(1).reduce().stop().finish();
    expectError(torchZip('evil', system), /refuses to load global 'os\.system'/, 'evil.pth');
    const evalPkl = new PickleWriter().proto(2).emptyDict().str('x');
    evalPkl.global('builtins', 'eval').str("__import__('os').system('touch " + marker + "')").tuple(1).reduce().setitem().stop();
    expectError(torchZip('evil', evalPkl.finish()), /refuses to load global 'builtins\.eval'/, 'evil.pth');
    assert.equal(fs.existsSync(marker), false, 'nothing ran');
  });

  it('refuses a pickled model object, saying to save the state_dict', () => {
    const w = new PickleWriter().proto(2).global('timm.models.dla', 'DLA').emptyTuple().newobj().stop();
    expectError(torchZip('m', w.finish()), /refuses to load global 'timm\.models\.dla\.DLA'.*model\.state_dict\(\)/);
  });

  it('refuses a TorchScript archive', () => {
    const zip = writeStoredZip([['m/data.pkl', new PickleWriter().proto(2).none().stop().finish()], ['m/code/__torch__.py', new Uint8Array(1)]]);
    expectError(zip, /TorchScript/);
  });

  it('refuses a zip without data.pkl', () => {
    expectError(writeStoredZip([['a.npy', new Uint8Array(4)]]), /no 'data\.pkl' entry/);
  });

  it('matches torch zips by their data.pkl entry, whatever the extension', () => {
    const zip = torchZip('x', new PickleWriter().proto(2).none().stop().finish());
    assert.equal(pthReader.match(zip.subarray(0, 100), 'weights.anything'), true);
    assert.equal(pthReader.match(writeStoredZip([['a.npy', new Uint8Array(4)]]), 'a.pth'), false);
  });
});
