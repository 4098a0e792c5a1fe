import * as fs from 'fs';
import * as ort from 'onnxruntime-node';
import onnxPkg from 'onnx-proto';
import type { ModuleNode } from '../dla/moduleTree';
import { FormatError, UsageError } from '../errors';
import { createSession, describeSession, releaseSession, type ProviderSetting } from '../run/session';
import { formatShape, type Tensor } from '../tensor';
import { mapOnnxNames, type OnnxGraphInfo, type OnnxNameMap, type OnnxNodeInfo } from './onnxNames';

const { onnx } = onnxPkg;

/**
 * "Is my ONNX export the same model?": the candidate .onnx is run by onnxruntime with every node
 * output exposed as a graph output, and its tensors are mapped to our record keys (onnxNames.ts),
 * so the comparison walks the same layers as for a checkpoint or a dump. Graph optimizations are
 * off: what runs is what the exporter wrote.
 */

export interface OnnxCandidateRun {
  /** Record key -> value, for every record the export holds. */
  readonly records: Map<string, Tensor>;
  readonly mapping: OnnxNameMap;
  /** The provider that ran it, with failed attempts ("cpu (cuda failed: ...)"). */
  readonly provider: string;
  /** Sentences for the report: how the export was mapped and what could not be compared. */
  readonly notes: string[];
}

export interface ExposedModel {
  /** The model re-encoded with every node output as a graph output. */
  readonly bytes: Uint8Array;
  readonly graph: OnnxGraphInfo;
  /** The data input's dims as declared (a number, or a name / undefined for dynamic ones). */
  readonly inputDims: readonly (number | string | undefined)[];
  /** The default domain's opset. */
  readonly opset: number;
}

type Int64 = number | { toString(): string };
const toNumber = (v: Int64 | null | undefined): number | undefined => (v === null || v === undefined ? undefined : Number(v.toString()));

/** Decodes an ONNX model and appends every node output (outside Constant nodes) to graph.output. */
export function exposeAllOutputs(bytes: Uint8Array, file: string): ExposedModel {
  let model: InstanceType<typeof onnx.ModelProto>;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw new FormatError(file, `The file is not a valid ONNX protobuf: ${(e as Error).message}.`, 0);
  }
  const g = model.graph;
  if (!g || !g.node || g.node.length === 0) throw new FormatError(file, 'The ONNX model has no graph nodes to run.');
  const initializers = new Set((g.initializer ?? []).map((t) => t.name ?? ''));
  const dataInputs = (g.input ?? []).filter((i) => !initializers.has(i.name ?? ''));
  if (dataInputs.length !== 1) {
    throw new UsageError(
      `${file}: expected an ONNX model with one input (the image batch) but it has ${dataInputs.length}` +
        `${dataInputs.length ? ` (${dataInputs.map((i) => `'${i.name}'`).join(', ')})` : ''}.`,
    );
  }
  const input = dataInputs[0];
  const elemType = input.type?.tensorType?.elemType;
  if (elemType !== undefined && elemType !== null && elemType !== 1) {
    throw new UsageError(`${file}: the ONNX model's input '${input.name}' has element type ${elemType}; only float32 (type 1) exports can be compared.`);
  }
  const inputDims = (input.type?.tensorType?.shape?.dim ?? []).map((d) => toNumber(d.dimValue as Int64) || d.dimParam || undefined);
  const outputs = (g.output ?? []).map((o) => o.name ?? '');
  const nodes: OnnxNodeInfo[] = g.node.map((n) => ({
    name: n.name ?? '', opType: n.opType ?? '', inputs: [...(n.input ?? [])], outputs: [...(n.output ?? [])],
  }));
  const exposed = new Set(outputs);
  for (const n of nodes) {
    if (n.opType === 'Constant') continue;
    for (const t of n.outputs) {
      if (!t || exposed.has(t)) continue;
      exposed.add(t);
      // A name without a type: onnxruntime infers it (the onnx checker would object, ORT does not).
      g.output!.push(onnx.ValueInfoProto.create({ name: t }));
    }
  }
  const encoded = onnx.ModelProto.encode(model).finish();
  const opset = Number((model.opsetImport ?? []).find((o) => !o.domain)?.version ?? 0);
  return { bytes: encoded, graph: { nodes, input: input.name ?? '', outputs }, inputDims, opset };
}

function checkInputShape(file: string, dims: readonly (number | string | undefined)[], input: Tensor): void {
  const fixed = dims.length === input.shape.length && dims.every((d, i) => typeof d !== 'number' || d === input.shape[i]);
  if (dims.length === 0 || fixed) return;
  const shown = `[${dims.map((d) => d ?? '?').join(', ')}]`;
  throw new UsageError(
    `${file}: the ONNX model takes an input of shape ${shown} but the comparison input is ${formatShape(input.shape)}. ` +
      'Give an --input of that size, or export with dynamic_axes for the batch, height and width.',
  );
}

function fromOrt(v: ort.Tensor): Tensor | undefined {
  if (v.type !== 'float32') return undefined;
  return { dtype: 'float32', shape: v.dims.map(Number), data: v.data as Float32Array };
}

/** Runs `file` on `input` and returns its records under the reference tree's keys. */
export async function runOnnxCandidate(
  file: string, tree: ModuleNode, input: Tensor, options: { provider?: ProviderSetting } = {},
): Promise<OnnxCandidateRun> {
  const exposed = exposeAllOutputs(new Uint8Array(fs.readFileSync(file)), file);
  checkInputShape(file, exposed.inputDims, input);
  const mapping = mapOnnxNames(tree, exposed.graph);
  const mapped = mapping.records.filter((r) => r.kind !== 'input');
  if (mapped.filter((r) => r.kind !== 'graph-output').length === 0) {
    throw new UsageError(
      `${file}: none of the export's ${exposed.graph.nodes.length} node names carries a module scope of ${tree.name} ` +
        `(first nodes: ${exposed.graph.nodes.slice(0, 3).map((n) => `'${n.name || n.outputs[0]}'`).join(', ')}). ` +
        'Export with torch.onnx.export from PyTorch 1.13 or later, which names nodes after their modules (/level2/tree1/conv1/Conv).',
    );
  }
  // graphOptimizationLevel 'disabled': every node runs as exported, nothing is fused away.
  const session = await createSession(exposed.bytes, { provider: options.provider, graphOptimization: 'disabled' });
  const records = new Map<string, Tensor>();
  try {
    const fetch = [...new Set(mapped.map((r) => r.tensor))];
    const feed = new ort.Tensor('float32', input.data as Float32Array, [...input.shape]);
    const result = await session.session.run({ [exposed.graph.input]: feed }, fetch);
    for (const r of mapping.records) {
      const value = r.kind === 'input' ? input : fromOrt(result[r.tensor] as ort.Tensor);
      if (value) records.set(r.record, value);
    }
  } finally {
    await releaseSession(session);
  }
  return { records, mapping, provider: describeSession(session), notes: describeMapping(mapping) };
}

/** What the report says about an ONNX candidate. */
export function describeMapping(m: OnnxNameMap): string[] {
  const notes = [
    m.fusedBatchNorms.length > 0
      ? 'Weights were not compared: an ONNX export folds each BatchNorm into its convolution and renames the initializers, ' +
        "so its weights are not the checkpoint's. The layers are compared on the outputs of the exported graph."
      : "Weights were not compared: an ONNX export's initializers are named by the exporter, not by module. " +
        'The layers are compared on the outputs of the exported graph.',
  ];
  if (m.fusedBatchNorms.length > 0) {
    notes.push(
      `${m.fusedBatchNorms.length} BatchNorm records are read from the output of the convolution they were folded into ` +
        `(e.g. '${m.fusedBatchNorms[0]}'); those convolutions' own outputs do not exist in the export and are not compared.`,
    );
  }
  if (m.droppedPrefix) notes.push(`The export wraps the model in '${m.droppedPrefix}'; that scope was dropped from the node names.`);
  if (m.unscoped.length > 0) {
    notes.push(`${m.unscoped.length} ONNX nodes sit outside every module of the model and were not compared (e.g. '${m.unscoped[0]}').`);
  }
  return notes;
}
