/**
 * The DLA module tree as pages draw it (the comparison view, the checkpoint editor): timm module
 * paths as ids, and the architecture facts the drawing needs as data (a root's inputs with the
 * kind of each aggregation edge), never re-derived from name patterns. Imports nothing of the host.
 */
import { ProtocolError, arr, bool, int, obj, oneOf, str } from './validate';

export interface ViewRootInput {
  readonly id: string;
  /** 'ida': a level_root tree's stage input (across stages); 'hda': a subtree's output (within the hierarchy). */
  readonly edge: 'ida' | 'hda';
}

/** A module of the DLA tree; `id` is the timm module path ('' for the model). */
export interface ViewModule {
  readonly id: string;
  readonly name: string;
  readonly kind: string;
  readonly role: string;
  readonly calls: number;
  readonly children: readonly ViewModule[];
  /** DlaRoot: the modules whose outputs it concatenates, in order. */
  readonly rootInputs?: readonly ViewRootInput[];
  /** DlaTree: whether it is a level_root (aggregates its stage input). */
  readonly levelRoot?: boolean;
}

const MAX_TREE_DEPTH = 64;

export function checkModule(v: unknown, where: string, depth = 0): void {
  if (depth > MAX_TREE_DEPTH) throw new ProtocolError(`Malformed message ${where}: module tree deeper than ${MAX_TREE_DEPTH} levels.`);
  const o = obj(v, where);
  str(o, 'id', where);
  str(o, 'name', where);
  str(o, 'kind', where);
  str(o, 'role', where);
  int(o, 'calls', where);
  if (o.rootInputs !== undefined) {
    arr(o, 'rootInputs', where).forEach((r, i) => {
      const w = `${where}.rootInputs[${i}]`;
      const ro = obj(r, w);
      str(ro, 'id', w);
      oneOf(ro, 'edge', ['ida', 'hda'] as const, w);
    });
  }
  if (o.levelRoot !== undefined) bool(o, 'levelRoot', where);
  arr(o, 'children', where).forEach((c, i) => checkModule(c, `${where}.children[${i}]`, depth + 1));
}
