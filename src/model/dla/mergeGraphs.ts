import onnxPkg from 'onnx-proto';

const { onnx } = onnxPkg;

/**
 * Several independent ONNX models as one: every value of part i is renamed `<prefix_i>/<name>`, so
 * a comparison can re-run dozens of modules (one per block, root, tree) in one session and one run
 * instead of paying session creation dozens of times. Parts must share opset and IR version (they
 * come from the same builder).
 */
export interface GraphPart {
  readonly prefix: string;
  readonly bytes: Uint8Array;
}

export const partName = (prefix: string, name: string): string => `${prefix}/${name}`;

export function mergeModels(parts: readonly GraphPart[]): Uint8Array {
  if (parts.length === 0) throw new Error('mergeModels: no parts to merge.');
  const models = parts.map((p) => onnx.ModelProto.decode(p.bytes));
  const graph: onnxPkg.onnx.IGraphProto = { name: 'merged', node: [], initializer: [], input: [], output: [], valueInfo: [] };
  models.forEach((m, i) => {
    const g = m.graph!;
    const rename = (n: string): string => (n === '' ? n : partName(parts[i].prefix, n)); // '' = an omitted optional input
    for (const node of g.node ?? []) {
      graph.node!.push({ ...node, name: node.name ? rename(node.name) : node.name, input: (node.input ?? []).map(rename), output: (node.output ?? []).map(rename) });
    }
    for (const t of g.initializer ?? []) graph.initializer!.push({ ...t, name: rename(t.name ?? '') });
    for (const v of g.input ?? []) graph.input!.push({ ...v, name: rename(v.name ?? '') });
    for (const v of g.output ?? []) graph.output!.push({ ...v, name: rename(v.name ?? '') });
    for (const v of g.valueInfo ?? []) graph.valueInfo!.push({ ...v, name: rename(v.name ?? '') });
  });
  const first = models[0];
  return onnx.ModelProto.encode({ irVersion: first.irVersion, opsetImport: first.opsetImport, producerName: first.producerName, graph }).finish();
}
