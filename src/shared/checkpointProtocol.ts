/**
 * The checkpoint editor page's protocol: what a checkpoint file holds (format, detected variant
 * and why, the module tree, every tensor's name and shape, key problems), and a tensor's
 * statistics on hover, computed by the engine when first asked for.
 */
import type { ReadyRequest, RequestBase } from './channel';
import { defineProtocol } from './channel';
import { checkStats, type ViewTensorStats } from './comparisonProtocol';
import { checkModule, type ViewModule } from './moduleView';
import { arr, num, numbers, obj, str, strings } from './validate';

export interface CheckpointTensor {
  readonly name: string;
  readonly dtype: string;
  readonly shape: readonly number[];
}

export interface CheckpointData {
  readonly file: string;
  readonly format: string;
  readonly variant: string | null;
  readonly variantReason: string;
  readonly parameters: number;
  readonly tensors: readonly CheckpointTensor[];
  /** The module tree of the detected variant, or null when none was detected. */
  readonly tree: ViewModule | null;
  readonly missing: readonly { readonly name: string; readonly expected: readonly number[] }[];
  readonly unexpected: readonly { readonly name: string; readonly shape: readonly number[] }[];
  readonly mismatched: readonly { readonly name: string; readonly expected: readonly number[]; readonly found: readonly number[] }[];
  readonly knownUnused: readonly string[];
  readonly renamed: readonly (readonly [string, string])[];
  readonly metadata: Readonly<Record<string, string>>;
  readonly readMs: number;
}

export interface GetTensorStatsRequest extends RequestBase { readonly type: 'getTensorStats'; readonly name: string }
export type CheckpointRequest = ReadyRequest | GetTensorStatsRequest;

export interface CheckpointDataReply { readonly type: 'checkpointData'; readonly inReplyTo: number; readonly data: CheckpointData }
export interface TensorStatsReply {
  readonly type: 'tensorStats';
  readonly inReplyTo: number;
  readonly name: string;
  readonly stats: ViewTensorStats;
}
export interface CheckpointReplies {
  readonly ready: CheckpointDataReply;
  readonly getTensorStats: TensorStatsReply;
}

/** The checkpoint page pushes nothing and is pushed nothing. */
export type CheckpointPush = never;
export type CheckpointNotification = never;

function checkCheckpoint(v: unknown, where: string): void {
  const o = obj(v, where);
  str(o, 'file', where);
  str(o, 'format', where);
  if (o.variant !== null) str(o, 'variant', where);
  str(o, 'variantReason', where);
  num(o, 'parameters', where);
  arr(o, 'tensors', where).forEach((t, i) => {
    const w = `${where}.tensors[${i}]`;
    const to = obj(t, w);
    str(to, 'name', w);
    str(to, 'dtype', w);
    numbers(to, 'shape', w);
  });
  if (o.tree !== null) checkModule(o.tree, `${where}.tree`);
  for (const list of ['missing', 'unexpected', 'mismatched']) {
    arr(o, list, where).forEach((m, i) => str(obj(m, `${where}.${list}[${i}]`), 'name', `${where}.${list}[${i}]`));
  }
  strings(o, 'knownUnused', where);
  arr(o, 'renamed', where);
  obj(o.metadata, `${where}.metadata`);
  num(o, 'readMs', where);
}

const PAGE = 'checkpoint';

export const checkpointProtocol = defineProtocol<CheckpointRequest, CheckpointReplies, CheckpointPush, CheckpointNotification>(PAGE, {
  requests: {
    ready: () => {},
    getTensorStats: (o, type) => { str(o, 'name', type); },
  },
  notes: {},
  replies: {
    checkpointData: (o, type) => checkCheckpoint(o.data, `${type}.data`),
    tensorStats: (o, type) => { str(o, 'name', type); checkStats(o.stats, `${type}.stats`); },
  },
  pushes: {},
});
export type CheckpointProtocol = typeof checkpointProtocol;
