import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FormatError } from '../../../src/model/errors';
import { readSafetensors, safetensorsReader } from '../../../src/model/formats/safetensors';
import { bytesOf } from './fixtures';

/** A safetensors file from a header object and a data section. */
function safetensors(header: unknown, data: Uint8Array, declared?: number): Uint8Array {
  const json = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(declared ?? json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

const data = bytesOf(new Float32Array([1, 2, 3, 4]));

describe('safetensors reader', () => {
  it('reads every dtype, 0-d tensors and __metadata__', () => {
    const header = {
      __metadata__: { format: 'pt' },
      a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
      h: { dtype: 'BF16', shape: [2], data_offsets: [8, 12] },
      s: { dtype: 'I32', shape: [], data_offsets: [12, 16] },
      e: { dtype: 'F64', shape: [0], data_offsets: [16, 16] },
    };
    const c = readSafetensors(safetensors(header, data), 'x.safetensors');
    assert.deepEqual([...c.tensors.keys()], ['a', 'h', 's', 'e']);
    assert.deepEqual([...(c.tensors.get('a')!.data as Float32Array)], [1, 2]);
    assert.equal(c.tensors.get('h')!.dtype, 'bfloat16');
    assert.deepEqual(c.tensors.get('s')!.shape, []);
    assert.deepEqual(c.metadata, { format: 'pt' });
  });

  const tensor = (extra: object) => ({ t: { dtype: 'F32', shape: [4], data_offsets: [0, 16], ...extra } });
  const cases: [string, Uint8Array, RegExp][] = [
    ['a header longer than the file', safetensors(tensor({}), data, 1000), /declares 1000 bytes but only/],
    ['a header over 100 MB', safetensors(tensor({}), data, 200_000_000), /100 MB limit/],
    ['invalid JSON', safetensors('{"t": ', data), /not valid JSON/],
    ['a JSON array', safetensors('[1, 2]', data), /JSON object/],
    ['an unknown dtype', safetensors(tensor({ dtype: 'F8_E4M3' }), data), /Unsupported safetensors dtype "F8_E4M3"/],
    ['a negative dimension', safetensors(tensor({ shape: [-4] }), data), /non-negative integers/],
    ['offsets that do not match the shape', safetensors(tensor({ data_offsets: [0, 12] }), data), /needs 16 bytes/],
    ['offsets past the data', safetensors(tensor({ data_offsets: [4, 20] }), data), /run past the 16-byte data section/],
    ['reversed offsets', safetensors(tensor({ data_offsets: [16, 0] }), data), /needs 16 bytes/],
    [
      'overlapping tensors',
      safetensors({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, data),
      /overlap those of 'a'/,
    ],
    ['a truncated length', new Uint8Array(5), /Expected 8 more bytes/],
  ];
  for (const [name, bytes, pattern] of cases) {
    it(`refuses ${name}`, () => {
      assert.throws(() => readSafetensors(bytes, 'bad.safetensors'), (e: unknown) => {
        assert.ok(e instanceof FormatError, String(e));
        assert.match(e.message, pattern);
        assert.match(e.message, /^bad\.safetensors: .*at byte offset \d+/);
        return true;
      });
    });
  }

  it('matches by a sane header length and an opening brace', () => {
    assert.equal(safetensorsReader.match(safetensors(tensor({}), data), 'x'), true);
    assert.equal(safetensorsReader.match(safetensors(tensor({}), data, 200_000_000), 'x'), false);
    assert.equal(safetensorsReader.match(new Uint8Array(4), 'x'), false);
  });
});
