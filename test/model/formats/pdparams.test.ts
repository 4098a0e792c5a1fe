import assert from 'node:assert/strict';
import * as fs from 'fs';
import { describe, it } from 'node:test';
import { FormatError } from '../../../src/model/errors';
import { pdparamsReader, readPdparams } from '../../../src/model/formats/pdparams';
import { PickleWriter, bytesOf, sentinelPath, writeNumpyArray } from './fixtures';
import { expectFormatError } from '../../helpers/formatError';

const f4 = (...v: number[]) => bytesOf(new Float32Array(v));

function expectError(bytes: Uint8Array, pattern: RegExp): FormatError {
  const e = expectFormatError(() => readPdparams(bytes, 'bad.pdparams'), pattern, { file: 'bad.pdparams' });
  assert.match(e.message, /at byte offset \d+/);
  return e;
}

/** paddle.save with protocol 2: bytes as _codecs.encode, a split big array, a (name, array) tuple value. */
function protocol2Save(slices: [string, Uint8Array][], originShape: number[]): Uint8Array {
  const w = new PickleWriter().proto(2).emptyDict().mark();
  writeNumpyArray(w.str('fc.weight'), 'f4', [2], f4(1, 2), true);
  for (const [name, data] of slices) writeNumpyArray(w.str(name), 'f4', [data.length / 4], data, true);
  w.str('old.bias').global('__builtin__', 'tuple').str('linear_1.b_0');
  writeNumpyArray(w, 'f4', [1], f4(9), true).tuple(2).tuple(1).reduce(); // tuple((name, array))
  w.str('StructuredToParameterName@@').emptyDict().str('fc.weight').str('linear_0.w_0').setitem();
  w.str('UnpackBigParamInfor@@').emptyDict().str('big.weight').emptyDict().mark();
  w.str('OriginShape').intTuple(originShape).str('slices').emptyList().mark();
  for (const [name] of slices) w.str(name);
  w.appends().setitems().setitem();
  return w.setitems().stop().finish();
}

describe('pdparams reader', () => {
  it('reads protocol 2 saves: latin1-encoded bytes, joined big-array slices, (name, array) tuples', () => {
    const bytes = protocol2Save([['big.weight@@.0', f4(1, 2, 3, 4)], ['big.weight@@.1', f4(5, 6)]], [2, 3]);
    const c = readPdparams(bytes, 'p2.pdparams');
    assert.deepEqual([...c.tensors.keys()], ['fc.weight', 'big.weight', 'old.bias']);
    assert.deepEqual([...(c.tensors.get('fc.weight')!.data as Float32Array)], [1, 2]);
    assert.deepEqual(c.tensors.get('big.weight')!.shape, [2, 3]);
    assert.deepEqual([...(c.tensors.get('big.weight')!.data as Float32Array)], [1, 2, 3, 4, 5, 6]);
    assert.deepEqual([...(c.tensors.get('old.bias')!.data as Float32Array)], [9]);
    assert.deepEqual(JSON.parse(c.metadata.structuredToParameterName), { 'fc.weight': 'linear_0.w_0', 'old.bias': 'linear_1.b_0' });
    assert.equal(c.metadata.joinedBigParams, 'big.weight');
  });

  it('refuses slices that do not fill the original shape', () => {
    expectError(protocol2Save([['big.weight@@.0', f4(1, 2, 3, 4)]], [2, 3]), /slices hold 4 elements but the original shape \(2, 3\) needs 6/);
  });

  it('reads paddle.save of a single array', () => {
    const w = new PickleWriter().proto(4);
    writeNumpyArray(w, 'f4', [3], f4(1, 2, 3));
    const c = readPdparams(w.stop().finish(), '/tmp/logits.pdparams');
    assert.deepEqual([...c.tensors.keys()], ['logits']);
  });

  it('refuses unsupported array dtypes and big-endian arrays with the key', () => {
    const dict = (typeString: string, order = '<') => {
      const w = new PickleWriter().proto(2).emptyDict().str('w');
      w.global('numpy.core.multiarray', '_reconstruct').global('numpy', 'ndarray').int(0).tuple(1).bytes(Uint8Array.of(0x62)).tuple(3).reduce();
      w.mark().int(1).intTuple([1]).global('numpy', 'dtype').str(typeString).bool(false).bool(true).tuple(3).reduce();
      w.mark().int(3).str(order).none().none().none().int(-1).int(-1).int(0).tuple().build();
      return w.bool(false).bytes(f4(1)).tuple().build().setitem().stop().finish();
    };
    expectError(dict('U1'), /'<U1' is not supported.*key 'w'/);
    expectError(dict('f4', '>'), /big-endian/);
    expectError(dict('f8'), /needs 8 bytes but its data holds 4/);
  });

  describe('security', () => {
    const marker = sentinelPath('pdparams');
    const cases: [string, Uint8Array][] = [
      ['os.system', new PickleWriter().proto(4).stackGlobal('os', 'system').shortStr(`touch ${marker}`).tuple(1).reduce().stop().finish()],
      ['builtins.eval', new PickleWriter().proto(2).emptyDict().str('w').global('builtins', 'eval').str('1+1').tuple(1).reduce().setitem().stop().finish()],
      ['numpy.load', new PickleWriter().proto(2).global('numpy', 'load').str(marker).tuple(1).reduce().stop().finish()],
    ];
    for (const [name, bytes] of cases) {
      it(`refuses ${name} in a bare .pdparams, naming it, running nothing`, () => {
        assert.equal(pdparamsReader.match(bytes, 'evil.pdparams'), true);
        expectError(bytes, new RegExp(`refuses to load global '${name.replace('.', '\\.')}'`));
        assert.equal(fs.existsSync(marker), false);
      });
    }
  });
});
