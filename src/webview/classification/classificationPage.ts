import type { ClassificationData, classificationProtocol } from '../../shared/classificationProtocol';
import { basename, el } from '../comparison/format';
import type { HostConnection } from '../messaging';
import { keepResult, startResultPage } from '../resultPage';

/**
 * Classify Image's result page: the winner as the heading; the image, and beside it the top-5 as
 * a table whose probability column carries a bar (a meter for screen readers, its width set
 * through the CSSOM so the CSP needs no inline styles), then the checkpoint, preset, provider and
 * timings.
 */
export class ClassificationPage {
  private readonly app = document.getElementById('app')!;

  constructor(private readonly host: HostConnection<typeof classificationProtocol>) {}

  start(): Promise<void> {
    return startResultPage(async () => (await this.host.request({ type: 'ready' })).data, (d) => this.render(d), 'classification');
  }

  /** Shows `d`, replacing what is shown (the first result, or a newer one pushed by the host). */
  render(d: ClassificationData): void {
    keepResult(this.host.protocol, d);
    this.app.className = 'classification';
    const image = basename(d.image);
    const heading = el('h1');
    heading.append(el('span', `${image}: `, 'muted'), el('span', d.top[0]?.label ?? '?', 'winner'));

    const table = el('table', undefined, 'top5');
    table.id = 'top5';
    const head = table.createTHead().insertRow();
    for (const [h, cls] of [['#', 'rank'], ['class', ''], ['probability', 'prob'], ['index (wnid)', '']]) head.appendChild(el('th', h, cls || undefined));
    const body = table.createTBody();
    d.top.forEach((p, i) => {
      const r = body.insertRow();
      r.dataset.index = String(p.index);
      const pct = p.prob * 100;
      const bar = el('div', undefined, 'prob-bar');
      bar.setAttribute('role', 'meter');
      bar.setAttribute('aria-valuemin', '0');
      bar.setAttribute('aria-valuemax', '100');
      bar.setAttribute('aria-valuenow', pct.toFixed(2));
      bar.setAttribute('aria-label', `${p.label}: ${pct.toFixed(2)} %`);
      const fill = el('div', undefined, 'prob-fill');
      // At least a hairline, so that a 0.00 % row still shows where its bar starts.
      fill.style.width = `${Math.max(0.5, Math.min(100, pct))}%`;
      bar.appendChild(fill);
      const probCell = el('td', undefined, 'prob');
      const cell = el('div', undefined, 'prob-cell');
      cell.append(bar, el('span', `${pct.toFixed(2)} %`, 'mono prob-text'));
      probCell.appendChild(cell);
      r.append(el('td', String(i + 1), 'rank'), el('td', p.label, 'label'), probCell, el('td', `${p.index} (${p.wnid})`, 'mono muted'));
    });

    const facts = el('table', undefined, 'facts');
    facts.id = 'facts';
    const row = (k: string, v: string, cls?: string) => {
      const r = facts.insertRow();
      r.dataset.fact = k;
      r.append(el('th', k), el('td', v, cls));
    };
    const ms = (x: number) => `${x.toFixed(0)} ms`;
    row('checkpoint', `${basename(d.checkpoint)} (${d.variant})`, 'mono');
    row('preprocessing', `${d.preset}: ${d.presetDescription}`);
    row('provider', d.providerDetail);
    row('time', `${ms(d.timingsMs.preprocess)} preprocessing, ${ms(d.timingsMs.inference)} inference` +
      (d.timingsMs.load > 1 ? `, ${ms(d.timingsMs.load)} loading the model` : ' (model already loaded)'));
    const where = el('p', d.image, 'muted mono path');
    const result = el('div', undefined, 'result');
    result.append(table, facts, where);
    const columns = el('div', undefined, 'classification-body');
    columns.append(figure(d), result);
    this.app.replaceChildren(heading, columns);
    document.body.dataset.ready = 'true';
  }
}

/** The image as classified (Pillow's pixels: no EXIF rotation), with its file name and size. */
function figure(d: ClassificationData): HTMLElement {
  const fig = el('figure', undefined, 'image');
  if (d.thumbnail) {
    const img = el('img');
    img.id = 'image';
    img.src = d.thumbnail.uri;
    img.alt = `${basename(d.image)}, classified as ${d.top[0]?.label ?? '?'}`;
    fig.append(img, el('figcaption', `${basename(d.image)} · ${d.thumbnail.width}×${d.thumbnail.height}`, 'muted'));
  } else {
    fig.append(el('figcaption', `${basename(d.image)}: no preview of this image`, 'muted'));
  }
  return fig;
}
