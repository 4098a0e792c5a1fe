import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import type { ModuleNode } from '../dla/moduleTree';
import { formatShape } from '../tensor';
import { nonFiniteReplacer } from '../../shared/nonFinite';
import { REPORT_DATA_ELEMENT_ID } from '../../shared/comparisonProtocol';
import { toComparisonData } from './viewModel';
import { describeTolerance } from './metrics';
import type { CompareReport, LayerResult } from './types';

/**
 * `dla-lens compare --html FILE` and the extension's Export Report → HTML: one self-contained page
 * (inline script and styles, no network: its Content-Security-Policy allows nothing to load) with
 * - the same interactive d3 IDA/HDA tree the extension shows, drawn by the webview's own modules
 *   (src/webview/comparison/*) through their standalone entry (src/webview/report/reportMain.ts,
 *   built to dist/report.js), which reads the comparison from an embedded JSON <script>;
 * - rendered as plain HTML, so they read even with scripts off: the verdict and first divergence,
 *   the diagnosis, the worst layers, the weight differences and what the candidate did not cover.
 */

export interface ReportAssets {
  /** The page script (dist/report.js). */
  readonly script: string;
  /** Styles: media/webview.css then media/report.css. */
  readonly css: string;
}

export interface HtmlReportOptions {
  /** Page title; default "DLA Lens: <variant> — <reference> vs <candidate>". */
  readonly title?: string;
  /** Rows of the worst-layers table (default 20). */
  readonly worst?: number;
  /** The page script and styles; default read from the build (dist/) and media/. */
  readonly assets?: ReportAssets;
}

function firstExisting(candidates: readonly string[]): string | undefined {
  return candidates.find((p) => fs.existsSync(p));
}

/**
 * The built page script and the styles. Bundled (dist/cli.js, dist/extension.js) they sit next to
 * this code and in ../media; run from source (tests, tsx) they are the checkout's dist/ and media/.
 */
export function loadReportAssets(): ReportAssets {
  const repo = path.resolve(__dirname, '..', '..', '..');
  const script = firstExisting([path.join(__dirname, 'report.js'), path.join(repo, 'dist', 'report.js')]);
  if (!script) {
    throw new Error(`The HTML report's page script (dist/report.js) is missing next to ${__dirname}; run \`npm run build\` first.`);
  }
  const mediaDir = firstExisting([path.join(__dirname, '..', 'media'), path.join(repo, 'media')].filter((d) => fs.existsSync(path.join(d, 'report.css'))));
  if (!mediaDir) throw new Error(`The HTML report's styles (media/webview.css, media/report.css) are missing; expected them beside ${path.dirname(script)}.`);
  const css = ['webview.css', 'report.css'].map((f) => fs.readFileSync(path.join(mediaDir, f), 'utf8')).join('\n');
  return { script: fs.readFileSync(script, 'utf8'), css };
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** JSON safe inside a <script> element: no `<` (so no `</script>`), no line separators JS dislikes. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value, nonFiniteReplacer)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/** Script text safe inside a <script> element. */
function scriptText(js: string): string {
  return js.replace(/<\/(script)/gi, '<\\/$1').replace(/<!--/g, '<\\!--');
}

const num = (x: number): string => (Number.isNaN(x) ? 'NaN' : !Number.isFinite(x) ? (x > 0 ? '+Inf' : '−Inf') : x === 0 ? '0' : x.toExponential(2));
const base = (p: string): string => p.split(/[\\/]/).pop() ?? p;

function row(cells: readonly string[], cls = ''): string {
  return `<tr${cls ? ` class="${cls}"` : ''}>${cells.join('')}</tr>`;
}
const td = (text: string, cls = ''): string => `<td${cls ? ` class="${cls}"` : ''}>${escapeHtml(text)}</td>`;
const th = (text: string): string => `<th>${escapeHtml(text)}</th>`;

function passes(r: CompareReport): boolean {
  return r.firstDivergence === null && (!r.weights || (r.weights.missing.length === 0 && r.weights.mismatched.length === 0));
}

function header(r: CompareReport, variant: string): string {
  const verdict = passes(r)
    ? '<span class="verdict good">Every compared layer is within tolerance.</span>'
    : r.firstDivergence
      ? `<span class="verdict bad">Diverges. First divergence: <code class="mono">${escapeHtml(r.firstDivergence)}</code></span>`
      : '<span class="verdict bad">The weights do not fit: see the weight differences below.</span>';
  const cause = r.diagnosis[0];
  const facts: [string, string][] = [
    ['reference', `${r.reference.file} (${r.reference.kind}, ${r.reference.format}, ${r.reference.variant ?? 'unknown variant'})`],
    ['candidate', `${r.candidate.file} (${r.candidate.kind}, ${r.candidate.format})`],
    ['input', `${r.input.source} ${formatShape(r.input.shape)}`],
    ['provider', r.provider],
    ['tolerance', describeTolerance(r.tolerance)],
    ...(r.batch ? [['images', batchFact(r)] as [string, string]] : []),
  ];
  return `<header class="report-head">
<h1>DLA Lens comparison: ${escapeHtml(variant)}</h1>
<p>${verdict}</p>
${cause ? `<p class="diagnosis" id="likely-cause">Likely cause: <strong>${escapeHtml(cause.cause)}</strong>${cause.cause === 'unknown' ? '' : ` at <code class="mono">${escapeHtml(cause.at)}</code>`}: ${escapeHtml(cause.explanation)}</p>` : ''}
<table class="facts">${facts.map(([k, v]) => row([th(k), td(v)])).join('')}</table>
</header>`;
}

/** Many inputs: how many images, which diverge on their own, and the image local error and diagnosis are of. */
function batchFact(r: CompareReport): string {
  const b = r.batch!;
  const diverging = b.firstDivergence.map((f, i) => ({ f, i })).filter((x) => x.f !== null);
  return `${b.images.length}, figures combined over all of them; ${diverging.length} diverge on their own` +
    (diverging.length ? ` (${diverging.slice(0, 8).map((x) => `${b.images[x.i]} at ${x.f}`).join(', ')}${diverging.length > 8 ? ', …' : ''})` : '') +
    `; local error and diagnosis of ${b.images[b.focus]}`;
}

function worstLayers(r: CompareReport, n: number): string {
  if (r.layers.length === 0) return '';
  const key = (l: LayerResult): number => (Number.isNaN(l.diff.scaledMaxAbs) ? Infinity : l.diff.scaledMaxAbs);
  const shown = [...r.layers].sort((a, b) => key(b) - key(a)).slice(0, n);
  const failing = r.layers.filter((l) => !l.diff.pass).length;
  const images = r.batch?.images;
  const head = row(['layer', 'max |a−b|', 'scaled', 'local', 'rel L2', 'cosine', 'max |ref|', 'NaN/Inf (cand.)', ...(images ? ['worst image'] : []), ''].map(th));
  const body = shown.map((l) => row([
    td(l.name, 'mono'), td(num(l.diff.maxAbs), 'num'), td(num(l.diff.scaledMaxAbs), 'num'),
    td(l.local ? num(l.local.scaledMaxAbs) : '–', 'num'), td(num(l.diff.relL2), 'num'), td(l.diff.cosine.toFixed(6), 'num'),
    td(num(l.reference.absMax), 'num'), td(`${l.candidate.nan} / ${l.candidate.inf}`, 'num'),
    ...(images && l.batch ? [td(images[l.batch.worst], 'mono')] : images ? [td('–')] : []),
    td(l.diff.pass ? 'ok' : 'FAIL', l.diff.pass ? 'good' : 'bad'),
  ], l.name === r.firstDivergence ? 'first-divergence' : '')).join('');
  return `<section id="worst-layers"><h2>Worst layers</h2>
<p class="muted">${r.layers.length} records compared in execution order, ${failing} over tolerance; the ${shown.length} largest scaled errors (max|a−b| / max(1, max|ref|)). “local” is the error a block adds by itself, re-run on the candidate's own inputs.</p>
<table class="grid"><thead>${head}</thead><tbody>${body}</tbody></table></section>`;
}

function diagnosis(r: CompareReport): string {
  if (r.diagnosis.length === 0) return '';
  const body = r.diagnosis.map((h, i) => row([td(String(i + 1), 'num'), td(h.cause), td(h.at, 'mono'), td(num(h.residual), 'num'), td(h.explanation)])).join('');
  return `<section id="diagnosis"><h2>Diagnosis at ${escapeHtml(r.firstDivergence ?? '')}</h2>
<p class="muted">Known porting mistakes applied to the reference at the first divergence, best first; the residual is the error left between each hypothesis and the candidate there.</p>
<table class="grid"><thead>${row(['#', 'cause', 'at', 'residual', 'explanation'].map(th))}</thead><tbody>${body}</tbody></table></section>`;
}

function weights(r: CompareReport): string {
  const w = r.weights;
  if (!w) return '';
  const differing = w.compared.filter((x) => !x.identical);
  const items: string[] = [
    ...w.missing.slice(0, 30).map((m) => `<li class="bad">missing <code>${escapeHtml(m.name)}</code> ${escapeHtml(formatShape(m.expected))} (timm's strict=False load would leave it at its random init)</li>`),
    ...w.mismatched.slice(0, 30).map((m) => `<li class="bad">wrong shape <code>${escapeHtml(m.name)}</code>: expected ${escapeHtml(formatShape(m.expected))}, found ${escapeHtml(formatShape(m.found))}</li>`),
    ...w.unexpected.slice(0, 30).map((u) => `<li>unexpected <code>${escapeHtml(u.name)}</code> ${escapeHtml(formatShape(u.shape))}</li>`),
    ...[...differing].sort((a, b) => b.maxAbs - a.maxAbs).slice(0, 10).map((d) => `<li>differs <code>${escapeHtml(d.name)}</code> max|a−b| ${num(d.maxAbs)}</li>`),
  ];
  return `<section id="weights"><h2>Weights</h2>
<p>${w.compared.length} compared, ${w.compared.length - differing.length} identical, ${differing.length} differ; ${w.missing.length} missing, ${w.mismatched.length} wrong shape, ${w.unexpected.length} unexpected.</p>
${items.length ? `<ul class="mono">${items.join('')}</ul>` : ''}</section>`;
}

function coverage(r: CompareReport): string {
  const u = r.unmatched;
  const lines: string[] = [];
  if (r.uncovered.length) lines.push(`Not covered by the candidate: ${r.uncovered.map((x) => `<code>${escapeHtml(x)}</code>`).join(', ')}.`);
  if (u.onlyCandidate.length) lines.push(`${u.onlyCandidate.length} candidate records have no reference counterpart (e.g. <code>${escapeHtml(u.onlyCandidate[0])}</code>).`);
  if (u.shapeMismatch.length) lines.push(...u.shapeMismatch.slice(0, 10).map((s) => `Shape differs at <code>${escapeHtml(s.name)}</code>: reference ${escapeHtml(formatShape(s.reference))}, candidate ${escapeHtml(formatShape(s.candidate))}.`));
  return lines.length ? `<section id="coverage"><h2>Coverage</h2>${lines.map((l) => `<p>${l}</p>`).join('')}</section>` : '';
}

/**
 * The report as one HTML page. `tree` is the module tree to draw (default: the variant's).
 * Deterministic: the same report gives the same bytes (the CSP nonce is a hash of the page).
 */
export function htmlReport(report: CompareReport, tree?: ModuleNode, options: HtmlReportOptions = {}): string {
  const assets = options.assets ?? loadReportAssets();
  const title = options.title ?? `DLA Lens: ${report.reference.variant ?? report.candidate.variant ?? 'DLA'} — ${base(report.reference.file)} vs ${base(report.candidate.file)}`;
  const data = toComparisonData(report, title, false, `report:${report.reference.file}|${report.candidate.file}`, tree);
  const json = scriptJson(data);
  const script = scriptText(assets.script);
  const nonce = crypto.createHash('sha256').update(json).update(script).update(assets.css).digest('base64').slice(0, 24);
  const csp = `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; img-src data:`;
  const timings = Object.entries(report.timingsMs).map(([k, v]) => `${k} ${v.toFixed(0)} ms`).join(', ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<meta name="generator" content="DLA Lens">
<title>${escapeHtml(title)}</title>
<style nonce="${nonce}">
${assets.css.replace(/<\/(style)/gi, '<\\/$1')}
</style>
</head>
<body data-page="report">
${header(report, data.variant)}
<div id="app" aria-busy="true"><p class="noscript muted">The interactive tree needs JavaScript; the tables below hold the findings.</p></div>
<div class="report-tables">
${diagnosis(report)}
${worstLayers(report, options.worst ?? 20)}
${weights(report)}
${coverage(report)}
</div>
<p class="report-foot muted">Written by DLA Lens${timings ? ` · ${escapeHtml(timings)}` : ''}. Self-contained: this page loads nothing from anywhere.</p>
<script type="application/json" id="${REPORT_DATA_ELEMENT_ID}">${json}</script>
<script nonce="${nonce}">${script}</script>
</body>
</html>
`;
}
