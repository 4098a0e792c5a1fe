/**
 * The comparison page's summary above the tree: the verdict line, the first divergence (a link
 * that reveals it), the diagnosis, what the candidate does not cover, and on many inputs which
 * images diverge on their own. Every verdict is the engine's, or the report's rule re-applied by
 * verdicts.ts when the user edits it.
 */
import type { ComparisonData, ViewBatch } from '../../shared/comparisonProtocol';
import { basename, el, fmt } from './format';
import type { Verdicts } from './verdicts';

/** `batch`: the batch's figures are shown (no single image picked). */
export function summaryLines(d: ComparisonData, v: Verdicts, batch: ViewBatch | undefined, reveal: (id: string) => void): HTMLElement[] {
  const failing = d.layers.filter((l) => v.fails(l)).length + d.unpaired.length;
  const first = v.first;
  const line = el('div');
  line.append(
    el('strong', d.variant),
    el('span', ` · reference ${basename(d.reference.file)} vs candidate ${basename(d.candidate.file)} · input ${d.input.source} [${d.input.shape.join('×')}] · ${d.provider} · `),
    el('span', `${failing} of ${d.layers.length + d.unpaired.length} records fail ${v.description}${v.edited ? ' (edited; the report was made at another tolerance)' : ''}`, failing ? 'bad' : 'good'),
  );
  line.id = 'verdict-line';
  const parts: HTMLElement[] = [line];
  if (first) {
    const a = el('a', first, 'first-link');
    a.id = 'first-divergence';
    a.href = '#';
    a.addEventListener('click', (e) => { e.preventDefault(); reveal(first); });
    const p = el('div');
    p.append(el('span', 'First divergence: '), a);
    parts.push(p);
  } else {
    const none = el('div', 'No divergence at this tolerance.', 'good');
    none.id = 'no-divergence';
    parts.push(none);
  }
  // The first hypothesis is the verdict (a named cause, or 'unknown'); the rest were tried and explain less.
  const [best, ...others] = d.diagnosis;
  if (best) {
    parts.push(el('div', `Likely cause: ${best.cause === 'unknown' ? 'unknown' : `${best.cause} at ${best.at}`}: ${best.explanation} (residual ${fmt(best.residual)})`, 'diagnosis'));
    if (others.length) parts.push(el('div', `Also tried: ${others.map((h) => `${h.cause} (residual ${fmt(h.residual)})`).join(', ')}`, 'diagnosis'));
  }
  if (d.uncovered.length) parts.push(el('div', `Not covered by the candidate: ${d.uncovered.slice(0, 6).join(', ')}${d.uncovered.length > 6 ? ` and ${d.uncovered.length - 6} more` : ''}`));
  if (batch) {
    const diverging = batch.firstDivergence.map((f, i) => ({ f, i })).filter((x) => x.f !== null);
    const batchLine = el('div', `${batch.images.length} images: the figures are the batch's (its images' combined); ${diverging.length} diverge on their own` +
      (diverging.length ? `: ${diverging.slice(0, 5).map((x) => `${batch.images[x.i]} at ${x.f}`).join(', ')}${diverging.length > 5 ? ', …' : ''}` : '') + '. Pick one in Images to see its own verdict.');
    batchLine.id = 'batch-line';
    parts.push(batchLine);
  }
  for (const note of d.notes) parts.push(el('div', note));
  return parts;
}
