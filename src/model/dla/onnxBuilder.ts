import onnxPkg from 'onnx-proto';

/**
 * Protobuf plumbing for building an ONNX model in memory: nodes, initializers, inputs and outputs,
 * encoded with onnx-proto (ONNX 1.10 schema). Knows nothing about DLA.
 *
 * Opset 17 is used on purpose: it still takes ReduceMean's axes as an attribute, has Split with a
 * `split` input, and every ORT build from 1.12 on runs it.
 */
const { onnx } = onnxPkg;

export const OPSET = 17;
/** IR version 8 pairs with opset 17 (ONNX 1.12); onnx-proto's enum stops at 8 too. */
const IR_VERSION = 8;

/** A typed attribute value: ONNX rejects an INT where INTS is expected, so the type is explicit. */
export type Attr =
  | { readonly int: number }
  | { readonly ints: readonly number[] }
  | { readonly float: number }
  | { readonly str: string };

export const int = (v: number): Attr => ({ int: v });
export const ints = (v: readonly number[]): Attr => ({ ints: v });
export const float = (v: number): Attr => ({ float: v });
export const str = (v: string): Attr => ({ str: v });

/** A graph input dimension: a number, or a name for a symbolic (free) dimension. */
export type Dim = number | string;

function attribute(name: string, a: Attr): onnxPkg.onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if ('int' in a) return { name, type: T.INT, i: a.int };
  if ('ints' in a) return { name, type: T.INTS, ints: [...a.ints] };
  if ('float' in a) return { name, type: T.FLOAT, f: a.float };
  return { name, type: T.STRING, s: new TextEncoder().encode(a.str) };
}

function floatType(dims?: readonly Dim[]): onnxPkg.onnx.ITypeProto {
  const tensorType: onnxPkg.onnx.TypeProto.ITensor = { elemType: onnx.TensorProto.DataType.FLOAT };
  if (dims) tensorType.shape = { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) };
  return { tensorType };
}

/** Little-endian bytes of a typed array, without copying (every host Node supports is little-endian). */
function bytesOf(a: Float32Array | BigInt64Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

export class OnnxGraphBuilder {
  private readonly nodes: onnxPkg.onnx.INodeProto[] = [];
  private readonly initializers: onnxPkg.onnx.ITensorProto[] = [];
  private readonly inputs: onnxPkg.onnx.IValueInfoProto[] = [];
  private readonly outputs: onnxPkg.onnx.IValueInfoProto[] = [];
  private readonly outputNames = new Set<string>();
  private readonly initializerNames = new Set<string>();
  private counter = 0;

  /** A fresh value name under `prefix`; '/' never occurs in a timm module path, so no clash with record keys. */
  fresh(prefix: string, what: string): string {
    return `${prefix}/${what}_${this.counter++}`;
  }

  node(opType: string, inputs: readonly string[], outputs: readonly string[], attrs: Record<string, Attr> = {}): void {
    this.nodes.push({
      opType,
      name: `${opType}_${this.nodes.length}`,
      input: [...inputs],
      output: [...outputs],
      attribute: Object.entries(attrs).map(([k, a]) => attribute(k, a)),
    });
  }

  /** A constant (weight, shape, index list). Same-named initializers are added once. */
  initializer(name: string, dims: readonly number[], data: Float32Array | BigInt64Array): string {
    if (this.initializerNames.has(name)) return name;
    this.initializerNames.add(name);
    const T = onnx.TensorProto.DataType;
    this.initializers.push({
      name,
      dims: [...dims],
      dataType: data instanceof Float32Array ? T.FLOAT : T.INT64,
      rawData: bytesOf(data),
    });
    return name;
  }

  int64s(name: string, values: readonly number[]): string {
    return this.initializer(name, [values.length], BigInt64Array.from(values.map((v) => BigInt(v))));
  }

  input(name: string, dims: readonly Dim[]): void {
    this.inputs.push({ name, type: floatType(dims) });
  }

  /** Declares a float graph output; its shape is left to ORT's inference (it varies with the input size). */
  output(name: string): void {
    if (this.outputNames.has(name)) return;
    this.outputNames.add(name);
    this.outputs.push({ name, type: floatType() });
  }

  encode(graphName: string): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: IR_VERSION,
      producerName: 'dla-lens',
      opsetImport: [{ domain: '', version: OPSET }],
      graph: {
        name: graphName,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
    });
    return onnx.ModelProto.encode(model).finish();
  }
}
