/**
 * The pass/fail rules of a comparison, in one place for everything that applies them: the compare
 * engine (src/model/compare) when it writes a report, and the comparison page (the extension's
 * webview and the standalone HTML report) when the user edits the tolerance. The page never
 * re-decides what the report decided with its own copy of a rule; it calls these.
 *
 * Imports nothing, so the webview bundles can include it.
 */

export type ToleranceRule =
  | { readonly mode: 'scaled-max'; readonly tol: number }
  | { readonly mode: 'allclose'; readonly atol: number; readonly rtol: number };

/** What a verdict needs of a compared record (a LayerResult and a ViewLayer both have it). */
export interface VerdictFacts {
  readonly reference: { readonly absMax: number };
  readonly diff: {
    /** max |a-b|; NaN when a non-finite value differs between the sides. */
    readonly maxAbs: number;
    /**
     * The upper envelope of the points (|ref_i|, |a_i - b_i|), flat [r0, d0, r1, d1, ...] by
     * increasing r: the vertices of their upper-left convex hull. Every point lies on or under it,
     * so `|a-b| <= atol + rtol*|ref|` holds for every element exactly when it holds at each vertex.
     * Present in allclose reports (src/model/compare/envelope.ts builds it).
     */
    readonly envelope?: readonly number[];
    /**
     * Allclose without an envelope (a batch reduced inside onnxruntime): max over elements of
     * |a_i - b_i| - rtol*|ref_i| at this rtol, so the verdict at any atol (for this rtol) is
     * `max <= atol`. Another rtol cannot be decided from it.
     */
    readonly excess?: { readonly rtol: number; readonly max: number };
  };
}

export const DEFAULT_RULE: ToleranceRule = { mode: 'scaled-max', tol: 1e-3 };

/** The scale a scaled-max bound multiplies: max(1, max|ref|). */
export function scaleOf(refAbsMax: number): number {
  return Math.max(1, refAbsMax);
}

/** The bound a record is held to under a rule (for allclose: at the largest reference value). */
export function boundOf(rule: ToleranceRule, refAbsMax: number): number {
  return rule.mode === 'scaled-max' ? rule.tol * scaleOf(refAbsMax) : rule.atol + rule.rtol * refAbsMax;
}

/**
 * Whether the record passes. Scaled-max: max|a-b| <= tol * max(1, max|ref|). Allclose (numpy's
 * `|a-b| <= atol + rtol*|ref|` for every element): checked at the envelope's vertices. NaN fails.
 * An allclose verdict without an envelope cannot be made from a summary: it throws rather than guess.
 */
export function passes(record: VerdictFacts, rule: ToleranceRule): boolean {
  const { maxAbs, envelope } = record.diff;
  if (!(maxAbs === maxAbs)) return false;
  if (rule.mode === 'scaled-max') return maxAbs <= rule.tol * scaleOf(record.reference.absMax);
  if (!envelope) {
    const excess = record.diff.excess;
    if (excess && excess.rtol === rule.rtol) return excess.max <= rule.atol;
    throw new Error(excess
      ? `This record's allclose verdict was reduced at rtol ${excess.rtol}; it can be re-applied at any atol for that rtol, not at rtol ${rule.rtol}.`
      : 'An allclose verdict needs the record\'s error envelope, which this report does not carry.');
  }
  for (let i = 0; i < envelope.length; i += 2) {
    if (envelope[i + 1] > rule.atol + rule.rtol * envelope[i]) return false;
  }
  return true;
}

/** A record that cannot be compared (its shapes differ): it diverges under every rule. */
export interface UnpairedRecord {
  readonly name: string;
  /** How many compared records came before it in execution order. */
  readonly index: number;
}

/**
 * The first failing record in execution order, or null. `records` are the compared records in
 * order (`input` among them: a dump fed another input diverges there); `fails` is the verdict: the report's
 * own (`!record.diff.pass`) or a rule re-applied (`!passes(record, rule)`); `unpaired` are the
 * records whose shapes differ, placed by their index among them.
 */
export function firstDivergence<R extends { readonly name: string }>(
  records: readonly R[], fails: (record: R) => boolean, unpaired: readonly UnpairedRecord[] = [],
): string | null {
  const firstUnpaired = unpaired.reduce<UnpairedRecord | undefined>((a, u) => (a === undefined || u.index < a.index ? u : a), undefined);
  const limit = firstUnpaired ? Math.min(firstUnpaired.index, records.length) : records.length;
  for (let i = 0; i < limit; i++) {
    const r = records[i];
    if (fails(r)) return r.name;
  }
  return firstUnpaired?.name ?? null;
}

/** The printed form of a rule, for reports and the view. */
export function describeRule(rule: ToleranceRule): string {
  return rule.mode === 'scaled-max'
    ? `max|a-b| <= ${rule.tol}*max(1, max|ref|)`
    : `|a-b| <= ${rule.atol} + ${rule.rtol}*|ref| elementwise`;
}

export function sameRule(a: ToleranceRule, b: ToleranceRule): boolean {
  return a.mode === 'scaled-max'
    ? b.mode === 'scaled-max' && a.tol === b.tol
    : b.mode === 'allclose' && a.atol === b.atol && a.rtol === b.rtol;
}
