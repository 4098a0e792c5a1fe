import { FormatError } from '../errors';
import { DTYPE_BYTES, lazyTensor, numel, typedView, type Checkpoint, type DType, type Tensor } from '../tensor';
import { BinaryReader, utf8 } from './binaryReader';
import { memorySource, type ByteSource } from './byteSource';
import type { FormatReader } from './reader';
import type { ReadOptions } from './stateDict';

/**
 * safetensors: a u64 little-endian header length N, N bytes of JSON
 * `{"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, "__metadata__": {..}}`,
 * then the data section; offsets count from the start of the data section. Tensors are views.
 */

/** The reference implementation refuses headers over 100 MB; so do we, before allocating anything. */
const MAX_HEADER = 100_000_000;

const DTYPES: Record<string, DType> = {
  F16: 'float16', BF16: 'bfloat16', F32: 'float32', F64: 'float64',
  I8: 'int8', U8: 'uint8', I16: 'int16', I32: 'int32', I64: 'int64', BOOL: 'bool',
};

export function readSafetensors(bytes: Uint8Array, file: string): Checkpoint {
  return readSafetensorsSource(memorySource(bytes, file), file);
}

/**
 * The same from a random-access source: the header first, then each tensor's bytes, at once or
 * (options.lazy) when its data is first used. Every offset is checked against the header and the
 * file before anything is read.
 */
export function readSafetensorsSource(source: ByteSource, file: string, options: ReadOptions = {}): Checkpoint {
  const r = new BinaryReader(source.read(0, Math.min(8, source.length)), file);
  const n = r.u64();
  const after = source.length - 8;
  if (n > MAX_HEADER) r.fail(`The safetensors header declares ${n} bytes, more than the 100 MB limit.`, 0);
  if (n > after) r.fail(`The safetensors header declares ${n} bytes but only ${after} follow.`, 0);
  let header: unknown;
  try {
    header = JSON.parse(utf8.decode(source.read(8, n)));
  } catch (e) {
    throw new FormatError(file, `The safetensors header is not valid JSON: ${(e as Error).message}.`, 8);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) {
    throw new FormatError(file, 'Expected the safetensors header to be a JSON object.', 8);
  }
  const dataStart = 8 + n;
  const dataLength = source.length - dataStart;
  const metadata: Record<string, string> = {};
  const entries: { name: string; tensor: Tensor; begin: number; end: number }[] = [];
  for (const [name, info] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (info && typeof info === 'object') {
        for (const [k, v] of Object.entries(info)) if (typeof v === 'string') metadata[k] = v;
      }
      continue;
    }
    const fail: (detail: string) => never = (detail) => {
      throw new FormatError(file, detail, 8, name);
    };
    if (!info || typeof info !== 'object') fail(`Expected an object with dtype, shape and data_offsets but found ${JSON.stringify(info)}.`);
    const { dtype: code, shape, data_offsets: offsets } = info as Record<string, unknown>;
    const dtype = typeof code === 'string' ? DTYPES[code] : undefined;
    if (!dtype) fail(`Unsupported safetensors dtype ${JSON.stringify(code)}; expected one of ${Object.keys(DTYPES).join(', ')}.`);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      fail(`Expected shape to be a list of non-negative integers but found ${JSON.stringify(shape)}.`);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
      fail(`Expected data_offsets to be [begin, end] but found ${JSON.stringify(offsets)}.`);
    }
    const [begin, end] = offsets as number[];
    const count = numel(shape as number[]);
    const size = count * DTYPE_BYTES[dtype];
    if (end < begin || end - begin !== size) {
      fail(`Tensor of shape [${(shape as number[]).join(', ')}] and dtype ${code} needs ${size} bytes but data_offsets [${begin}, ${end}] span ${end - begin}.`);
    }
    if (end > dataLength) {
      fail(`data_offsets [${begin}, ${end}] run past the ${dataLength}-byte data section. The file might be truncated.`);
    }
    const load = () => typedView(dtype, source.read(dataStart + begin, size), 0, count);
    const tensor: Tensor = options.lazy ? lazyTensor(dtype, shape as number[], load) : { dtype, shape: shape as number[], data: load() };
    entries.push({ name, tensor, begin, end });
  }
  checkNoOverlap(entries, file);
  return { file, format: 'safetensors', tensors: new Map(entries.map((e) => [e.name, e.tensor])), metadata };
}

/** Two tensors sharing bytes would mean a forged or corrupt header; the spec forbids it. */
function checkNoOverlap(entries: { name: string; begin: number; end: number }[], file: string): void {
  const sorted = [...entries].sort((a, b) => a.begin - b.begin);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i].begin < sorted[i - 1].end) {
      throw new FormatError(
        file,
        `data_offsets [${sorted[i].begin}, ${sorted[i].end}] overlap those of '${sorted[i - 1].name}' [${sorted[i - 1].begin}, ${sorted[i - 1].end}].`,
        8,
        sorted[i].name,
      );
    }
  }
}

export const safetensorsReader: FormatReader = {
  id: 'safetensors',
  extensions: ['.safetensors'],
  match(head: Uint8Array): boolean {
    // A sane header length, then the JSON object's opening brace.
    if (head.length < 10) return false;
    const n = new DataView(head.buffer, head.byteOffset, 8).getBigUint64(0, true);
    return n >= 2n && n <= BigInt(MAX_HEADER) && head[8] === 0x7b;
  },
  read: readSafetensors,
};
