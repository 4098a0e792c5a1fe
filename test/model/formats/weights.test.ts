import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pdparamsReader } from '../../../src/model/formats/pdparams';
import { pthReader } from '../../../src/model/formats/pth';
import { safetensorsReader } from '../../../src/model/formats/safetensors';
import { readZip } from '../../../src/model/formats/zip';
import type { Tensor } from '../../../src/model/tensor';
import { readReference } from '../../helpers/reference';
import { bytesOf } from './fixtures';

/** The same dla46_c weights in three formats must read to bit-identical tensors. */

function sameBytes(a: Tensor, b: Tensor, key: string): void {
  assert.equal(a.dtype, b.dtype, `${key}: dtype`);
  assert.deepEqual([...a.shape], [...b.shape], `${key}: shape`);
  assert.equal(Buffer.compare(bytesOf(a.data), bytesOf(b.data)), 0, `${key}: values differ`);
}

/** Paddle's names for the PyTorch BatchNorm buffers (the README's key mapping). */
function paddleName(torchName: string): string | undefined {
  if (torchName.endsWith('.num_batches_tracked')) return undefined;
  return torchName.replace(/\.running_mean$/, '._mean').replace(/\.running_var$/, '._variance');
}

describe('dla46_c weights: pth, safetensors and pdparams agree', () => {
  const pthBytes = readReference('dla46_c.pth');
  const pth = pthReader.read(pthBytes, 'dla46_c.pth');
  const st = safetensorsReader.read(readReference('dla46_c.safetensors'), 'dla46_c.safetensors');
  const pd = pdparamsReader.read(readReference('dla46_c.pdparams'), 'dla46_c.pdparams');

  it('the pth holds 290 tensors, num_batches_tracked as 0-d int64', () => {
    assert.equal(pth.format, 'pth');
    assert.equal(pth.tensors.size, 290);
    const nbt = pth.tensors.get('base_layer.1.num_batches_tracked')!;
    assert.equal(nbt.dtype, 'int64');
    assert.deepEqual(nbt.shape, []);
    assert.deepEqual([...(nbt.data as BigInt64Array)], [4n]);
    assert.deepEqual(pth.metadata, { archive: 'dla46_c' });
    for (const [key, t] of pth.tensors) assert.equal(t.data.buffer, pthBytes.buffer, `${key} is a view over the file`);
  });

  it('safetensors holds the same 290 tensors, bit for bit, and its __metadata__', () => {
    assert.equal(st.tensors.size, 290);
    assert.deepEqual(new Set(st.tensors.keys()), new Set(pth.tensors.keys()));
    for (const [key, t] of pth.tensors) sameBytes(st.tensors.get(key)!, t, key);
    assert.deepEqual(st.metadata, { format: 'pt', model: 'dla46_c' });
    assert.equal([...st.tensors.keys()][0], 'base_layer.1.num_batches_tracked', 'file order: I64 first');
  });

  it('pdparams holds 242 arrays under Paddle names, in state_dict order, bit for bit', () => {
    assert.equal(pd.tensors.size, 242);
    const expected = [...pth.tensors.keys()].map(paddleName).filter((k): k is string => k !== undefined);
    assert.deepEqual([...pd.tensors.keys()], expected);
    for (const [key, t] of pth.tensors) {
      const name = paddleName(key);
      if (name) sameBytes(pd.tensors.get(name)!, t, name);
    }
    assert.ok(pd.tensors.has('level2.tree1.bn1._mean') && pd.tensors.has('level2.tree1.bn1._variance'));
    const names = JSON.parse(pd.metadata.structuredToParameterName) as Record<string, string>;
    assert.equal(Object.keys(names).length, 242);
    assert.equal(names['base_layer.0.weight'], 'conv2d_0.w_0');
  });
});

describe('dla60.pth', () => {
  it('reads 380 tensors in state_dict order, not the zip entries\' lexicographic order', () => {
    const bytes = readReference('dla60.pth');
    const c = pthReader.read(bytes, 'dla60.pth');
    assert.equal(c.tensors.size, 380);
    const keys = [...c.tensors.keys()];
    assert.equal(keys[0], 'base_layer.0.weight');
    assert.deepEqual(keys.slice(-2), ['fc.weight', 'fc.bias']);
    // Storage keys are numbered in state_dict order; map each tensor back to the entry it views.
    const zip = readZip(bytes, 'dla60.pth');
    const entryAt = new Map(zip.entries.map((e) => [zip.dataOffset(e), e.name]));
    keys.forEach((key, i) => {
      const t = c.tensors.get(key)!;
      assert.equal(t.data.buffer, bytes.buffer, `${key} is a view`);
      assert.equal(entryAt.get(t.data.byteOffset), `dla60/data/${i}`, `${key} is storage ${i}`);
    });
  });
});
