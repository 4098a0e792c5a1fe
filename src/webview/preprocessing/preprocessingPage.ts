import type { ClassificationPrediction } from '../../shared/classificationProtocol';
import type {
  DifferenceSummary, PngImage, PreprocessingData, PreprocessingSideData, preprocessingProtocol,
} from '../../shared/preprocessingProtocol';
import { basename, el, fmt } from '../comparison/format';
import type { HostConnection } from '../messaging';
import { keepResult, startResultPage } from '../resultPage';

/**
 * Compare Preprocessing's page: the two crops side by side with the heat map of their difference
 * and its colour scale, the pixel and tensor statistics, what each preset did, and with a model
 * both top-5s side by side, the ranks whose classes differ marked (with a sign, not colour alone).
 * Everything shown is a number or picture the engine made; exact values ride along as data-value
 * attributes so that tests read what was computed, not its rounding.
 */
export class PreprocessingPage {
  private readonly app = document.getElementById('app')!;

  constructor(private readonly host: HostConnection<typeof preprocessingProtocol>) {}

  start(): Promise<void> {
    return startResultPage(async () => (await this.host.request({ type: 'ready' })).data, (d) => this.render(d), 'preprocessing comparison');
  }

  /** Shows `d`, replacing what is shown (the first comparison, or a newer one pushed by the host). */
  render(d: PreprocessingData): void {
    keepResult(this.host.protocol, d);
    this.app.className = 'preprocessing';
    const heading = el('h1');
    heading.append(el('span', `${basename(d.image)}: `, 'muted'), el('span', d.a.label, 'preset'), el('span', ' vs ', 'muted'), el('span', d.b.label, 'preset'));

    const images = el('div', undefined, 'pre-images');
    images.append(cropFigure('crop-a', d.a), cropFigure('crop-b', d.b));
    if (d.heatmap) images.append(heatmapFigure(d));

    const parts: HTMLElement[] = [heading, verdict(d), images, el('h2', 'Differences'), differences(d), el('h2', 'Presets'), presets(d)];
    parts.push(el('h2', 'Top-5'), ...topFive(d));
    parts.push(el('p', `${d.image} · compared in ${d.ms.toFixed(0)} ms`, 'muted mono path'));
    this.app.replaceChildren(...parts);
    document.body.dataset.ready = 'true';
  }
}

/** One sentence with the engine's verdicts: how much the crops differ and whether the top-1 does. */
function verdict(d: PreprocessingData): HTMLElement {
  const p = el('p', undefined, 'verdict');
  p.id = 'verdict';
  if (!d.pixels) {
    p.textContent = `Not compared pixel by pixel: ${d.incomparable ?? 'the crops cannot be compared'}.`;
  } else if (d.pixels.differing === 0) {
    p.textContent = 'The two crops are identical, pixel for pixel.';
  } else {
    p.textContent = `The crops differ at ${pct(d.pixels.differingShare)} of pixels, by up to ${d.pixels.max} levels.`;
  }
  if (d.model && d.a.top && d.b.top) {
    const same = !d.model.top1Differs;
    const top1 = el('span', same
      ? ` The top-1 is the same: ${d.a.top[0]?.label ?? '?'}.`
      : ` The top-1 differs: ${d.a.top[0]?.label ?? '?'} (${d.a.label}) vs ${d.b.top[0]?.label ?? '?'} (${d.b.label}).`, same ? 'good' : 'bad');
    top1.id = 'top1';
    top1.dataset.differs = String(!same);
    p.append(top1);
  }
  return p;
}

function cropFigure(id: string, s: PreprocessingSideData): HTMLElement {
  const fig = el('figure', undefined, 'crop');
  fig.id = id;
  fig.append(picture(s.crop, `The ${s.label} crop`), el('figcaption', `${s.label} · ${s.crop.width}×${s.crop.height} crop${s.channels === 'bgr' ? ' (fed as BGR)' : ''}`, 'muted'));
  return fig;
}

function heatmapFigure(d: PreprocessingData): HTMLElement {
  const h = d.heatmap!;
  const fig = el('figure', undefined, 'heatmap');
  fig.id = 'heatmap';
  const legend = el('div', undefined, 'heat-legend');
  legend.id = 'heat-legend';
  legend.dataset.scaleMax = String(h.scaleMax);
  const ramp = picture(h.legend, `Colour scale: black is 0 (identical), the brightest colour ${h.scaleMax} levels`);
  const labels = el('div', undefined, 'heat-labels mono');
  labels.append(el('span', '0'), el('span', `${h.scaleMax} levels`));
  legend.append(ramp, labels);
  fig.append(picture(h.image, `Difference of the two crops, max over R, G, B of |${d.a.label} − ${d.b.label}|`),
    el('figcaption', `|a − b| per pixel, max over R, G, B · black: identical`, 'muted'), legend);
  return fig;
}

function picture(img: PngImage, alt: string): HTMLImageElement {
  const i = el('img');
  i.src = img.uri;
  i.alt = alt;
  i.width = img.width;
  i.height = img.height;
  return i;
}

function differences(d: PreprocessingData): HTMLElement {
  if (!d.pixels || !d.tensor) {
    const p = el('p', d.incomparable ?? 'Not compared.', 'muted');
    p.id = 'incomparable';
    return p;
  }
  const table = el('table', undefined, 'stats');
  table.id = 'stats';
  const head = table.createTHead().insertRow();
  for (const h of ['', 'max |a − b|', 'mean |a − b|', 'differ']) head.appendChild(el('th', h));
  const body = table.createTBody();
  const row = (key: string, title: string, s: DifferenceSummary, unit: string, max: string) => {
    const r = body.insertRow();
    r.dataset.stat = key;
    r.appendChild(el('th', title));
    r.append(cell('max', s.max, max), cell('mean', s.mean, fmt(s.mean)),
      cell('differingShare', s.differingShare, `${pct(s.differingShare)} (${s.differing} of ${s.total} ${unit})`));
  };
  row('pixels', 'crop pixels (uint8 levels)', d.pixels, 'pixels', String(d.pixels.max));
  row('tensor', 'model input tensor', d.tensor, 'values', fmt(d.tensor.max));
  if (d.model) {
    const r = body.insertRow();
    r.dataset.stat = 'logits';
    r.append(el('th', 'logits'), cell('max', d.model.logitsMaxAbs, fmt(d.model.logitsMaxAbs)), el('td'), el('td'));
  }
  return table;
}

function cell(field: string, value: number, text: string): HTMLTableCellElement {
  const td = el('td', text, 'mono');
  td.dataset.field = field;
  td.dataset.value = String(value);
  return td;
}

function presets(d: PreprocessingData): HTMLElement {
  const table = el('table', undefined, 'facts presets');
  table.id = 'presets';
  for (const [key, s] of [['a', d.a], ['b', d.b]] as const) {
    const r = table.insertRow();
    r.dataset.side = key;
    const what = el('td');
    what.append(el('div', s.description),
      el('div', `${s.decoder === 'opencv' ? 'OpenCV' : 'Pillow'} decoder · decoded ${s.decoded.width}×${s.decoded.height} → resized ${s.resized.width}×${s.resized.height} → crop ${s.crop.width}×${s.crop.height}`, 'muted'));
    if (s.config) what.append(el('div', `from ${s.config}`, 'muted mono path'));
    r.append(el('th', s.label), what);
  }
  return table;
}

function topFive(d: PreprocessingData): HTMLElement[] {
  if (!d.model || !d.a.top || !d.b.top) {
    const p = el('p', 'Compared without a model. Set dlaLens.checkpoint (DLA: Choose Classification Checkpoint) to see both top-5s.', 'muted');
    p.id = 'no-model';
    return [p];
  }
  const m = d.model;
  const table = el('table', undefined, 'top5 top5-pair');
  table.id = 'top5-pair';
  const head = table.createTHead().insertRow();
  for (const [h, cls] of [['#', 'rank'], [d.a.label, ''], ['', 'pct'], ['', 'same'], [d.b.label, ''], ['', 'pct']]) head.appendChild(el('th', h, cls || undefined));
  const body = table.createTBody();
  const n = Math.max(d.a.top.length, d.b.top.length);
  for (let i = 0; i < n; i++) {
    const r = body.insertRow();
    const differs = m.rankDiffers[i] ?? true;
    r.dataset.differs = String(differs);
    if (differs) r.classList.add('differs');
    const mark = el('td', differs ? '≠' : '=', 'same');
    mark.title = differs ? 'different classes at this rank' : 'the same class at this rank';
    r.append(el('td', String(i + 1), 'rank'), ...prediction(d.a.top[i], 'a'), mark, ...prediction(d.b.top[i], 'b'));
  }
  const facts = el('table', undefined, 'facts');
  facts.id = 'model-facts';
  const row = (k: string, v: string, cls?: string) => {
    const r = facts.insertRow();
    r.dataset.fact = k;
    r.append(el('th', k), el('td', v, cls));
  };
  row('checkpoint', `${basename(m.checkpoint)} (${m.variant})`, 'mono');
  row('provider', m.provider);
  return [table, facts];
}

function prediction(p: ClassificationPrediction | undefined, side: string): HTMLTableCellElement[] {
  const label = el('td', p ? `${p.label} (${p.index})` : '—', `label side-${side}`);
  const prob = el('td', p ? `${(p.prob * 100).toFixed(2)} %` : '', 'mono pct');
  if (p) {
    label.dataset.index = String(p.index);
    prob.dataset.value = String(p.prob);
  }
  return [label, prob];
}

function pct(share: number): string {
  return `${(share * 100).toFixed(1)} %`;
}
