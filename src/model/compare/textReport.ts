import { formatShape } from '../tensor';
import { describeTolerance } from './metrics';
import type { CompareReport, LayerResult } from './types';

const e = (x: number): string => (Number.isNaN(x) ? 'NaN' : x === 0 ? '0' : x.toExponential(2));

function layerRow(l: LayerResult, mark: string, images?: readonly string[]): string {
  const local = l.local ? e(l.local.scaledMaxAbs) : '-';
  const worst = images && l.batch ? `  worst ${images[l.batch.worst]}` : '';
  return `${mark} ${l.name.padEnd(40)} ${e(l.diff.maxAbs).padStart(9)} ${e(l.diff.scaledMaxAbs).padStart(9)} ${local.padStart(9)} ` +
    `${e(l.diff.relL2).padStart(9)} ${l.diff.cosine.toFixed(6).padStart(9)} ${e(l.reference.absMax).padStart(9)} ${l.diff.pass ? 'ok' : 'FAIL'}${worst}`;
}

/** Many inputs: how they were compared, and which images diverge where. */
function batchLines(r: CompareReport): string[] {
  const b = r.batch!;
  const diverging = b.firstDivergence.map((f, i) => ({ f, i })).filter((x) => x.f !== null);
  const how = b.method === 'in-graph'
    ? `both models in one onnxruntime graph, each record pair reduced there, ${b.chunk} image(s) per run`
    : `records compared in JavaScript, ${b.chunk} image(s) at a time`;
  const out = [`images     ${b.images.length} (${how}); ${diverging.length} diverge on their own`];
  if (b.exact?.length) out.push(`           compared exactly outside the graph: ${b.exact.map((i) => b.images[i]).join(', ')}`);
  for (const { f, i } of diverging.slice(0, 10)) out.push(`  image ${String(i).padStart(3)} ${b.images[i].padEnd(36)} first diverges at ${f}`);
  if (diverging.length > 10) out.push(`  ... and ${diverging.length - 10} more`);
  if (r.layers.some((l) => l.local) || r.diagnosis.length) out.push(`           local error and diagnosis are of image ${b.focus} (${b.images[b.focus]})`);
  return out;
}

/** The terminal report: where it diverges first, the worst layers, and the likely cause. */
export function textReport(r: CompareReport, worst = 10): string {
  const out: string[] = [];
  out.push(`reference  ${r.reference.file} (${r.reference.format}, ${r.reference.variant ?? 'unknown variant'})`);
  out.push(`candidate  ${r.candidate.file} (${r.candidate.kind}, ${r.candidate.format})`);
  out.push(`input      ${r.input.source} ${formatShape(r.input.shape)}`);
  out.push(`provider   ${r.provider}`);
  out.push(`tolerance  ${describeTolerance(r.tolerance)}`);
  for (const note of r.notes ?? []) out.push(`note       ${note}`);
  if (r.batch) out.push(...batchLines(r));
  if (r.weights) {
    const w = r.weights;
    const differing = w.compared.filter((x) => !x.identical);
    out.push('', `weights    ${w.compared.length} compared, ${w.compared.length - differing.length} identical, ${differing.length} differ; ` +
      `${w.missing.length} missing, ${w.mismatched.length} wrong shape, ${w.unexpected.length} unexpected`);
    for (const m of w.missing.slice(0, 10)) out.push(`  MISSING    ${m.name} ${formatShape(m.expected)} (timm's strict=False load would leave it at its random init)`);
    for (const m of w.mismatched.slice(0, 10)) out.push(`  SHAPE      ${m.name}: expected ${formatShape(m.expected)}, found ${formatShape(m.found)}`);
    for (const u of w.unexpected.slice(0, 10)) out.push(`  UNEXPECTED ${u.name} ${formatShape(u.shape)}`);
    for (const d of [...differing].sort((a, b) => b.maxAbs - a.maxAbs).slice(0, 5)) out.push(`  differs    ${d.name} max|a-b| ${e(d.maxAbs)}`);
  }
  if (r.layers.length) {
    const failing = r.layers.filter((l) => !l.diff.pass).length;
    out.push('', `layers     ${r.layers.length} compared, ${failing} over tolerance`);
    out.push(`  ${'layer'.padEnd(40)} ${'max|a-b|'.padStart(9)} ${'scaled'.padStart(9)} ${'local'.padStart(9)} ${'relL2'.padStart(9)} ${'cosine'.padStart(9)} ${'max|ref|'.padStart(9)}`);
    const key = (l: LayerResult): number => (Number.isNaN(l.diff.scaledMaxAbs) ? Infinity : l.diff.scaledMaxAbs);
    const shown = [...r.layers].sort((a, b) => key(b) - key(a)).slice(0, worst);
    for (const l of shown) out.push(layerRow(l, l.name === r.firstDivergence ? '>' : ' ', r.batch?.images));
  }
  const u = r.unmatched;
  if (u.shapeMismatch.length) for (const s of u.shapeMismatch.slice(0, 5)) out.push(`  shape differs at ${s.name}: reference ${formatShape(s.reference)}, candidate ${formatShape(s.candidate)}`);
  if (u.onlyCandidate.length) out.push(`  ${u.onlyCandidate.length} candidate records have no reference counterpart (e.g. '${u.onlyCandidate[0]}')`);
  if (r.uncovered.length) out.push(`  not covered by the candidate: ${r.uncovered.slice(0, 8).join(', ')}${r.uncovered.length > 8 ? `, ... (${r.uncovered.length})` : ''}`);
  out.push('');
  if (r.firstDivergence === null) {
    out.push('RESULT     every compared layer is within tolerance');
  } else {
    const l = r.layers.find((x) => x.name === r.firstDivergence);
    out.push(`FIRST DIVERGENCE  ${r.firstDivergence}` + (l ? ` (max|a-b| ${e(l.diff.maxAbs)}, ${e(l.diff.scaledMaxAbs)} of max(1,max|ref|); bound ${e(l.diff.bound)})` : ''));
    if (r.diagnosis.length) {
      const best = r.diagnosis[0];
      out.push(`LIKELY CAUSE      ${best.cause}${best.cause === 'unknown' ? '' : ` at ${best.at}`}: ${best.explanation}`);
      for (const h of r.diagnosis) out.push(`  ${h.cause.padEnd(18)} residual ${e(h.residual)}`);
    }
  }
  return out.join('\n');
}
