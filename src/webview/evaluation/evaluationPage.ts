import type { EvaluationData, EvaluationDisagreement, RankedClass, SideFigures, evaluationProtocol } from '../../shared/evaluationProtocol';
import { basename, el } from '../comparison/format';
import type { HostConnection } from '../messaging';
import { keepResult, startResultPage } from '../resultPage';

/** Worst classes shown as bars; the full list is in --json and the predictions file. */
const SHOWN_CLASSES = 40;

/**
 * The evaluation results page: the figures (and the other side's, with the agreement, for an
 * agreement run), per-class top-1 as bars (worst first), the most confused pairs, the images the two
 * sides disagree on with their thumbnails and both top-5s (a click opens the two sides on that
 * image), and the images that could not be read. Every number is the engine's.
 */
export class EvaluationPage {
  private readonly app = document.getElementById('app')!;
  private readonly status = el('p', '', 'muted status');

  constructor(private readonly host: HostConnection<typeof evaluationProtocol>) {
    this.status.id = 'status';
  }

  start(): Promise<void> {
    return startResultPage(async () => (await this.host.request({ type: 'ready' })).data, (d) => this.render(d), 'evaluation');
  }

  render(d: EvaluationData): void {
    keepResult(this.host.protocol, d);
    this.app.className = 'evaluation';
    const heading = el('h1');
    heading.append(el('span', 'top-1 ', 'muted'), el('span', pct(d.top1), 'figure-top1'), el('span', ` · ${basename(d.weights)} on ${basename(d.dataset)}`, 'muted'));
    const parts: HTMLElement[] = [heading];
    if (d.partial) parts.push(el('p', `Stopped before the end: ${d.count} of ${d.total} images evaluated. Run again to finish (the predictions file resumes).`, 'bad'));
    parts.push(figures(d));
    if (d.against) parts.push(...this.disagreements(d));
    parts.push(section('Most confused', confusionTable(d)), section(`Per-class top-1 (worst ${Math.min(SHOWN_CLASSES, d.perClass.length)} of ${d.perClass.length} classes)`, classBars(d)));
    if (d.failed.length) {
      const list = el('ul', undefined, 'failed');
      list.id = 'failed';
      for (const f of d.failed) list.appendChild(el('li', `${f.image}: ${f.error}`, 'mono'));
      parts.push(section(`${d.failed.length} images could not be evaluated`, list));
    }
    parts.push(this.status);
    this.app.replaceChildren(...parts);
    document.body.dataset.ready = 'true';
  }

  private disagreements(d: EvaluationData): HTMLElement[] {
    const shown = d.disagreements ?? [];
    const other = d.against!.kind === 'preset' ? `preset ${d.against!.source}` : basename(d.against!.source);
    const list = el('div', undefined, 'disagreements');
    list.id = 'disagreements';
    for (const x of shown) list.appendChild(this.disagreement(x, d, other));
    const more = (d.disagreementCount ?? shown.length) - shown.length;
    const title = `The two disagree on ${d.disagreementCount ?? shown.length} images (agreement ${pct(d.agreement ?? 0)})${more > 0 ? `; the first ${shown.length} shown, all in the predictions file` : ''}`;
    return [section(title, shown.length ? list : el('p', 'No image has a different top-1.', 'good'))];
  }

  private disagreement(x: EvaluationDisagreement, d: EvaluationData, other: string): HTMLElement {
    const row = el('button', undefined, 'disagreement');
    row.type = 'button';
    row.dataset.i = String(x.i);
    row.title = d.against!.kind === 'preset' ? 'Compare the two preprocessings of this image' : 'Compare the two checkpoints on this image, layer by layer';
    if (x.thumbnail) {
      const img = el('img');
      img.src = x.thumbnail;
      img.alt = x.image;
      row.appendChild(img);
    }
    const text = el('div', undefined, 'disagreement-text');
    text.append(el('div', x.image, 'mono'), el('div', `label ${x.labelName} (${x.label})`, 'muted'));
    const sides = el('div', undefined, 'sides');
    sides.append(topList(basename(d.weights), x.a, x.label), topList(other, x.b, x.label));
    text.appendChild(sides);
    row.appendChild(text);
    row.addEventListener('click', () => {
      this.status.textContent = `Opening ${x.image}…`;
      this.host.request({ type: 'openDisagreement', i: x.i }).then(
        (r) => { this.status.textContent = r.message; },
        (err: Error) => { this.status.textContent = err.message; },
      );
    });
    return row;
  }
}

function figures(d: EvaluationData): HTMLElement {
  const t = el('table', undefined, 'figures');
  t.id = 'figures';
  const head = t.createTHead().insertRow();
  head.append(el('th', ''), el('th', basename(d.weights), 'mono'));
  if (d.against) head.appendChild(el('th', d.against.kind === 'preset' ? `preset ${d.against.source}` : basename(d.against.source), 'mono'));
  const body = t.createTBody();
  const row = (key: string, f: (s: SideFigures) => string) => {
    const r = body.insertRow();
    r.dataset.figure = key;
    r.append(el('th', key), el('td', f(d)));
    if (d.against) r.appendChild(el('td', f(d.against)));
  };
  row('top-1', (s) => `${pct(s.top1)} (${s.correct1})`);
  row('top-5', (s) => `${pct(s.top5)} (${s.correct5})`);
  row('loss', (s) => s.loss.toFixed(4));
  const fact = (key: string, value: string) => {
    const r = body.insertRow();
    r.dataset.figure = key;
    const cell = el('td', value);
    cell.colSpan = d.against ? 2 : 1;
    r.append(el('th', key), cell);
  };
  if (d.against) {
    fact('agreement', `${pct(d.agreement ?? 0)} same top-1`);
    fact('mean |logit diff|', (d.meanAbsLogitDiff ?? 0).toExponential(3));
  }
  fact('images', `${d.count} of ${d.total}${d.failed.length ? `, ${d.failed.length} failed` : ''}`);
  fact('preprocessing', `${d.preset}: ${d.presetDescription}`);
  fact('provider', `${d.provider}, ${d.imagesPerSecond.toFixed(1)} images/s`);
  fact('images from', d.dataset);
  return t;
}

function confusionTable(d: EvaluationData): HTMLElement {
  if (d.confusions.length === 0) return el('p', 'No image was misclassified.', 'good');
  const t = el('table', undefined, 'confusions');
  t.id = 'confusions';
  const head = t.createTHead().insertRow();
  for (const h of ['images', 'label', 'predicted']) head.appendChild(el('th', h));
  const body = t.createTBody();
  for (const c of d.confusions) {
    const r = body.insertRow();
    r.append(el('td', String(c.count), 'mono'), el('td', c.labelName), el('td', c.predictedName));
  }
  return t;
}

function classBars(d: EvaluationData): HTMLElement {
  const worst = [...d.perClass].sort((a, b) => a.top1 - b.top1 || a.index - b.index).slice(0, SHOWN_CLASSES);
  const list = el('div', undefined, 'class-bars');
  list.id = 'per-class';
  for (const c of worst) {
    const row = el('div', undefined, 'class-row');
    row.dataset.index = String(c.index);
    const bar = el('div', undefined, 'prob-bar');
    bar.setAttribute('role', 'meter');
    bar.setAttribute('aria-valuemin', '0');
    bar.setAttribute('aria-valuemax', '100');
    bar.setAttribute('aria-valuenow', (100 * c.top1).toFixed(1));
    bar.setAttribute('aria-label', `${c.name}: top-1 ${pct(c.top1)}`);
    const fill = el('div', undefined, 'prob-fill');
    // Width through the CSSOM: the page's CSP allows no inline style attributes.
    fill.style.width = `${Math.max(0.5, 100 * c.top1)}%`;
    bar.appendChild(fill);
    row.append(el('span', c.name, 'class-name'), bar, el('span', `${c.correct1}/${c.count}`, 'mono class-count'));
    list.appendChild(row);
  }
  return list;
}

function topList(title: string, top: readonly RankedClass[], label: number): HTMLElement {
  const box = el('div', undefined, 'side');
  box.appendChild(el('div', title, 'side-title mono'));
  const ol = el('ol');
  for (const p of top) ol.appendChild(el('li', `${p.name} ${pct(p.prob)}`, p.index === label ? 'good' : undefined));
  box.appendChild(ol);
  return box;
}

function section(title: string, body: HTMLElement): HTMLElement {
  const s = el('section');
  s.append(el('h2', title), body);
  return s;
}

function pct(x: number): string {
  return `${(100 * x).toFixed(2)}%`;
}
