import { type DlaVariant, midPlanes } from './variants';

/**
 * The module tree of a DLA variant, in timm's registration order. Node ids are timm module paths
 * (`level3.tree1.tree2.root.conv`), so the same string names a weight prefix, a tap record, a tree
 * node in the view and a row of a report. Roles say what a node means for IDA/HDA aggregation.
 */

export type ModuleKind =
  | 'DLA' | 'Sequential' | 'DlaTree' | 'DlaRoot' | 'DlaBasic' | 'DlaBottleneck' | 'DlaBottle2neck'
  | 'Conv2d' | 'BatchNorm2d' | 'ReLU' | 'MaxPool2d' | 'AvgPool2d' | 'Identity'
  | 'SelectAdaptivePool2d' | 'AdaptiveAvgPool2d' | 'Dropout' | 'Flatten';

export type Role =
  | 'model'
  | 'stem' // base_layer
  | 'stage' // level0..level5: the IDA spine
  | 'tree' // a DlaTree below a stage (HDA)
  | 'root' // DlaRoot: the HDA aggregation node
  | 'block'
  | 'downsample' | 'project'
  | 'conv' | 'bn' | 'relu' | 'pool'
  | 'head' | 'flatten' | 'dropout' | 'identity';

export interface ConvSpec {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernel: number;
  readonly stride: number;
  readonly padding: number;
  readonly groups: number;
  readonly bias: boolean;
}

export interface PoolSpec {
  readonly kind: 'max' | 'avg' | 'global-avg';
  readonly kernel: number;
  readonly stride: number;
  readonly padding: number;
}

export interface ModuleNode {
  readonly id: string;
  readonly name: string;
  readonly kind: ModuleKind;
  readonly role: Role;
  readonly children: ModuleNode[];
  readonly conv?: ConvSpec;
  /** Conv2d: the id of the BatchNorm2d applied to its output (what folds into it), if any. */
  readonly batchNorm?: string;
  readonly bnChannels?: number;
  readonly pool?: PoolSpec;
  /** How many times forward() calls it; >1 gives the hook keys `id#0..id#(k-1)`. */
  readonly calls: number;
  /** DlaTree facts. */
  readonly tree?: {
    readonly levels: number; readonly inChannels: number; readonly outChannels: number;
    readonly stride: number; readonly levelRoot: boolean; readonly rootDim: number;
  };
  /** DlaRoot: the modules whose outputs it concatenates, in order, with the kind of each edge. */
  readonly rootInputs?: readonly RootInput[];
  readonly rootShortcut?: boolean;
  /** Block facts (stride of its 3x3, channels, res2net split). */
  readonly block?: {
    readonly inChannels: number; readonly outChannels: number; readonly stride: number;
    readonly mid: number; readonly cardinality: number; readonly scale: number;
  };
}

/**
 * An input of an HDA root. 'ida': a level_root tree's stage input (its downsample) aggregated
 * across stages (iterative deep aggregation); 'hda': a subtree's output aggregated within the
 * hierarchy (hierarchical deep aggregation).
 */
export interface RootInput {
  readonly id: string;
  readonly edge: 'ida' | 'hda';
}

const join = (parent: string, name: string): string => (parent ? `${parent}.${name}` : name);

function leaf(parent: string, name: string, kind: ModuleKind, role: Role, extra: Partial<ModuleNode> = {}): ModuleNode {
  return { id: join(parent, name), name, kind, role, children: [], calls: 1, ...extra };
}

/** A Conv2d; `batchNorm` names the BatchNorm2d (a sibling path) that follows it in forward(). */
function conv(parent: string, name: string, spec: Omit<ConvSpec, 'groups' | 'bias' | 'padding'> & Partial<ConvSpec>, batchNorm?: string): ModuleNode {
  const full: ConvSpec = {
    groups: 1, bias: false, padding: Math.floor((spec.kernel - 1) / 2), ...spec,
  };
  return leaf(parent, name, 'Conv2d', 'conv', { conv: full, ...(batchNorm ? { batchNorm: join(parent, batchNorm) } : {}) });
}

const bn = (parent: string, name: string, channels: number): ModuleNode =>
  leaf(parent, name, 'BatchNorm2d', 'bn', { bnChannels: channels });

function node(parent: string, name: string, kind: ModuleKind, role: Role, children: (id: string) => ModuleNode[], extra: Partial<ModuleNode> = {}): ModuleNode {
  const id = join(parent, name);
  return { id, name, kind, role, children: children(id), calls: 1, ...extra };
}

/** base_layer / level0 / level1: Sequential of (3x3 conv, BN, ReLU) x convs; base_layer is one 7x7. */
function convLevel(name: string, inC: number, outC: number, convs: number, stride: number, kernel: number, role: Role): ModuleNode {
  return node('', name, 'Sequential', role, (id) => {
    const kids: ModuleNode[] = [];
    let c = inC;
    for (let i = 0; i < convs; i++) {
      kids.push(conv(id, String(3 * i), { inChannels: c, outChannels: outC, kernel, stride: i === 0 ? stride : 1 }, String(3 * i + 1)));
      kids.push(bn(id, String(3 * i + 1), outC));
      kids.push(leaf(id, String(3 * i + 2), 'ReLU', 'relu'));
      c = outC;
    }
    return kids;
  });
}

function block(v: DlaVariant, parent: string, name: string, inC: number, outC: number, stride: number): ModuleNode {
  const card = v.cardinality;
  if (v.block === 'basic') {
    return node(parent, name, 'DlaBasic', 'block', (id) => [
      conv(id, 'conv1', { inChannels: inC, outChannels: outC, kernel: 3, stride }, 'bn1'),
      bn(id, 'bn1', outC),
      leaf(id, 'relu', 'ReLU', 'relu', { calls: 2 }),
      conv(id, 'conv2', { inChannels: outC, outChannels: outC, kernel: 3, stride: 1 }, 'bn2'),
      bn(id, 'bn2', outC),
    ], { block: { inChannels: inC, outChannels: outC, stride, mid: outC, cardinality: 1, scale: 1 } });
  }
  const mid = midPlanes(v, outC);
  if (v.block === 'bottleneck') {
    return node(parent, name, 'DlaBottleneck', 'block', (id) => [
      conv(id, 'conv1', { inChannels: inC, outChannels: mid, kernel: 1, stride: 1 }, 'bn1'),
      bn(id, 'bn1', mid),
      conv(id, 'conv2', { inChannels: mid, outChannels: mid, kernel: 3, stride, groups: card }, 'bn2'),
      bn(id, 'bn2', mid),
      conv(id, 'conv3', { inChannels: mid, outChannels: outC, kernel: 1, stride: 1 }, 'bn3'),
      bn(id, 'bn3', outC),
      leaf(id, 'relu', 'ReLU', 'relu', { calls: 3 }),
    ], { block: { inChannels: inC, outChannels: outC, stride, mid, cardinality: card, scale: 1 } });
  }
  const scale = v.scale;
  const scaleConvs = Math.max(1, scale - 1);
  return node(parent, name, 'DlaBottle2neck', 'block', (id) => {
    const kids: ModuleNode[] = [
      conv(id, 'conv1', { inChannels: inC, outChannels: mid * scale, kernel: 1, stride: 1 }, 'bn1'),
      bn(id, 'bn1', mid * scale),
      // convs.i is followed by bns.i: a path from the ModuleList `convs` to its sibling `bns`.
      node(id, 'convs', 'Sequential', 'block', (cid) =>
        Array.from({ length: scaleConvs }, (_, i) => ({
          ...conv(cid, String(i), { inChannels: mid, outChannels: mid, kernel: 3, stride, groups: card }),
          batchNorm: join(id, `bns.${i}`),
        }))),
      node(id, 'bns', 'Sequential', 'block', (bid) => Array.from({ length: scaleConvs }, (_, i) => bn(bid, String(i), mid))),
    ];
    if (stride > 1) kids.push(leaf(id, 'pool', 'AvgPool2d', 'pool', { pool: { kind: 'avg', kernel: 3, stride, padding: 1 } }));
    kids.push(
      conv(id, 'conv3', { inChannels: mid * scale, outChannels: outC, kernel: 1, stride: 1 }, 'bn3'),
      bn(id, 'bn3', outC),
      leaf(id, 'relu', 'ReLU', 'relu', { calls: scaleConvs + 2 }),
    );
    return kids;
  }, { block: { inChannels: inC, outChannels: outC, stride, mid, cardinality: card, scale } });
}

interface TreeArgs {
  levels: number; inC: number; outC: number; stride: number; levelRoot: boolean; rootDim: number;
  /** Outputs handed down by ancestors (`children` in timm), before this tree adds its own. */
  inherited: readonly RootInput[];
}

function dlaTree(v: DlaVariant, parent: string, name: string, role: Role, a: TreeArgs): ModuleNode {
  let rootDim = a.rootDim === 0 ? 2 * a.outC : a.rootDim;
  if (a.levelRoot) rootDim += a.inC;
  return node(parent, name, 'DlaTree', role, (id) => {
    const children: RootInput[] = [...a.inherited];
    // A level_root tree's stage input joins its root: the IDA edge across stages.
    if (a.levelRoot) children.push({ id: join(id, 'downsample'), edge: 'ida' });
    const kids: ModuleNode[] = [
      a.stride > 1
        ? leaf(id, 'downsample', 'MaxPool2d', 'downsample', { pool: { kind: 'max', kernel: a.stride, stride: a.stride, padding: 0 } })
        : leaf(id, 'downsample', 'Identity', 'downsample'),
    ];
    if (a.levels === 1 && a.inC !== a.outC) {
      kids.push(node(id, 'project', 'Sequential', 'project', (pid) => [
        conv(pid, '0', { inChannels: a.inC, outChannels: a.outC, kernel: 1, stride: 1 }, '1'),
        bn(pid, '1', a.outC),
      ]));
    } else {
      kids.push(leaf(id, 'project', 'Identity', 'project'));
    }
    if (a.levels === 1) {
      kids.push(block(v, id, 'tree1', a.inC, a.outC, a.stride), block(v, id, 'tree2', a.outC, a.outC, 1));
      kids.push(node(id, 'root', 'DlaRoot', 'root', (rid) => [
        conv(rid, 'conv', { inChannels: rootDim, outChannels: a.outC, kernel: 1, stride: 1 }, 'bn'),
        bn(rid, 'bn', a.outC),
        leaf(rid, 'relu', 'ReLU', 'relu'),
      ], {
        rootInputs: [{ id: join(id, 'tree2'), edge: 'hda' }, { id: join(id, 'tree1'), edge: 'hda' }, ...children],
        rootShortcut: v.shortcutRoot,
      }));
    } else {
      kids.push(dlaTree(v, id, 'tree1', 'tree', { levels: a.levels - 1, inC: a.inC, outC: a.outC, stride: a.stride, levelRoot: false, rootDim: 0, inherited: [] }));
      kids.push(dlaTree(v, id, 'tree2', 'tree', {
        levels: a.levels - 1, inC: a.outC, outC: a.outC, stride: 1, levelRoot: false,
        rootDim: rootDim + a.outC, inherited: [...children, { id: join(id, 'tree1'), edge: 'hda' }],
      }));
    }
    return kids;
  }, { tree: { levels: a.levels, inChannels: a.inC, outChannels: a.outC, stride: a.stride, levelRoot: a.levelRoot, rootDim } });
}

export function buildModuleTree(v: DlaVariant): ModuleNode {
  const ch = v.channels;
  const stages: ModuleNode[] = [
    convLevel('base_layer', 3, ch[0], 1, 1, 7, 'stem'),
    convLevel('level0', ch[0], ch[0], v.levels[0], 1, 3, 'stage'),
    convLevel('level1', ch[0], ch[1], v.levels[1], 2, 3, 'stage'),
  ];
  for (let i = 2; i <= 5; i++) {
    stages.push(dlaTree(v, '', `level${i}`, 'stage', {
      levels: v.levels[i], inC: ch[i - 1], outC: ch[i], stride: 2, levelRoot: i > 2, rootDim: 0, inherited: [],
    }));
  }
  const head: ModuleNode[] = [
    node('', 'global_pool', 'SelectAdaptivePool2d', 'head', (id) => [
      leaf(id, 'pool', 'AdaptiveAvgPool2d', 'pool', { pool: { kind: 'global-avg', kernel: 0, stride: 1, padding: 0 } }),
      leaf(id, 'flatten', 'Identity', 'identity'),
    ]),
    leaf('', 'head_drop', 'Dropout', 'dropout'),
    conv('', 'fc', { inChannels: ch[5], outChannels: v.numClasses, kernel: 1, stride: 1, bias: true }),
    leaf('', 'flatten', 'Flatten', 'flatten'),
  ];
  return { id: '', name: v.name, kind: 'DLA', role: 'model', children: [...stages, ...head], calls: 1 };
}

/** Depth-first, registration order (the order of a state dict). */
export function* walk(n: ModuleNode): Generator<ModuleNode> {
  yield n;
  for (const c of n.children) yield* walk(c);
}

export function findNode(root: ModuleNode, id: string): ModuleNode | undefined {
  for (const n of walk(root)) if (n.id === id) return n;
  return undefined;
}

/**
 * The weights timm's state_dict holds for this variant, in state_dict order, with shapes.
 * Conv: weight [O, I/groups, k, k] (+ bias); BN: weight, bias, running_mean, running_var [C],
 * num_batches_tracked [] (int64).
 */
export function expectedWeights(root: ModuleNode): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const n of walk(root)) {
    if (n.conv) {
      const c = n.conv;
      out.set(`${n.id}.weight`, [c.outChannels, c.inChannels / c.groups, c.kernel, c.kernel]);
      if (c.bias) out.set(`${n.id}.bias`, [c.outChannels]);
    } else if (n.bnChannels !== undefined) {
      for (const p of ['weight', 'bias', 'running_mean', 'running_var']) out.set(`${n.id}.${p}`, [n.bnChannels]);
      out.set(`${n.id}.num_batches_tracked`, []);
    }
  }
  return out;
}
