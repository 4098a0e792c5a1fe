import type { Tensor } from '../tensor';

/**
 * timm names are canonical. Paddle ports keep timm's structured names except BatchNorm's running
 * statistics; every other difference between frameworks is data here, not code elsewhere.
 */
const PADDLE_TO_TIMM_SUFFIX: readonly (readonly [string, string])[] = [
  ['._mean', '.running_mean'],
  ['._variance', '.running_var'],
];

/** Buffers that carry no numeric meaning for a forward pass; their absence is not "missing". */
export function isIgnoredForComparison(name: string): boolean {
  return name.endsWith('.num_batches_tracked');
}

/** BatchNorm running statistics: buffers, not trainable parameters. */
export function isBatchNormBuffer(name: string): boolean {
  return /\.(running_mean|running_var|num_batches_tracked|_mean|_variance)$/.test(name);
}

export function timmName(name: string): string {
  for (const [paddle, timm] of PADDLE_TO_TIMM_SUFFIX) {
    if (name.endsWith(paddle)) return name.slice(0, -paddle.length) + timm;
  }
  return name;
}

export function paddleName(name: string): string {
  for (const [paddle, timm] of PADDLE_TO_TIMM_SUFFIX) {
    if (name.endsWith(timm)) return name.slice(0, -timm.length) + paddle;
  }
  return name;
}

export interface CanonicalTensors {
  /** Tensors under timm names, in the file's order. */
  readonly tensors: Map<string, Tensor>;
  /** [file name, timm name] for every name that was changed. */
  readonly renamed: readonly (readonly [string, string])[];
}

export function toTimmNames(tensors: ReadonlyMap<string, Tensor>): CanonicalTensors {
  const out = new Map<string, Tensor>();
  const renamed: [string, string][] = [];
  for (const [name, t] of tensors) {
    const canonical = timmName(name);
    if (canonical !== name) renamed.push([name, canonical]);
    out.set(canonical, t);
  }
  return { tensors: out, renamed };
}

/**
 * Record (activation) names of the Paddle port in the seed notebook where they differ from timm's:
 * its head is `self.pool = nn.AdaptiveAvgPool2D(1)` where timm has `global_pool.pool`.
 */
const PADDLE_RECORD_ALIASES: ReadonlyMap<string, string> = new Map([['pool', 'global_pool.pool']]);

/** A dump's records under timm keys: Paddle aliases renamed where the timm key is not already there. */
export function toTimmRecordNames(records: ReadonlyMap<string, Tensor>): CanonicalTensors {
  const out = new Map<string, Tensor>();
  const renamed: [string, string][] = [];
  for (const [name, t] of records) {
    const alias = PADDLE_RECORD_ALIASES.get(name);
    if (alias && !records.has(alias)) {
      renamed.push([name, alias]);
      out.set(alias, t);
    } else {
      out.set(name, t);
    }
  }
  return { tensors: out, renamed };
}
