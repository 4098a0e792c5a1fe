/**
 * ImageNet-1k class names, and the top-k predictions of a logits vector.
 *
 * The table is a static JSON import: esbuild inlines it into the bundle and tsx/tsc read it from
 * data/, so it works from the sources and from the packaged extension without a runtime path.
 */
import { UsageError } from '../errors';
import classes from '../../../data/imagenet_classes.json';

export interface ImageNetClass {
  /** Position in the 1000 logits (classes are in sorted WordNet id order, as in timm/torchvision). */
  readonly index: number;
  /** WordNet id, e.g. 'n01440764'. */
  readonly wnid: string;
  /** Human-readable name, e.g. 'tench'. */
  readonly name: string;
}

export const IMAGENET_CLASSES: readonly ImageNetClass[] = checkTable(classes);

function checkTable(table: readonly ImageNetClass[]): readonly ImageNetClass[] {
  // A damaged data file would mislabel every prediction silently; fail at load instead.
  table.forEach((c, i) => {
    if (c.index !== i) throw new Error(`data/imagenet_classes.json: entry ${i} has index ${c.index}; expected ${i}.`);
  });
  return table;
}

export function labelOf(index: number): string {
  const c = IMAGENET_CLASSES[index];
  if (!Number.isInteger(index) || c === undefined) {
    throw new UsageError(`ImageNet class index ${index} is out of range: expected an integer in 0..${IMAGENET_CLASSES.length - 1}.`);
  }
  return c.name;
}

export interface Prediction {
  readonly index: number;
  readonly label: string;
  readonly wnid: string;
  /** Softmax probability over all logits. */
  readonly prob: number;
}

/**
 * The k most likely classes, best first (equal logits: lower index first). The softmax runs in
 * float64 after subtracting the maximum, so large logits (about 320 for the probe image) do not
 * overflow exp().
 */
export function topK(logits: Float32Array, k: number): Prediction[] {
  if (logits.length !== IMAGENET_CLASSES.length) {
    throw new UsageError(`topK expects ${IMAGENET_CLASSES.length} ImageNet-1k logits, got ${logits.length}.`);
  }
  if (!Number.isInteger(k) || k < 1) throw new UsageError(`topK: k must be a positive integer, got ${k}.`);
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) {
    if (!Number.isFinite(logits[i])) {
      throw new UsageError(`Logit ${i} (${labelOf(i)}) is ${logits[i]}: cannot rank predictions of non-finite logits.`);
    }
    if (logits[i] > max) max = logits[i];
  }
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i] - max);

  const order = Array.from(logits.keys()).sort((a, b) => logits[b] - logits[a] || a - b);
  return order.slice(0, Math.min(k, logits.length)).map((index) => {
    const c = IMAGENET_CLASSES[index];
    return { index, label: c.name, wnid: c.wnid, prob: Math.exp(logits[index] - max) / sum };
  });
}
