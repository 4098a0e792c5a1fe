import * as d3 from 'd3';

/**
 * A log colour scale over the positive values of one metric: green where ports agree, red where
 * they do not. Zero (bit-identical) takes the low end; NaN has its own colour, because a NaN is a
 * finding in itself and must not blend into "large".
 */
export const NAN_COLOUR = '#d62dd6';

export class ColourScale {
  readonly lo: number;
  readonly hi: number;
  private readonly scale: d3.ScaleSequential<string>;

  constructor(values: Iterable<number | undefined>) {
    let lo = Infinity, hi = 0;
    for (const v of values) {
      if (v === undefined || !Number.isFinite(v) || v <= 0) continue;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    if (!(hi > 0)) { lo = 1e-9; hi = 1e-8; }
    // Keep at least one decade so that a near-constant metric is not stretched over the palette.
    if (hi / lo < 10) lo = hi / 10;
    this.lo = lo;
    this.hi = hi;
    this.scale = d3.scaleSequentialLog((t: number) => d3.interpolateRdYlGn(1 - t)).domain([lo, hi]).clamp(true);
  }

  colour(v: number | undefined): string | null {
    if (v === undefined) return null;
    if (Number.isNaN(v)) return NAN_COLOUR;
    if (v === Infinity) return this.scale(this.hi);
    return this.scale(Math.max(v, this.lo));
  }
}

/** Draws the legend (gradient, log ticks, the tolerance marker) into `svg`, replacing its content. */
export function drawLegend(svg: SVGSVGElement, scale: ColourScale, label: string, tolerance: number | undefined): void {
  const width = 260, height = 12, margin = 8, keyWidth = 230;
  const root = d3.select(svg).attr('width', width + 3 * margin + keyWidth).attr('height', 44);
  root.selectAll('*').remove();
  const gradId = 'legend-gradient';
  const grad = root.append('defs').append('linearGradient').attr('id', gradId);
  const x = d3.scaleLog().domain([scale.lo, scale.hi]).range([0, width]);
  for (let i = 0; i <= 10; i++) {
    const v = scale.lo * Math.pow(scale.hi / scale.lo, i / 10);
    grad.append('stop').attr('offset', `${i * 10}%`).attr('stop-color', scale.colour(v)!);
  }
  const g = root.append('g').attr('transform', `translate(${margin},2)`);
  g.append('rect').attr('width', width).attr('height', height).attr('fill', `url(#${gradId})`);
  const decades = Math.ceil(Math.log10(scale.hi / scale.lo));
  g.append('g')
    .attr('class', 'legend-axis')
    .attr('transform', `translate(0,${height})`)
    .call(d3.axisBottom(x).ticks(Math.min(6, decades + 1), '.0e').tickSizeOuter(0));
  if (tolerance !== undefined && tolerance >= scale.lo && tolerance <= scale.hi) {
    g.append('line').attr('class', 'legend-tol').attr('x1', x(tolerance)).attr('x2', x(tolerance)).attr('y1', -2).attr('y2', height + 2);
  }
  // The verdict by shape as well as by colour: what a circle, a square and a dashed ring mean.
  const key = root.append('g').attr('class', 'legend-key').attr('transform', `translate(${width + 3 * margin + 6},0)`);
  const items: [string, string, string][] = [
    ['pass', d3.symbol(d3.symbolCircle, 36 * Math.PI)()!, 'passes'],
    ['fail', d3.symbol(d3.symbolSquare, 36 * Math.PI)()!, 'fails (scaled max over the tolerance)'],
    ['unrecorded', d3.symbol(d3.symbolCircle, 36 * Math.PI)()!, 'not recorded'],
  ];
  items.forEach(([cls, d, text], i) => {
    const row = key.append('g').attr('class', `key-${cls}`).attr('transform', `translate(0,${7 + i * 14})`);
    row.append('path').attr('class', 'glyph').attr('d', d);
    row.append('text').attr('x', 12).attr('dy', '0.32em').text(text);
  });
  root.append('title').text(`${label}, log scale${tolerance !== undefined ? `; the black mark is the tolerance ${tolerance}` : ''}`);
}
