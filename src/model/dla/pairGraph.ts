import onnxPkg from 'onnx-proto';
import { partName } from './mergeGraphs';

const { onnx } = onnxPkg;

/**
 * Both sides of a comparison in ONE onnxruntime graph, every record pair reduced in-graph to the
 * sufficient statistics of the comparison's metrics, so that only O(records) numbers per image
 * leave onnxruntime instead of every activation (157 MB per side and image for dla60 at 224²).
 *
 * The two models (our tap graph of each checkpoint, or our tap graph and an ONNX export with every
 * node output exposed) are placed side by side as in mergeGraphs.ts (values prefixed `r/` and
 * `c/`), both fed the one graph input `input`. For each record pair (R from the reference, C from
 * the candidate, D = R - C) the graph computes, per image of the batch, the columns of PAIR_STAT.
 * Each reduction reads a value right after it is produced, and ORT frees the value after its last
 * reduction, so memory holds about one batch of live activations, not the records.
 *
 * Precision. Maxima and minima are exact. D is float32's R - C, exact whenever R and C are within
 * a factor 2 of each other (Sterbenz), else within 2^-24 relative. Sums are taken in two levels
 * (float32 along the last axis, then float64; see Reductions.sum), and images add up in float64.
 * The cosine is taken from sums of D, never from a float32 dot product of R and C, whose rounding
 * would swamp 1 - cosine: with S = sum R², P = sum R·D, Q = sum D², sum C² = S - 2P + Q and
 * sum R·C = S - P, so cos = (S - P) / sqrt(S (S - 2P + Q)) loses nothing to cancellation.
 *
 * Identical computation is done once (`share`): a candidate node whose op, attributes and inputs
 * (same-named weights with equal bytes count as the same input) are those of a reference node is
 * that node. Two checkpoints that agree up to some layer run that prefix once, and a record whose
 * two values are one value gets the reference's statistics only (its difference is exactly 0).
 *
 * Knows no runtime: it writes bytes; src/model/compare runs them.
 */

/** Columns of a `pair` block (two values), per image. */
export const PAIR_STAT = {
  /** sum |D|, sum D², sum R·D. */
  sumAbsD: 0, sumD2: 1, sumRD: 2,
  /** The reference's sum R², sum R; sum D (the candidate's sum is sum R - sum D). */
  sumR2: 3, sumR: 4, sumD: 5,
  /** min and max of D, R and C: max |R - C| = max(maxD, -minD). */
  minD: 6, minR: 7, minC: 8, maxD: 9, maxR: 10, maxC: 11,
  /** Only with `allcloseRtol`: max(|D| - rtol·|R|), the allclose verdict at any atol for that rtol. */
  excess: 12,
} as const;
export const PAIR_COLUMNS = 12;

/** Columns of a `same` block (both sides are one value: D = 0): the reference's figures. */
export const SAME_STAT = { sumR2: 0, sumR: 1, minR: 2, maxR: 3 } as const;
export const SAME_COLUMNS = 4;

export interface PairSide {
  /** An encoded ModelProto. */
  readonly bytes: Uint8Array;
  /** Its data input (fed the comparison's input). */
  readonly input: string;
  /** Record key -> the value holding it in this model (a node output, or the data input). */
  readonly records: ReadonlyMap<string, string>;
}

export interface PairRecord {
  readonly key: string;
  /** Rank of the reference's value (4 for NCHW activations, 2 for logits). */
  readonly rank: number;
  /** The candidate's value has the reference's element count in another shape: reshape it to the reference's. */
  readonly reshapeCandidate?: boolean;
}

export interface PairGraphOptions {
  /** The input's fixed height and width (symbolic spatial sizes made ORT's session creation 5x slower, measured). */
  readonly height: number;
  readonly width: number;
  /** Also compute max(|D| - rtol·|R|) for this rtol (an allclose report's own rule). */
  readonly allcloseRtol?: number;
  /** Compute what the two sides share once (see above); default true. */
  readonly share?: boolean;
}

export interface PairBlock {
  /** The graph output holding this record's statistics, float64 [N, columns]. */
  readonly output: string;
  readonly kind: 'pair' | 'same';
}

export interface PairGraph {
  readonly bytes: Uint8Array;
  /** The one graph input, [N, 3, height, width]. */
  readonly input: string;
  /** Graph outputs: one per distinct value pair. */
  readonly outputs: readonly string[];
  /** Record key -> its block (records that hold the same value pair share one). */
  readonly blocks: ReadonlyMap<string, PairBlock>;
  /** Columns of a pair block (PAIR_COLUMNS, +1 with allcloseRtol). */
  readonly pairColumns: number;
  /** Candidate nodes computed once with the reference's (0 without sharing), of all candidate nodes. */
  readonly shared: { readonly nodes: number; readonly of: number };
}

type Node = onnxPkg.onnx.INodeProto;
type Attr = onnxPkg.onnx.IAttributeProto;
type Initializer = onnxPkg.onnx.ITensorProto;
const A = onnx.AttributeProto.AttributeType;
const T = onnx.TensorProto.DataType;

const intsAttr = (name: string, v: readonly number[]): Attr => ({ name, type: A.INTS, ints: [...v] });
const intAttr = (name: string, v: number): Attr => ({ name, type: A.INT, i: v });

/** The reduction nodes. Opset 18 moved every reduction's axes from an attribute to an input. */
class Reductions {
  private readonly blocks: Node[][] = [];
  private current: Node[] = [];
  readonly initializers: Initializer[] = [];
  private counter = 0;
  private readonly constants = new Set<string>();

  constructor(private readonly opset: number) {}

  node(opType: string, inputs: readonly string[], attrs: Attr[] = [], output?: string): string {
    const out = output ?? `p/${opType}_${this.counter++}`;
    this.current.push({ opType, name: `p/${opType}_${this.counter++}`, input: [...inputs], output: [out], attribute: attrs });
    return out;
  }

  /** Starts the nodes of the next record's block. */
  block(): void {
    this.current = [];
    this.blocks.push(this.current);
  }

  /**
   * The blocks, last record's first. ORT orders the nodes by a depth-first walk up from the nodes
   * whose outputs nothing consumes, taking the one listed last first (Graph::ReverseDFSFrom): with
   * the first record's block listed last, the walk computes both models up to the first record and
   * reduces it, then goes on to the second, and so on, so each pair is reduced while it is in
   * cache and no value waits for the other model. In record order, ORT computed both whole models
   * first and held every record until the end (dla60 at 224², batch 4: 1.8 GB more, measured).
   */
  inReverse(): Node[] {
    return this.blocks.slice().reverse().flat();
  }

  private constant(name: string, dims: number[], dataType: number, bytes: Uint8Array): string {
    if (!this.constants.has(name)) {
      this.constants.add(name);
      this.initializers.push({ name, dims, dataType, rawData: bytes });
    }
    return name;
  }

  int64s(values: readonly number[]): string {
    return this.constant(`p/i64:${values.join(',')}`, [values.length], T.INT64, new Uint8Array(BigInt64Array.from(values.map(BigInt)).buffer));
  }

  float(value: number): string {
    return this.constant(`p/f32:${value}`, [], T.FLOAT, new Uint8Array(Float32Array.of(value).buffer));
  }

  private reduceOver(op: string, x: string, axes: readonly number[], keepdims: 0 | 1): string {
    const asInput = op === 'ReduceSum' || this.opset >= 18;
    return asInput
      ? this.node(op, [x, this.int64s(axes)], [intAttr('keepdims', keepdims)])
      : this.node(op, [x], [intsAttr('axes', axes), intAttr('keepdims', keepdims)]);
  }

  private double(x: string): string {
    return this.node('Cast', [x], [intAttr('to', T.DOUBLE)]);
  }

  /**
   * One record's statistics as one float64 [N, columns] block, columns in the order given within
   * each kind, the kinds in the order sum, min, max. Each statistic is first reduced along the last
   * axis, in float32 (ORT spreads a reduction over its threads by the values it keeps: one over
   * every axis but the batch ran on one thread for a batch of one); the partials of a kind are then
   * concatenated, reduced over the rest and cast, sums in float64. A sum is so within W * 2^-24 of
   * the sum of its terms' magnitudes (W = the last axis, at most 224 here); one float32 reduction
   * over a whole record (400K terms) erred by 1.2e-4 relative, measured. A rank-2 record (the
   * logits) is small: cast whole and reduced in float64. Grouping the partials keeps the node
   * count down, which is what ORT's session creation time follows.
   */
  stats(list: readonly { readonly op: StatOp; readonly x: string }[], rank: number, output: string): void {
    const kinds: { second: 'ReduceSum' | 'ReduceMin' | 'ReduceMax'; ops: readonly StatOp[] }[] = [
      { second: 'ReduceSum', ops: ['ReduceSum', 'ReduceSumSquare', 'ReduceL1'] },
      { second: 'ReduceMin', ops: ['ReduceMin'] },
      { second: 'ReduceMax', ops: ['ReduceMax'] },
    ];
    const groups: string[] = [];
    for (const kind of kinds) {
      const items = list.filter((s) => kind.ops.includes(s.op));
      if (items.length === 0) continue;
      const partials = items.map((s) => this.reduceOver(s.op, rank <= 2 ? this.double(s.x) : s.x, [rank - 1], 1));
      const rows = this.node('Reshape', [partials.length === 1 ? partials[0] : this.node('Concat', partials, [intAttr('axis', 1)]), this.int64s([0, items.length, -1])]);
      const reduced = kind.second === 'ReduceSum'
        ? this.reduceOver('ReduceSum', rank <= 2 ? rows : this.double(rows), [2], 0)
        : rank <= 2 ? this.reduceOver(kind.second, rows, [2], 0) : this.double(this.reduceOver(kind.second, rows, [2], 0));
      groups.push(reduced);
    }
    this.node('Concat', groups, [intAttr('axis', 1)], output);
  }
}

type StatOp = 'ReduceSum' | 'ReduceSumSquare' | 'ReduceL1' | 'ReduceMax' | 'ReduceMin';

interface Placed {
  readonly nodes: readonly Node[];
  readonly initializers: readonly Initializer[];
  /** A side's value name -> its name in the pair graph. */
  readonly name: (value: string) => string;
}

/** Decodes a side, renaming every value `<prefix>/<name>` and its data input to `input`. */
function place(side: PairSide, prefix: string, input: string, alias?: ReadonlyMap<string, string>): Placed {
  const model = onnx.ModelProto.decode(side.bytes);
  const g = model.graph!;
  const name = (n: string): string => (n === '' ? n : n === side.input ? input : alias?.get(n) ?? partName(prefix, n));
  return {
    name,
    nodes: (g.node ?? []).map((n) => ({ ...n, name: n.name ? partName(prefix, n.name) : n.name, input: (n.input ?? []).map(name), output: (n.output ?? []).map(name) })),
    initializers: (g.initializer ?? []).filter((t) => !alias?.has(t.name ?? '')).map((t) => ({ ...t, name: name(t.name ?? '') })),
  };
}

const sameBytes = (a: Initializer, b: Initializer): boolean => {
  const x = a.rawData, y = b.rawData;
  return !!x && !!y && a.dataType === b.dataType && JSON.stringify(a.dims) === JSON.stringify(b.dims) &&
    x.length === y.length && Buffer.compare(Buffer.from(x.buffer, x.byteOffset, x.length), Buffer.from(y.buffer, y.byteOffset, y.length)) === 0;
};

const nodeKey = (n: Node, inputs: readonly string[]): string =>
  `${n.domain ?? ''}|${n.opType}|${JSON.stringify(n.attribute ?? [])}|${inputs.join('\u0000')}`;

/**
 * The candidate's nodes less those the reference computes already (value numbering across the
 * two graphs, in the candidate's topological order), and the renames of their outputs.
 */
function shareWithReference(reference: Placed, candidate: Placed): { nodes: Node[]; alias: Map<string, string>; canonical: Map<string, string> } {
  // The reference's own repeats first (timm computes a tree's downsample twice, in the tree and in
  // its first child): each value is named by the first node that computes it.
  const byKey = new Map<string, readonly string[]>();
  const canonical = new Map<string, string>();
  const canon = (v: string): string => canonical.get(v) ?? v;
  for (const n of reference.nodes) {
    const key = nodeKey(n, (n.input ?? []).map(canon));
    const first = byKey.get(key);
    if (first && first.length === (n.output ?? []).length) (n.output ?? []).forEach((o, i) => canonical.set(o, first[i]));
    else byKey.set(key, n.output ?? []);
  }
  const alias = new Map<string, string>();
  const nodes: Node[] = [];
  for (const n of candidate.nodes) {
    const inputs = (n.input ?? []).map((i) => alias.get(i) ?? i);
    const same = byKey.get(nodeKey(n, inputs));
    const outputs = n.output ?? [];
    if (same && same.length === outputs.length) outputs.forEach((o, i) => alias.set(o, same[i]));
    else nodes.push({ ...n, input: inputs });
  }
  return { nodes, alias, canonical };
}

/** The pair graph of `records` (keys both sides hold, in the order their statistics are wanted). */
export function buildPairGraph(reference: PairSide, candidate: PairSide, records: readonly PairRecord[], options: PairGraphOptions): PairGraph {
  const INPUT = 'input';
  const refModel = onnx.ModelProto.decode(reference.bytes);
  const candModel = onnx.ModelProto.decode(candidate.bytes);
  const opsetOf = (m: onnxPkg.onnx.ModelProto): number => Number((m.opsetImport ?? []).find((o) => !o.domain)?.version ?? 17);
  // Our graphs are opset 17; an export keeps its own opset (ops read under another opset may mean something else).
  const opset = Math.max(opsetOf(refModel), opsetOf(candModel));

  const share = options.share !== false;
  // Same-named weights with equal bytes are one initializer (the reference's).
  const initAlias = new Map<string, string>();
  if (share) {
    const refInits = new Map((refModel.graph?.initializer ?? []).map((t) => [t.name ?? '', t]));
    for (const t of candModel.graph?.initializer ?? []) {
      const r = refInits.get(t.name ?? '');
      if (r && sameBytes(r, t)) initAlias.set(t.name!, partName('r', t.name!));
    }
  }
  const r = place(reference, 'r', INPUT);
  const c = place(candidate, 'c', INPUT, initAlias);
  const sharing = share ? shareWithReference(r, c) : { nodes: c.nodes, alias: new Map<string, string>(), canonical: new Map<string, string>() };
  const candName = (v: string): string => { const n = c.name(v); return sharing.alias.get(n) ?? n; };

  const b = new Reductions(opset);
  const blocks = new Map<string, PairBlock>();
  const outputs: string[] = [];
  const computed = new Map<string, PairBlock>();
  const rtol = options.allcloseRtol;
  for (const rec of records) {
    const rv = reference.records.get(rec.key);
    const cv = candidate.records.get(rec.key);
    if (rv === undefined || cv === undefined) throw new Error(`buildPairGraph: record '${rec.key}' is not held by both sides.`);
    const R = ((v) => sharing.canonical.get(v) ?? v)(r.name(rv));
    let C = candName(cv);
    const pair = `${R}\u0000${C}`;
    let block = computed.get(pair);
    if (!block) {
      b.block();
      const n = rec.rank;
      const output = `stats:${rec.key}`;
      if (R === C) {
        b.stats([{ op: 'ReduceSumSquare', x: R }, { op: 'ReduceSum', x: R }, { op: 'ReduceMin', x: R }, { op: 'ReduceMax', x: R }], n, output);
      } else {
        if (rec.reshapeCandidate) C = b.node('Reshape', [C, b.node('Shape', [R])]);
        const D = b.node('Sub', [R, C]);
        const list: { op: StatOp; x: string }[] = [
          { op: 'ReduceL1', x: D }, { op: 'ReduceSumSquare', x: D }, { op: 'ReduceSum', x: b.node('Mul', [R, D]) },
          { op: 'ReduceSumSquare', x: R }, { op: 'ReduceSum', x: R }, { op: 'ReduceSum', x: D },
          { op: 'ReduceMin', x: D }, { op: 'ReduceMin', x: R }, { op: 'ReduceMin', x: C },
          { op: 'ReduceMax', x: D }, { op: 'ReduceMax', x: R }, { op: 'ReduceMax', x: C },
        ];
        if (rtol !== undefined) list.push({ op: 'ReduceMax', x: b.node('Sub', [b.node('Abs', [D]), b.node('Mul', [b.node('Abs', [R]), b.float(rtol)])]) });
        // [N, columns]. One output per value pair: a single Concat of every block made ORT's session
        // creation quadratic (7 s for dla60, measured).
        b.stats(list, n, output);
      }
      block = { output, kind: R === C ? 'same' : 'pair' };
      computed.set(pair, block);
      outputs.push(output);
    }
    blocks.set(rec.key, block);
  }

  const graph: onnxPkg.onnx.IGraphProto = {
    name: 'pair',
    node: [...r.nodes, ...sharing.nodes, ...b.inReverse()],
    initializer: [...r.initializers, ...c.initializers, ...b.initializers],
    input: [{
      name: INPUT,
      type: { tensorType: { elemType: T.FLOAT, shape: { dim: [{ dimParam: 'N' }, { dimValue: 3 }, { dimValue: options.height }, { dimValue: options.width }] } } },
    }],
    output: outputs.map((name) => ({ name, type: { tensorType: { elemType: T.DOUBLE } } })),
  };
  const bytes = onnx.ModelProto.encode({
    irVersion: Math.max(Number(refModel.irVersion ?? 8), Number(candModel.irVersion ?? 8)),
    producerName: 'dla-lens', opsetImport: [{ domain: '', version: opset }], graph,
  }).finish();
  return {
    bytes, input: INPUT, outputs, blocks, pairColumns: PAIR_COLUMNS + (rtol !== undefined ? 1 : 0),
    shared: { nodes: c.nodes.length - sharing.nodes.length, of: c.nodes.length },
  };
}
