import type { ComparisonData, ViewLayer } from '../../shared/comparisonProtocol';
import { describeRule, firstDivergence, passes, sameRule, type ToleranceRule } from '../../shared/tolerance';

/**
 * Which records fail, and the first divergence, as the page shows them. At the report's own rule
 * these are the report's verdicts, read as they are (`diff.pass`, `firstDivergence`). When the
 * user edits the rule's numbers, the same rule function the engine used (src/shared/tolerance.ts)
 * is applied to the report's summaries; nothing is decided here by a rule of the page's own.
 */
export interface Verdicts {
  readonly rule: ToleranceRule;
  /** True when the rule differs from the report's and the verdicts were re-applied. */
  readonly edited: boolean;
  fails(layer: ViewLayer): boolean;
  /** Record key of the first divergence, or null. */
  readonly first: string | null;
  /** The rule in words, for the summary line and the hover card. */
  readonly description: string;
}

export function verdictsFor(data: ComparisonData, rule: ToleranceRule): Verdicts {
  if (sameRule(rule, data.rule)) {
    return { rule, edited: false, fails: (l) => !l.diff.pass, first: data.firstDivergence, description: describeRule(rule) };
  }
  const cache = new Map<ViewLayer, boolean>();
  const fails = (l: ViewLayer): boolean => {
    let f = cache.get(l);
    if (f === undefined) cache.set(l, (f = !passes(l, rule)));
    return f;
  };
  return { rule, edited: true, fails, first: firstDivergence(data.layers, fails, data.unpaired), description: describeRule(rule) };
}

/**
 * The rule's numbers the page can change and still decide every record exactly: any for
 * scaled-max or where every record keeps its envelope; only atol where records keep the allclose
 * excess at the report's rtol (a comparison on many inputs reduced inside onnxruntime).
 */
export function editableFields(data: ComparisonData): readonly ('tol' | 'atol' | 'rtol')[] {
  if (data.rule.mode === 'scaled-max') return ['tol'];
  if (data.layers.every((l) => l.diff.envelope !== undefined)) return ['atol', 'rtol'];
  const rtol = data.rule.rtol;
  if (data.layers.every((l) => l.diff.envelope !== undefined || l.diff.excess?.rtol === rtol)) return ['atol'];
  return [];
}

/** The rule with one number changed from the text the user typed; an error sentence when it is not a number. */
export function editRule(rule: ToleranceRule, field: 'tol' | 'atol' | 'rtol', text: string): ToleranceRule | string {
  const v = Number(text);
  const positive = field === 'tol';
  if (!Number.isFinite(v) || (positive ? !(v > 0) : v < 0)) {
    return `${field} must be a ${positive ? 'positive' : 'non-negative'} number, e.g. 1e-3; '${text}' is not.`;
  }
  if (rule.mode === 'scaled-max') return field === 'tol' ? { mode: 'scaled-max', tol: v } : rule;
  if (field === 'atol') return { ...rule, atol: v };
  if (field === 'rtol') return { ...rule, rtol: v };
  return rule;
}
