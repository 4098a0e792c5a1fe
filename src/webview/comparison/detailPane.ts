import * as d3 from 'd3';
import type { LayerDetailData } from '../../shared/comparisonProtocol';
import { el, fmt, shape } from './format';
import type { TreeNodeData } from './treeData';
import type { Verdicts } from './verdicts';

/**
 * The pane a click opens: which module, whether it passes, then (once fetched) the per-channel
 * error and both sides' value histograms. Drawing only; the caller fetches.
 */
export class DetailPane {
  readonly element: HTMLElement;

  constructor(parent: HTMLElement, onClose: () => void) {
    this.element = el('aside', undefined, 'detail');
    this.element.id = 'detail';
    this.element.hidden = true;
    parent.appendChild(this.element);
    this.onClose = onClose;
  }

  private readonly onClose: () => void;

  open(n: TreeNodeData, verdicts: Verdicts): void {
    this.element.hidden = false;
    const close = el('button', '×', 'close');
    close.title = 'Close';
    close.addEventListener('click', () => { this.element.hidden = true; this.onClose(); });
    const title = el('h2', n.id === '' ? n.name : n.id);
    const parts: HTMLElement[] = [close, title];
    const l = n.layer;
    if (l) {
      const pass = !verdicts.fails(l);
      parts.push(el('p', `${pass ? 'passes' : 'FAILS'} ${verdicts.description}: scaled max ${fmt(l.diff.scaledMaxAbs)} · shape ${shape(l.reference.shape)}`, pass ? 'good' : 'bad'));
    } else {
      parts.push(el('p', 'No record of this module in the comparison.', 'muted'));
    }
    const body = el('div', undefined, 'detail-body');
    body.id = 'detail-body';
    parts.push(body);
    this.element.replaceChildren(...parts);
  }

  private body(): HTMLElement {
    return this.element.querySelector<HTMLElement>('#detail-body')!;
  }

  loading(): void {
    this.body().replaceChildren(el('p', 'Computing per-channel errors…', 'muted'));
  }

  error(message: string): void {
    this.body().replaceChildren(el('p', message, 'bad'));
  }

  /** `caption`: whose records these are (one image of a comparison on many inputs). */
  show(d: LayerDetailData, caption?: string): void {
    const body = this.body();
    body.replaceChildren();
    if (caption) {
      const c = el('p', caption, 'muted');
      c.id = 'detail-image';
      body.appendChild(c);
    }
    body.appendChild(el('h3', `Per-channel max |a−b| (${d.channelMaxAbs.length} channels)`));
    body.appendChild(channelChart(d.channelMaxAbs));
    let worst = 0;
    for (let c = 1; c < d.channelMaxAbs.length; c++) if (!(d.channelMaxAbs[c] <= d.channelMaxAbs[worst])) worst = c;
    body.appendChild(el('p', `worst channel ${worst}: max ${fmt(d.channelMaxAbs[worst])}, mean ${fmt(d.channelMeanAbs[worst])}`, 'muted'));
    body.appendChild(el('h3', 'Values: reference vs candidate'));
    body.appendChild(histogramChart(d));
    const legend = el('p', undefined, 'hist-legend');
    legend.append(el('span', '■ reference', 'ref'), el('span', '  ■ candidate', 'cand'));
    body.appendChild(legend);
  }
}

const W = 300, H = 120, M = { top: 6, right: 6, bottom: 22, left: 44 };

function frame(): { svg: d3.Selection<SVGSVGElement, undefined, null, undefined>; g: d3.Selection<SVGGElement, undefined, null, undefined> } {
  const svg = d3.create('svg').attr('width', W).attr('height', H).attr('class', 'chart');
  const g = svg.append('g').attr('transform', `translate(${M.left},${M.top})`);
  return { svg, g };
}

function channelChart(values: Float32Array): SVGSVGElement {
  const { svg, g } = frame();
  const iw = W - M.left - M.right, ih = H - M.top - M.bottom;
  const x = d3.scaleLinear().domain([0, values.length]).range([0, iw]);
  const finite = Array.from(values).filter(Number.isFinite);
  const y = d3.scaleLinear().domain([0, d3.max(finite) || 1]).nice().range([ih, 0]);
  const bw = Math.max(0.5, iw / values.length - 0.5);
  g.append('g').attr('class', 'bars channel-bars').selectAll('rect').data(Array.from(values)).join('rect')
    .attr('x', (_d, i) => x(i)).attr('width', bw)
    .attr('y', (d) => (Number.isFinite(d) ? y(d) : 0)).attr('height', (d) => (Number.isFinite(d) ? ih - y(d) : ih))
    .classed('nan', (d) => !Number.isFinite(d));
  g.append('g').attr('transform', `translate(0,${ih})`).call(d3.axisBottom(x).ticks(5));
  g.append('g').call(d3.axisLeft(y).ticks(4, '.1e'));
  return svg.node()!;
}

function histogramChart(d: LayerDetailData): SVGSVGElement {
  const { svg, g } = frame();
  const iw = W - M.left - M.right, ih = H - M.top - M.bottom;
  const n = d.values.reference.length;
  const x = d3.scaleLinear().domain([d.values.lo, d.values.hi === d.values.lo ? d.values.lo + 1 : d.values.hi]).range([0, iw]);
  const max = Math.max(d3.max(d.values.reference) ?? 0, d3.max(d.values.candidate) ?? 0, 1);
  // Counts span decades (a ReLU output is mostly zeros): a log scale keeps the tails visible.
  const y = d3.scaleSymlog().domain([0, max]).range([ih, 0]);
  const step = (d.values.hi - d.values.lo) / n || 1 / n;
  const line = (counts: Uint32Array) =>
    d3.line<number>().curve(d3.curveStepAfter).x((_c, i) => x(d.values.lo + i * step)).y((c) => y(c))([...Array.from(counts), counts[n - 1] ?? 0]);
  g.append('path').attr('class', 'hist ref').attr('d', line(d.values.reference));
  g.append('path').attr('class', 'hist cand').attr('d', line(d.values.candidate));
  g.append('g').attr('transform', `translate(0,${ih})`).call(d3.axisBottom(x).ticks(5));
  g.append('g').call(d3.axisLeft(y).ticks(3, '~s'));
  return svg.node()!;
}
