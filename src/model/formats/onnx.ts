import onnxPkg from 'onnx-proto';
import { FormatError } from '../errors';
import { DTYPE_BYTES, numel, typedView, type Checkpoint, type DType, type Tensor, type TensorData } from '../tensor';
import type { FormatReader } from './reader';

const { onnx } = onnxPkg;

/**
 * ONNX models: the weights are the graph's initializers (TensorProto). Each holds dims, a data type
 * and either `raw_data` (little-endian bytes, viewed in place) or a typed repeated field
 * (float_data, int32_data, int64_data, ...). Tensors stored in external files are refused by name:
 * reading them would mean opening paths the model file chooses.
 */

/** TensorProto.DataType codes we hold. */
const ONNX_DTYPES: Record<number, DType> = {
  1: 'float32', 2: 'uint8', 3: 'int8', 5: 'int16', 6: 'int32', 7: 'int64', 9: 'bool',
  10: 'float16', 11: 'float64', 16: 'bfloat16',
};
const ONNX_DTYPE_NAMES: Record<number, string> = {
  0: 'UNDEFINED', 4: 'UINT16', 8: 'STRING', 12: 'UINT32', 13: 'UINT64', 14: 'COMPLEX64', 15: 'COMPLEX128',
};
const EXTERNAL = 1;

type Int64 = number | { toString(): string };

function toNumber(v: Int64, what: string, file: string, name: string): number {
  const n = typeof v === 'number' ? v : Number(v.toString());
  if (!Number.isSafeInteger(n) || n < 0) throw new FormatError(file, `Expected ${what} to be a non-negative integer but found ${v}.`, undefined, name);
  return n;
}

function toBigInt(v: Int64): bigint {
  return typeof v === 'number' ? BigInt(v) : BigInt(v.toString());
}

export function readOnnx(bytes: Uint8Array, file: string): Checkpoint {
  let model: InstanceType<typeof onnx.ModelProto>;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (e) {
    // protobufjs says where the encoding broke ("index out of range: 120 + 8 > 64", "... at offset 7").
    const message = (e as Error).message;
    const at = /(?:out of range: |at offset )(\d+)/.exec(message);
    throw new FormatError(file, `The file is not a valid ONNX protobuf: ${message}.`, at ? Number(at[1]) : 0);
  }
  const graph = model.graph;
  if (!graph) throw new FormatError(file, 'The ONNX model has no graph, so it holds no weights.', 0);
  const tensors = new Map<string, Tensor>();
  for (const init of graph.initializer ?? []) {
    const name = init.name ?? '';
    if (tensors.has(name)) throw new FormatError(file, 'Two initializers share this name.', undefined, name);
    tensors.set(name, initializerTensor(init, file));
  }
  const metadata: Record<string, string> = {};
  if (model.producerName) metadata.producer = `${model.producerName} ${model.producerVersion ?? ''}`.trim();
  if (model.irVersion) metadata.irVersion = String(model.irVersion);
  const opset = (model.opsetImport ?? []).find((o) => !o.domain);
  if (opset?.version) metadata.opset = String(opset.version);
  return { file, format: 'onnx', tensors, metadata };
}

type TensorProto = onnxPkg.onnx.ITensorProto;

function initializerTensor(t: TensorProto, file: string): Tensor {
  const name = t.name ?? '';
  const fail: (detail: string) => never = (detail) => {
    throw new FormatError(file, detail, undefined, name);
  };
  if (t.dataLocation === EXTERNAL || (t.externalData ?? []).length > 0) {
    const location = (t.externalData ?? []).find((e) => e.key === 'location')?.value;
    fail(
      `Initializer '${name}' keeps its data in an external file${location ? ` ('${location}')` : ''}, which is not supported. ` +
        'Re-export with the weights inside the model (onnx.save_model(model, path, save_as_external_data=False)).',
    );
  }
  const code = t.dataType ?? 0;
  const dtype = ONNX_DTYPES[code];
  if (!dtype) fail(`Initializer '${name}' has ONNX data type ${ONNX_DTYPE_NAMES[code] ?? code}, which is not supported.`);
  const shape = (t.dims ?? []).map((d) => toNumber(d as Int64, 'a dimension', file, name));
  const count = numel(shape);
  if (t.rawData && t.rawData.length > 0) {
    const expected = count * DTYPE_BYTES[dtype];
    if (t.rawData.length !== expected) {
      fail(`Initializer '${name}' of shape [${shape.join(', ')}] needs ${expected} bytes of raw_data but has ${t.rawData.length}.`);
    }
    // protobufjs hands out Node Buffers; view the same bytes as a plain Uint8Array.
    const raw = new Uint8Array(t.rawData.buffer, t.rawData.byteOffset, t.rawData.length);
    return { dtype, shape, data: typedView(dtype, raw, 0, count) };
  }
  return { dtype, shape, data: fromTypedField(t, dtype, count, fail) };
}

/** The typed repeated fields: which one holds which type is fixed by onnx.proto. */
function fromTypedField(t: TensorProto, dtype: DType, count: number, fail: (d: string) => never): TensorData {
  const floats = t.floatData ?? [];
  const doubles = t.doubleData ?? [];
  const int64s = (t.int64Data ?? []) as Int64[];
  // int32_data carries every narrower type, float16/bfloat16 as their bit patterns.
  const int32s = t.int32Data ?? [];
  const field = dtype === 'float32' ? floats : dtype === 'float64' ? doubles : dtype === 'int64' ? int64s : int32s;
  if (field.length !== count) fail(`Initializer '${t.name}' needs ${count} values but its typed data field holds ${field.length}.`);
  switch (dtype) {
    case 'float32': return Float32Array.from(floats);
    case 'float64': return Float64Array.from(doubles);
    case 'int64': return BigInt64Array.from(int64s, toBigInt);
    case 'int32': return Int32Array.from(int32s);
    case 'int16': return Int16Array.from(int32s);
    case 'int8': return Int8Array.from(int32s);
    case 'uint8': case 'bool': return Uint8Array.from(int32s);
    case 'float16': case 'bfloat16': return Uint16Array.from(int32s);
  }
}

/** ModelProto field tags that may follow ir_version (field 1, varint). */
const MODEL_TAGS = new Set([0x12, 0x1a, 0x22, 0x28, 0x32, 0x3a, 0x42, 0x72, 0x7a]);

export const onnxReader: FormatReader = {
  id: 'onnx',
  extensions: ['.onnx'],
  match(head: Uint8Array): boolean {
    // Protobuf has no magic. Exporters write ir_version (field 1) first: 0x08, a small varint, then
    // another ModelProto field.
    return head.length >= 3 && head[0] === 0x08 && head[1] >= 1 && head[1] <= 20 && MODEL_TAGS.has(head[2]);
  },
  read: readOnnx,
};
