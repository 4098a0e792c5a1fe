import type { ViewDiffMetrics, ViewTensorStats } from '../../shared/comparisonProtocol';
import { el, fmt, shape } from './format';
import type { TreeNodeData } from './treeData';
import type { Verdicts } from './verdicts';

/**
 * The hover card: both sides' statistics side by side, then the differences, and the error the
 * module adds by itself next to the error it inherits (local vs accumulated).
 */
export class Tooltip {
  private readonly box: HTMLElement;

  constructor(parent: HTMLElement) {
    this.box = el('div', undefined, 'tooltip');
    this.box.id = 'tooltip';
    this.box.setAttribute('role', 'tooltip');
    this.box.hidden = true;
    parent.appendChild(this.box);
  }

  /** `images`: the names of a comparison on many inputs (the card then names a record's worst image). */
  show(n: TreeNodeData, x: number, y: number, verdicts: Verdicts, images?: readonly string[]): void {
    this.box.replaceChildren(...content(n, verdicts, images));
    this.box.hidden = false;
    const pad = 14;
    const w = this.box.offsetWidth, h = this.box.offsetHeight;
    const left = x + pad + w > window.innerWidth ? x - pad - w : x + pad;
    const top = Math.min(Math.max(4, y + pad), window.innerHeight - h - 4);
    this.box.style.left = `${Math.max(4, left)}px`;
    this.box.style.top = `${top}px`;
  }

  hide(): void {
    this.box.hidden = true;
  }
}

function content(n: TreeNodeData, verdicts: Verdicts, images?: readonly string[]): HTMLElement[] {
  const head = el('div', undefined, 'tt-head');
  head.append(el('strong', n.id === '' ? n.name : n.id), el('span', ` ${n.kind}`, 'muted'));
  const l = n.layer;
  if (!l) return [head, el('div', 'No record of this module in the comparison (it has no output of its own, or the dump does not cover it).', 'muted')];
  const out: HTMLElement[] = [head];
  if (l.name !== n.id) out.push(el('div', `record ${l.name}${n.records.length > 1 ? ` (last of ${n.records.length} calls)` : ''}`, 'muted'));
  out.push(statsTable(l.reference, l.candidate));
  out.push(diffTable(l.diff, l.local, !verdicts.fails(l), verdicts.description));
  if (l.batch && images) {
    const w = l.batch.worst;
    out.push(el('div', `worst image ${w} (${images[w]}): scaled max ${fmt(l.batch.images[w].diff.scaledMaxAbs)}; the figures above are the ${images.length} images combined`, 'muted'));
  }
  return out;
}

function statsTable(a: ViewTensorStats, b: ViewTensorStats): HTMLTableElement {
  const t = el('table', undefined, 'tt-stats');
  const hdr = t.insertRow();
  for (const h of ['', 'reference', 'candidate']) hdr.appendChild(el('th', h));
  const rows: [string, (s: ViewTensorStats) => string][] = [
    ['shape', (s) => shape(s.shape)],
    ['mean', (s) => fmt(s.mean)],
    ['std', (s) => fmt(s.std)],
    ['min', (s) => fmt(s.min)],
    ['max', (s) => fmt(s.max)],
    ['NaN / Inf', (s) => `${s.nan} / ${s.inf}`],
  ];
  for (const [name, f] of rows) {
    const r = t.insertRow();
    r.appendChild(el('th', name));
    const ca = el('td', f(a));
    const cb = el('td', f(b));
    if (name === 'NaN / Inf' && (b.nan || b.inf) && !(a.nan || a.inf)) cb.className = 'bad';
    if (name === 'shape' && f(a) !== f(b)) cb.className = 'bad';
    r.append(ca, cb);
  }
  return t;
}

function diffTable(d: ViewDiffMetrics, local: ViewDiffMetrics | undefined, pass: boolean, rule: string): HTMLTableElement {
  const t = el('table', undefined, 'tt-diff');
  const rows: [string, string, string?][] = [
    ['max |a−b|', fmt(d.maxAbs)],
    ['rel L2', fmt(d.relL2)],
    ['cosine', fmt(d.cosine, 7)],
    ['scaled max', fmt(d.scaledMaxAbs)],
    ['verdict', `${pass ? 'passes' : 'fails'} ${rule}`, pass ? 'good' : 'bad'],
    ['accumulated / local', `${fmt(d.scaledMaxAbs)} / ${local ? fmt(local.scaledMaxAbs) : 'not measured'}`],
  ];
  for (const [k, v, cls] of rows) {
    const r = t.insertRow();
    r.appendChild(el('th', k));
    r.appendChild(el('td', v, cls));
  }
  return t;
}
