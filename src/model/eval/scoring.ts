/**
 * What an evaluation counts, image by image and in total. Every figure of the result is a fold of
 * the per-image records (the lines of the predictions file), by the one function below, whether the
 * records come from a live run or from a file being resumed: so a resumed run gives exactly the
 * totals of an uninterrupted one.
 */

/** A class index and its softmax probability. */
export type Ranked = readonly [index: number, prob: number];

/** One side's verdict on one image. */
export interface SideScore {
  /** Best first; the top 5 (fewer when the head has fewer classes). */
  readonly top5: readonly Ranked[];
  /** Cross-entropy of the label: logsumexp(logits) - logits[label], in float64. */
  readonly loss: number;
}

/** One image's line in the predictions file. */
export interface ImageRecord extends SideScore {
  /** Position in the dataset's order. */
  readonly i: number;
  readonly image: string;
  readonly label: number;
  /** The other side (--against / --against-preset). */
  readonly b?: SideScore;
  /** mean |logits_a - logits_b| over the classes, for agreement runs. */
  readonly logitDiff?: number;
}

/** An image that could not be evaluated (it does not decode): listed, never silently dropped. */
export interface FailedImage {
  readonly i: number;
  readonly image: string;
  readonly error: string;
}

/** Scores a logits vector against the label. */
export function score(logits: Float32Array, label: number): SideScore {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i] > max) max = logits[i];
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i] - max);
  const logZ = max + Math.log(sum);
  // The five largest, ties to the lower index, without sorting all classes.
  const top: number[] = [];
  for (let i = 0; i < logits.length; i++) {
    let at = top.length;
    while (at > 0 && logits[top[at - 1]] < logits[i]) at--;
    if (at < 5) {
      top.splice(at, 0, i);
      if (top.length > 5) top.pop();
    }
  }
  const loss = label >= 0 && label < logits.length ? logZ - logits[label] : Infinity;
  return { top5: top.map((i) => [i, Math.exp(logits[i] - logZ)] as const), loss };
}

export function meanAbsDiff(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i] - b[i]);
  return s / a.length;
}

export interface SideTotals {
  readonly top1: number;
  readonly top5: number;
  readonly correct1: number;
  readonly correct5: number;
  /** Mean cross-entropy. */
  readonly loss: number;
}

export interface ClassResult {
  readonly index: number;
  readonly name: string;
  readonly count: number;
  readonly correct1: number;
  readonly correct5: number;
  /** correct1 / count. */
  readonly top1: number;
}

export interface Confusion {
  readonly label: number;
  readonly labelName: string;
  readonly predicted: number;
  readonly predictedName: string;
  readonly count: number;
}

export interface Disagreement {
  readonly i: number;
  readonly image: string;
  readonly label: number;
  readonly a: readonly Ranked[];
  readonly b: readonly Ranked[];
}

export interface Totals extends SideTotals {
  readonly count: number;
  readonly perClass: readonly ClassResult[];
  /** The most frequent (label, wrong top-1) pairs, most first. */
  readonly confusions: readonly Confusion[];
  /** Agreement runs: the other side's totals, the share of equal top-1s, the logit difference, the images they disagree on. */
  readonly against?: SideTotals;
  readonly agreement?: number;
  readonly meanAbsLogitDiff?: number;
  readonly disagreements?: readonly Disagreement[];
}

interface Counts { n: number; c1: number; c5: number; loss: number }
const newCounts = (): Counts => ({ n: 0, c1: 0, c5: 0, loss: 0 });

function add(c: Counts, s: SideScore, label: number): boolean {
  c.n++;
  const top1 = s.top5[0]?.[0] === label;
  if (top1) c.c1++;
  if (s.top5.some(([k]) => k === label)) c.c5++;
  c.loss += s.loss;
  return top1;
}

function totals(c: Counts): SideTotals {
  return { top1: c.n ? c.c1 / c.n : 0, top5: c.n ? c.c5 / c.n : 0, correct1: c.c1, correct5: c.c5, loss: c.n ? c.loss / c.n : 0 };
}

/** Folds image records, in any number of steps; `result()` at any time gives the totals so far. */
export class Tally {
  private readonly a = newCounts();
  private readonly b = newCounts();
  private readonly perClass = new Map<number, Counts>();
  private readonly confusions = new Map<string, number>();
  private agree = 0;
  private logitDiff = 0;
  private readonly disagreements: Disagreement[] = [];
  private agreementRun = false;

  constructor(private readonly className: (index: number) => string, private readonly maxConfusions = 20) {}

  get count(): number {
    return this.a.n;
  }

  /** Top-1 so far, without building the totals (progress asks after every batch). */
  get top1(): number {
    return this.a.n ? this.a.c1 / this.a.n : 0;
  }

  add(r: ImageRecord): void {
    const top1 = add(this.a, r, r.label);
    let pc = this.perClass.get(r.label);
    if (!pc) this.perClass.set(r.label, (pc = newCounts()));
    add(pc, r, r.label);
    const predicted = r.top5[0]?.[0];
    if (!top1 && predicted !== undefined) {
      const key = `${r.label}>${predicted}`;
      this.confusions.set(key, (this.confusions.get(key) ?? 0) + 1);
    }
    if (r.b) {
      this.agreementRun = true;
      add(this.b, r.b, r.label);
      this.logitDiff += r.logitDiff ?? 0;
      if (r.b.top5[0]?.[0] === predicted) this.agree++;
      else this.disagreements.push({ i: r.i, image: r.image, label: r.label, a: r.top5, b: r.b.top5 });
    }
  }

  result(): Totals {
    const n = this.a.n;
    const perClass = [...this.perClass.entries()].sort((x, y) => x[0] - y[0]).map(([index, c]) => ({
      index, name: this.className(index), count: c.n, correct1: c.c1, correct5: c.c5, top1: c.n ? c.c1 / c.n : 0,
    }));
    const confusions = [...this.confusions.entries()]
      .map(([key, count]) => {
        const [label, predicted] = key.split('>').map(Number);
        return { label, labelName: this.className(label), predicted, predictedName: this.className(predicted), count };
      })
      .sort((x, y) => y.count - x.count || x.label - y.label || x.predicted - y.predicted)
      .slice(0, this.maxConfusions);
    return {
      count: n, ...totals(this.a), perClass, confusions,
      ...(this.agreementRun ? {
        against: totals(this.b),
        agreement: n ? this.agree / n : 0,
        meanAbsLogitDiff: n ? this.logitDiff / n : 0,
        // In the input's order whatever order the batches finished in.
        disagreements: [...this.disagreements].sort((x, y) => x.i - y.i),
      } : {}),
    };
  }
}
