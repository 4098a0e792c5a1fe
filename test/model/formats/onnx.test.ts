import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import onnxPkg from 'onnx-proto';
import { FormatError } from '../../../src/model/errors';
import { onnxReader, readOnnx } from '../../../src/model/formats/onnx';
import { bytesOf } from './fixtures';

const { onnx } = onnxPkg;

function model(initializer: onnxPkg.onnx.ITensorProto[]): Uint8Array {
  return onnx.ModelProto.encode({
    irVersion: 8,
    producerName: 'pytorch',
    producerVersion: '2.1',
    opsetImport: [{ domain: '', version: 17 }],
    graph: { name: 'dla', initializer },
  }).finish();
}

describe('onnx reader', () => {
  it('reads initializers from raw_data and from every typed field', () => {
    const bytes = model([
      { name: 'conv.weight', dims: [2, 2], dataType: 1, rawData: bytesOf(new Float32Array([1, 2, 3, 4])) },
      { name: 'f', dims: [2], dataType: 1, floatData: [0.5, -1] },
      { name: 'd', dims: [1], dataType: 11, doubleData: [Math.PI] },
      { name: 'num_batches_tracked', dims: [], dataType: 7, int64Data: [4] },
      { name: 'h', dims: [1], dataType: 10, int32Data: [0x3c00] },
      { name: 'b', dims: [2], dataType: 9, int32Data: [1, 0] },
      { name: 'i8', dims: [1], dataType: 3, int32Data: [-5] },
    ]);
    assert.equal(onnxReader.match(bytes, 'm.onnx'), true);
    const c = readOnnx(bytes, 'm.onnx');
    assert.deepEqual([...c.tensors.keys()], ['conv.weight', 'f', 'd', 'num_batches_tracked', 'h', 'b', 'i8']);
    assert.deepEqual([...(c.tensors.get('conv.weight')!.data as Float32Array)], [1, 2, 3, 4]);
    assert.deepEqual(c.tensors.get('conv.weight')!.shape, [2, 2]);
    assert.deepEqual([...(c.tensors.get('f')!.data as Float32Array)], [0.5, -1]);
    assert.deepEqual([...(c.tensors.get('d')!.data as Float64Array)], [Math.PI]);
    assert.deepEqual([...(c.tensors.get('num_batches_tracked')!.data as BigInt64Array)], [4n]);
    assert.deepEqual(c.tensors.get('num_batches_tracked')!.shape, []);
    assert.equal(c.tensors.get('h')!.dtype, 'float16');
    assert.deepEqual([...(c.tensors.get('h')!.data as Uint16Array)], [0x3c00]);
    assert.deepEqual([...(c.tensors.get('b')!.data as Uint8Array)], [1, 0]);
    assert.deepEqual([...(c.tensors.get('i8')!.data as Int8Array)], [-5]);
    assert.deepEqual(c.metadata, { producer: 'pytorch 2.1', irVersion: '8', opset: '17' });
  });

  const refusals: [string, Uint8Array, RegExp][] = [
    [
      'external data, naming the initializer and its file',
      model([{ name: 'fc.weight', dims: [4], dataType: 1, dataLocation: 1, externalData: [{ key: 'location', value: 'weights.bin' }] }]),
      /Initializer 'fc\.weight' keeps its data in an external file \('weights\.bin'\)/,
    ],
    ['string tensors', model([{ name: 's', dims: [1], dataType: 8, stringData: [new Uint8Array(1)] }]), /data type STRING/],
    ['raw_data of the wrong size', model([{ name: 'w', dims: [3], dataType: 1, rawData: new Uint8Array(8) }]), /needs 12 bytes of raw_data but has 8/],
    ['a typed field of the wrong length', model([{ name: 'w', dims: [3], dataType: 1, floatData: [1] }]), /needs 3 values/],
    ['duplicate names', model([{ name: 'w', dims: [1], dataType: 1, floatData: [1] }, { name: 'w', dims: [1], dataType: 1, floatData: [1] }]), /share this name/],
    ['truncated protobuf', model([{ name: 'w', dims: [4], dataType: 1, rawData: new Uint8Array(16) }]).subarray(0, 20), /not a valid ONNX protobuf/],
    ['a model without a graph', onnx.ModelProto.encode({ irVersion: 8 }).finish(), /no graph/],
  ];
  for (const [name, bytes, pattern] of refusals) {
    it(`refuses ${name}`, () => {
      assert.throws(() => readOnnx(bytes, 'bad.onnx'), (e: unknown) => {
        assert.ok(e instanceof FormatError, String(e));
        assert.match(e.message, pattern);
        assert.ok(e.message.startsWith('bad.onnx: '));
        return true;
      });
    });
  }
});
