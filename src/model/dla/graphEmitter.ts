import { applying } from './graphVariations';
import { GraphBuildError, GraphOps, type OpsConfig, type Val } from './graphOps';
import type { ModuleNode } from './moduleTree';

/**
 * Walks a DLA module tree and emits ONNX nodes per module kind, following timm's forward() for
 * each kind. The same walk, without a graph builder ("dry"), yields the hook-firing order of the
 * records, their shapes for a given input size, and which records feed each module.
 *
 * Value naming: the op that produces a record's value names its output after the record key
 * (`level2.tree1.conv1`), so a tap is usually the value itself; records that share a value with an
 * earlier one (a block and its last ReLU, a stage and its root) get an Identity when exposed.
 */

export { GraphBuildError, type Val } from './graphOps';

export interface RecordEntry {
  readonly key: string;
  /** Absent when the value was folded away (a conv whose BN was folded into it). */
  readonly val?: Val;
}

export interface EmitterConfig extends OpsConfig {
  /** Fold eval-mode BatchNorm into the preceding conv where the conv's record is not wanted. */
  readonly fold: boolean;
  readonly isTapped: (key: string) => boolean;
}

const BLOCK_KINDS = new Set(['DlaBasic', 'DlaBottleneck', 'DlaBottle2neck']);
const PASS_THROUGH = new Set(['Identity', 'Dropout']);

/** The modules timm's reference dump hooked: leaves, trees, roots, blocks, the stem and the stages. */
export function isRecorded(n: ModuleNode): boolean {
  return n.children.length === 0 || n.kind === 'DlaTree' || n.kind === 'DlaRoot' || BLOCK_KINDS.has(n.kind) ||
    n.role === 'stem' || n.role === 'stage';
}

const child = (n: ModuleNode, name: string): ModuleNode => {
  const c = n.children.find((k) => k.name === name);
  if (!c) throw new GraphBuildError(`Module '${n.id}' (${n.kind}) has no child '${name}'; the module tree is malformed.`);
  return c;
};

/** The BatchNorm2d that follows `conv` (the tree says which: conv1 -> bn1, convs.i -> bns.i, N -> N+1), among `scope`'s descendants. */
function batchNormOf(scope: ModuleNode, conv: ModuleNode): ModuleNode {
  const find = (n: ModuleNode): ModuleNode | undefined => (n.id === conv.batchNorm ? n : n.children.map(find).find(Boolean));
  const bn = conv.batchNorm ? find(scope) : undefined;
  if (!bn) throw new GraphBuildError(`Convolution '${conv.id}' has no BatchNorm inside '${scope.id}'; the module tree is malformed.`);
  return bn;
}

export class GraphEmitter {
  readonly records: RecordEntry[] = [];
  /** Record keys of the values each emitted module received, in argument order. */
  readonly inputsOf = new Map<string, (string | undefined)[]>();
  private readonly keyOfValue = new Map<string, string>();
  private readonly calls = new Map<string, number>();
  private readonly ops: GraphOps;

  constructor(private readonly cfg: EmitterConfig) {
    this.ops = new GraphOps(cfg);
  }

  /**
   * Names a value as a record. For `inputsOf` the latest record holding a value names it (`level2`
   * rather than `level2.root.relu`): the outermost module's record is the one sparse dumps keep.
   * Pass-through modules (`rename` false) never rename: a port may have no Identity at all.
   */
  private record(key: string, v: Val | undefined, rename = true): Val | undefined {
    this.records.push({ key, val: v });
    if (v && rename) this.keyOfValue.set(v.name, key);
    return v;
  }

  /**
   * Declares a graph input as the record `key`: `asRecord` lists it among the records (the model's
   * `input`); otherwise it only names the value (a sub-graph fed an earlier record).
   */
  adopt(key: string, v: Val, asRecord: boolean): void {
    if (asRecord) this.record(key, v);
    else this.keyOfValue.set(v.name, key);
  }

  /**
   * Emits module `n` from its input values and returns its output. Inputs per kind: most take [x];
   * a block [x, shortcut?]; a root the values it concatenates; a DlaTree [x, ...children]; the
   * model [input].
   */
  emit(n: ModuleNode, inputs: readonly Val[]): Val {
    if (!this.inputsOf.has(n.id)) this.inputsOf.set(n.id, inputs.map((v) => this.keyOfValue.get(v.name)));
    const x = inputs[0];
    let out: Val;
    switch (n.kind) {
      case 'DLA': out = this.model(n, x); break;
      case 'Sequential': case 'SelectAdaptivePool2d': out = this.sequence(n.children, x); break;
      case 'DlaTree': out = this.tree(n, x, inputs.slice(1)); break;
      case 'DlaRoot': out = this.root(n, inputs); break;
      case 'DlaBasic': case 'DlaBottleneck': out = this.block(n, x, inputs[1]); break;
      case 'DlaBottle2neck': out = this.bottle2neck(n, x, inputs[1]); break;
      // A shared ReLU records itself per call (`relu#k`).
      case 'ReLU': return this.relu(n, x);
      case 'Conv2d': out = this.ops.conv(n, x); break;
      case 'BatchNorm2d': out = this.ops.batchNorm(n, x); break;
      case 'MaxPool2d': case 'AvgPool2d': case 'AdaptiveAvgPool2d': out = this.ops.pool(n, x); break;
      // Identity and Dropout(p=0) pass the value through; exposing it adds the copy.
      case 'Identity': case 'Dropout': out = x; break;
      case 'Flatten': out = this.ops.flatten(n.id, x); break;
      default: throw new GraphBuildError(`Module '${n.id}' has kind ${n.kind}, which this graph builder cannot emit.`);
    }
    if (isRecorded(n)) this.record(n.id, out, !PASS_THROUGH.has(n.kind));
    return out;
  }

  /** A call of a (possibly shared) ReLU module; `dropped` leaves the value unchanged (a porting bug). */
  private relu(n: ModuleNode, x: Val, dropped = false): Val {
    const k = this.calls.get(n.id) ?? 0;
    this.calls.set(n.id, k + 1);
    const key = n.calls > 1 ? `${n.id}#${k}` : n.id;
    return this.record(key, dropped ? x : this.ops.relu(key, x))!;
  }

  private dropsRelu(n: ModuleNode): boolean {
    return applying(this.cfg.variations, 'drop-relu', n.id) !== undefined;
  }

  /** Children in order; a Conv2d directly followed by its BatchNorm2d may be folded into one Conv. */
  private sequence(children: readonly ModuleNode[], x: Val): Val {
    for (let i = 0; i < children.length; i++) {
      const c = children[i];
      const next = children[i + 1];
      if (c.kind === 'Conv2d' && next !== undefined && next.id === c.batchNorm) {
        x = this.convBn(c, next, x);
        i++;
      } else {
        x = this.emit(c, [x]);
      }
    }
    return x;
  }

  /** conv then BN, both recorded; folded when allowed (conv record not wanted, BN in eval mode). */
  private convBn(conv: ModuleNode, bn: ModuleNode, x: Val): Val {
    const fold = this.cfg.fold && !this.cfg.isTapped(conv.id) && !applying(this.cfg.variations, 'bn-train', bn.id);
    if (!fold) return this.emit(bn, [this.emit(conv, [x])]);
    this.inputsOf.set(conv.id, [this.keyOfValue.get(x.name)]);
    const y = this.ops.conv(conv, x, bn);
    this.record(conv.id, undefined);
    this.inputsOf.set(bn.id, [undefined]);
    return this.record(bn.id, y)!;
  }

  private model(n: ModuleNode, input: Val): Val {
    let x = this.cfg.variations.some((v) => v.kind === 'bgr-input') ? this.ops.reverseChannels(input) : input;
    for (const c of n.children) x = this.emit(c, [x]);
    return this.record('logits', x)!;
  }

  private tree(n: ModuleNode, x: Val, inherited: readonly Val[]): Val {
    const t = n.tree!;
    const bottom = this.emit(child(n, 'downsample'), [x]);
    const shortcut = this.emit(child(n, 'project'), [bottom]);
    const children = [...inherited];
    if (t.levelRoot) children.push(bottom);
    if (t.levels === 1) {
      // Only a block uses the projected shortcut; timm passes it to a sub-tree too, which ignores it.
      const x1 = this.emit(child(n, 'tree1'), [x, shortcut]);
      const x2 = this.emit(child(n, 'tree2'), [x1]);
      return this.emit(child(n, 'root'), [x2, x1, ...children]);
    }
    const x1 = this.emit(child(n, 'tree1'), [x]);
    children.push(x1);
    return this.emit(child(n, 'tree2'), [x1, ...children]);
  }

  private root(n: ModuleNode, parts: readonly Val[]): Val {
    const conv = child(n, 'conv');
    let x = this.convBn(conv, batchNormOf(n, conv), this.ops.concat(n.id, parts));
    if (n.rootShortcut) x = this.ops.add(n.id, x, parts[0], 'root shortcut');
    return this.relu(child(n, 'relu'), x, this.dropsRelu(n));
  }

  /** DlaBasic and DlaBottleneck: conv/bn/relu pairs, the last BN before the residual add. */
  private block(n: ModuleNode, x: Val, shortcut: Val | undefined): Val {
    const relu = child(n, 'relu');
    const convs = n.children.filter((c) => c.kind === 'Conv2d');
    let y = x;
    convs.forEach((c, i) => {
      y = this.convBn(c, batchNormOf(n, c), y);
      if (i < convs.length - 1) y = this.relu(relu, y);
    });
    y = this.ops.add(n.id, y, shortcut ?? x, 'residual');
    return this.relu(relu, y, this.dropsRelu(n));
  }

  /** Res2Net block: split conv1's output into `scale` chunks, a hierarchy of 3x3 convs, concat. */
  private bottle2neck(n: ModuleNode, x: Val, shortcut: Val | undefined): Val {
    const b = n.block!;
    const relu = child(n, 'relu');
    const first = b.stride > 1;
    const conv1 = child(n, 'conv1');
    const y = this.relu(relu, this.convBn(conv1, batchNormOf(n, conv1), x));
    const chunks = this.ops.split(n.id, y, b.mid, b.scale);
    const convs = child(n, 'convs').children;
    const outs: Val[] = [];
    let sp: Val | undefined;
    convs.forEach((c, i) => {
      sp = i === 0 || first ? chunks[i] : this.ops.add(n.id, sp!, chunks[i], 'scale branch');
      sp = this.relu(relu, this.convBn(c, batchNormOf(n, c), sp));
      outs.push(sp);
    });
    if (b.scale > 1) outs.push(first ? this.emit(child(n, 'pool'), [chunks[b.scale - 1]]) : chunks[b.scale - 1]);
    const conv3 = child(n, 'conv3');
    const z = this.ops.add(n.id, this.convBn(conv3, batchNormOf(n, conv3), this.ops.concat(n.id, outs)), shortcut ?? x, 'residual');
    return this.relu(relu, z, this.dropsRelu(n));
  }
}
