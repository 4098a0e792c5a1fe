import { formatShape, numel, toFloat32, type Tensor } from '../tensor';
import { foldBatchNorm } from './foldBatchNorm';
import { applying, type GraphVariation } from './graphVariations';
import type { ModuleNode } from './moduleTree';
import { float, int, ints, str, type Attr, type OnnxGraphBuilder } from './onnxBuilder';

/**
 * The ONNX ops of DLA's leaf modules (conv, BN, pools) and of the arithmetic between them (add,
 * concat, split), each returning its value with its shape for the nominal input size, which is how
 * shape errors surface before ORT sees the graph. Without a graph builder nothing is emitted and
 * no weight is read: the dry run that yields record order and shapes.
 */

/** An ONNX value and its shape for the nominal input size (channels are exact, H/W nominal). */
export interface Val {
  readonly name: string;
  readonly shape: readonly number[];
}

export class GraphBuildError extends Error {
  constructor(message: string, readonly key?: string) {
    super(message);
    this.name = 'GraphBuildError';
  }
}

export interface OpsConfig {
  /** Absent: dry run (order, shapes, inputs only; no weights needed). */
  readonly graph?: OnnxGraphBuilder;
  readonly weights?: ReadonlyMap<string, Tensor>;
  /** Expected weight shapes (expectedWeights of the tree), for error messages and checks. */
  readonly expected: ReadonlyMap<string, readonly number[]>;
  readonly variations: readonly GraphVariation[];
}

export const sameShape = (a: readonly number[], b: readonly number[]): boolean =>
  a.length === b.length && a.every((d, i) => d === b[i]);

export class GraphOps {
  constructor(private readonly cfg: OpsConfig) {}

  private op(opType: string, inputs: readonly string[], output: string, attrs: Record<string, Attr> = {}): void {
    this.cfg.graph?.node(opType, inputs, [output], attrs);
  }

  private fresh(prefix: string, what: string): string {
    return this.cfg.graph ? this.cfg.graph.fresh(prefix, what) : `${prefix}/${what}`;
  }

  // ---- weights -------------------------------------------------------------------------------

  private tensor(key: string): Float32Array {
    const expected = this.cfg.expected.get(key);
    const t = this.cfg.weights?.get(key);
    if (!t) {
      throw new GraphBuildError(
        `Weight '${key}' is missing: the graph needs a tensor of shape ${expected ? formatShape(expected) : '(unknown)'} under that name.`, key);
    }
    if (expected && !sameShape(t.shape, expected)) {
      throw new GraphBuildError(`Weight '${key}' has shape ${formatShape(t.shape)}, but shape ${formatShape(expected)} was expected.`, key);
    }
    if (numel(t.shape) !== t.data.length) {
      throw new GraphBuildError(`Weight '${key}' holds ${t.data.length} values for shape ${formatShape(t.shape)}.`, key);
    }
    return toFloat32(t);
  }

  /** An initializer holding weight `key` as is; its name is the weight key. */
  private param(key: string): string {
    if (!this.cfg.graph) return key;
    const data = this.tensor(key);
    return this.cfg.graph.initializer(key, this.cfg.expected.get(key) ?? [data.length], data);
  }

  private paramReshaped(key: string, dims: readonly number[]): string {
    if (!this.cfg.graph) return key;
    return this.cfg.graph.initializer(`${key}:${dims.join('x')}`, dims, this.tensor(key));
  }

  private bnEpsilon(bn: ModuleNode): number {
    return applying(this.cfg.variations, 'bn-epsilon', bn.id)?.epsilon ?? 1e-5;
  }

  // ---- ops ---------------------------------------------------------------------------------------

  private convAttrs(n: ModuleNode): { attrs: Record<string, Attr>; outHW: (h: number) => number } {
    const c = n.conv!;
    const attrs: Record<string, Attr> = {
      kernel_shape: ints([c.kernel, c.kernel]), strides: ints([c.stride, c.stride]), dilations: ints([1, 1]), group: int(c.groups),
    };
    if (c.stride > 1 && applying(this.cfg.variations, 'same-padding', n.id)) {
      // TF 'SAME': ceil(H/s) outputs, the odd padding pixel at the end (bottom/right).
      attrs.auto_pad = str('SAME_UPPER');
      return { attrs, outHW: (h) => Math.ceil(h / c.stride) };
    }
    attrs.pads = ints([c.padding, c.padding, c.padding, c.padding]);
    return { attrs, outHW: (h) => Math.floor((h + 2 * c.padding - c.kernel) / c.stride) + 1 };
  }

  /** Conv2d; with `foldInto` its BatchNorm is folded in and the result is named after the BN record. */
  conv(n: ModuleNode, x: Val, foldInto?: ModuleNode): Val {
    const c = n.conv!;
    if (x.shape[1] !== c.inChannels) {
      throw new GraphBuildError(`Module '${n.id}' expects ${c.inChannels} input channels but receives ${formatShape(x.shape)}.`);
    }
    const { attrs, outHW } = this.convAttrs(n);
    const name = foldInto ? foldInto.id : n.id;
    const out: Val = { name, shape: [x.shape[0], c.outChannels, outHW(x.shape[2]), outHW(x.shape[3])] };
    if (!this.cfg.graph) return out;
    const inputs = [x.name];
    if (foldInto) {
      const b = foldInto.id;
      const folded = foldBatchNorm(this.tensor(`${n.id}.weight`), c.bias ? this.tensor(`${n.id}.bias`) : undefined, {
        weight: this.tensor(`${b}.weight`), bias: this.tensor(`${b}.bias`),
        runningMean: this.tensor(`${b}.running_mean`), runningVar: this.tensor(`${b}.running_var`), epsilon: this.bnEpsilon(foldInto),
      });
      inputs.push(
        this.cfg.graph.initializer(`${n.id}.weight:folded`, this.cfg.expected.get(`${n.id}.weight`)!, folded.weight),
        this.cfg.graph.initializer(`${b}.bias:folded`, [c.outChannels], folded.bias),
      );
    } else {
      inputs.push(this.param(`${n.id}.weight`));
      if (c.bias) inputs.push(this.param(`${n.id}.bias`));
    }
    this.op('Conv', inputs, name, attrs);
    return out;
  }

  batchNorm(n: ModuleNode, x: Val): Val {
    if (x.shape[1] !== n.bnChannels) {
      throw new GraphBuildError(`Module '${n.id}' normalises ${n.bnChannels} channels but receives ${formatShape(x.shape)}.`);
    }
    const out: Val = { name: n.id, shape: x.shape };
    if (!this.cfg.graph) return out;
    const eps = this.bnEpsilon(n);
    if (applying(this.cfg.variations, 'bn-train', n.id)) {
      // Training-mode BN: the batch's own mean and biased variance over N, H, W.
      const c = [1, n.bnChannels!, 1, 1];
      const mean = this.fresh(n.id, 'batch_mean'), d = this.fresh(n.id, 'centred'), sq = this.fresh(n.id, 'sq');
      const variance = this.fresh(n.id, 'batch_var'), ve = this.fresh(n.id, 'var_eps'), sd = this.fresh(n.id, 'std');
      const normed = this.fresh(n.id, 'normed'), scaled = this.fresh(n.id, 'scaled');
      const axes = { axes: ints([0, 2, 3]), keepdims: int(1) };
      this.op('ReduceMean', [x.name], mean, axes);
      this.op('Sub', [x.name, mean], d);
      this.op('Mul', [d, d], sq);
      this.op('ReduceMean', [sq], variance, axes);
      this.op('Add', [variance, this.cfg.graph.initializer(`eps:${eps}`, [], Float32Array.of(eps))], ve);
      this.op('Sqrt', [ve], sd);
      this.op('Div', [d, sd], normed);
      this.op('Mul', [normed, this.paramReshaped(`${n.id}.weight`, c)], scaled);
      this.op('Add', [scaled, this.paramReshaped(`${n.id}.bias`, c)], out.name);
      return out;
    }
    this.op('BatchNormalization', [
      x.name, this.param(`${n.id}.weight`), this.param(`${n.id}.bias`), this.param(`${n.id}.running_mean`), this.param(`${n.id}.running_var`),
    ], out.name, { epsilon: float(eps) });
    return out;
  }

  pool(n: ModuleNode, x: Val): Val {
    const p = n.pool!;
    const [N, C, H, W] = x.shape;
    if (p.kind === 'global-avg') {
      this.op('GlobalAveragePool', [x.name], n.id);
      return { name: n.id, shape: [N, C, 1, 1] };
    }
    const o = (h: number): number => Math.floor((h + 2 * p.padding - p.kernel) / p.stride) + 1;
    const attrs: Record<string, Attr> = {
      kernel_shape: ints([p.kernel, p.kernel]), strides: ints([p.stride, p.stride]), pads: ints([p.padding, p.padding, p.padding, p.padding]),
    };
    if (p.kind === 'avg') {
      // PyTorch's AvgPool2d default counts padded zeros in the divisor; Paddle's exclusive=True does not.
      attrs.count_include_pad = int(applying(this.cfg.variations, 'avgpool-exclude-pad', n.id) ? 0 : 1);
    }
    this.op(p.kind === 'max' ? 'MaxPool' : 'AveragePool', [x.name], n.id, attrs);
    return { name: n.id, shape: [N, C, o(H), o(W)] };
  }

  add(id: string, a: Val, b: Val, what: string): Val {
    if (!sameShape(a.shape, b.shape)) {
      throw new GraphBuildError(
        `At '${id}' the ${what} adds ${formatShape(a.shape)} to ${formatShape(b.shape)}; the input size does not fit this model (timm fails here too).`);
    }
    const name = this.fresh(id, 'add');
    this.op('Add', [a.name, b.name], name);
    return { name, shape: a.shape };
  }

  concat(id: string, parts: readonly Val[]): Val {
    const [N, , H, W] = parts[0].shape;
    for (const p of parts) {
      if (p.shape[2] !== H || p.shape[3] !== W) {
        throw new GraphBuildError(
          `At '${id}' the concatenated inputs have different sizes (${parts.map((q) => formatShape(q.shape)).join(', ')}); the input size does not fit this model.`);
      }
    }
    const name = this.fresh(id, 'cat');
    this.op('Concat', parts.map((p) => p.name), name, { axis: int(1) });
    return { name, shape: [N, parts.reduce((s, p) => s + p.shape[1], 0), H, W] };
  }

  /** Channel chunks of width `width` (torch.split), as `count` values. */
  split(id: string, x: Val, width: number, count: number): Val[] {
    const [N, , H, W] = x.shape;
    const chunks: Val[] = Array.from({ length: count }, (_, i) => ({ name: this.fresh(id, `split${i}`), shape: [N, width, H, W] }));
    if (this.cfg.graph) {
      const sizes = this.cfg.graph.int64s(`split:${width}x${count}`, Array<number>(count).fill(width));
      this.cfg.graph.node('Split', [x.name, sizes], chunks.map((c) => c.name), { axis: int(1) });
    }
    return chunks;
  }

  /** The input with its channels reversed (RGB <-> BGR). */
  reverseChannels(x: Val): Val {
    const name = this.fresh('input', 'bgr');
    const idx = this.cfg.graph ? this.cfg.graph.int64s('bgr:indices', [2, 1, 0]) : 'bgr:indices';
    this.op('Gather', [x.name, idx], name, { axis: int(1) });
    return { name, shape: x.shape };
  }

  relu(name: string, x: Val): Val {
    this.op('Relu', [x.name], name);
    return { name, shape: x.shape };
  }

  flatten(name: string, x: Val): Val {
    this.op('Flatten', [x.name], name, { axis: int(1) });
    return { name, shape: [x.shape[0], numel(x.shape.slice(1))] };
  }
}
