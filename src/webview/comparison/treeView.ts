import * as d3 from 'd3';
import type { ViewLayer } from '../../shared/comparisonProtocol';
import type { ColourScale } from './colour';
import { HEAD_ID, subtreeFails, type TreeNodeData } from './treeData';

/**
 * The collapsible DLA tree (d3-hierarchy tree(), after the classic collapsible-tree pattern): the
 * hierarchy and layout are built once, one update(source) recomputes positions, every join is
 * keyed by module path, nodes enter from and exit to the clicked node, and the collapse state
 * lives on the nodes. On top of the hierarchy it draws the aggregation edges: the IDA spine
 * between stages, IDA edges from a level_root tree's stage input to its root, and HDA edges from
 * each child a root concatenates. It knows nothing of messaging: callers pass callbacks.
 */

interface VNode extends d3.HierarchyPointNode<TreeNodeData> {
  /** Every child, whatever the filter or collapse state says. */
  all: VNode[];
  collapsed: boolean;
  x0: number;
  y0: number;
}

interface AggEdge {
  readonly key: string;
  readonly kind: 'hda' | 'ida';
  readonly source: VNode;
  readonly target: VNode;
}

export interface TreeViewCallbacks {
  onHover(node: TreeNodeData | null, event: MouseEvent): void;
  onSelect(node: TreeNodeData): void;
  /** After each layout (not after a recolour): how long it took, for the Rendered notification. */
  onLayout(ms: number, nodes: number): void;
  /** Collapse state or zoom changed (to persist). */
  onViewChange(): void;
}

export interface Colouring {
  readonly value: (n: TreeNodeData) => number | undefined;
  readonly scale: ColourScale;
  readonly fails: (n: TreeNodeData) => boolean;
  /** The page's verdict per record (the report's, or its rule re-applied): what "only failing" keeps. */
  readonly recordFails: (l: ViewLayer) => boolean;
}

const DX = 22; // vertical distance between siblings
const DY = 190; // horizontal distance between depths
const DURATION = 250;

export class TreeView {
  private readonly svg: d3.Selection<SVGSVGElement, unknown, null, undefined>;
  private readonly g: d3.Selection<SVGGElement, unknown, null, undefined>;
  private readonly gLinks: d3.Selection<SVGGElement, unknown, null, undefined>;
  private readonly gAgg: d3.Selection<SVGGElement, unknown, null, undefined>;
  private readonly gNodes: d3.Selection<SVGGElement, unknown, null, undefined>;
  private readonly zoom: d3.ZoomBehavior<SVGSVGElement, unknown>;
  private readonly layout = d3.tree<TreeNodeData>().nodeSize([DX, DY]);
  private readonly root: VNode;
  private readonly byId = new Map<string, VNode>();
  private colouring: Colouring | undefined;
  private onlyFailing = false;
  private selected: string | undefined;
  private firstDivergence: string | undefined;
  private matches = new Set<string>();

  constructor(container: HTMLElement, data: TreeNodeData, private readonly cb: TreeViewCallbacks) {
    this.svg = d3.select(container).append('svg').attr('class', 'tree').attr('role', 'tree');
    this.svg.append('defs').html(
      '<marker id="arrow-ida" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path class="arrow-ida" d="M0,0L10,5L0,10z"/></marker>' +
      '<marker id="arrow-hda" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse"><path class="arrow-hda" d="M0,0L10,5L0,10z"/></marker>',
    );
    this.g = this.svg.append('g');
    this.gLinks = this.g.append('g').attr('class', 'links');
    this.gAgg = this.g.append('g').attr('class', 'agg');
    this.gNodes = this.g.append('g').attr('class', 'nodes');
    this.zoom = d3.zoom<SVGSVGElement, unknown>().scaleExtent([0.1, 3]).on('zoom', (e: d3.D3ZoomEvent<SVGSVGElement, unknown>) => {
      this.g.attr('transform', e.transform.toString());
    }).on('end', () => this.cb.onViewChange());
    this.svg.call(this.zoom).on('dblclick.zoom', null);

    this.root = d3.hierarchy(data, (d) => d.children) as VNode;
    this.root.each((n) => {
      const v = n as VNode;
      v.all = (v.children ?? []) as VNode[];
      v.collapsed = false;
      v.x0 = 0;
      v.y0 = 0;
      this.byId.set(v.data.id, v);
    });
    this.resetExpansion();
  }

  /** Default: the model, the stages and their trees open; blocks, roots and the head closed. */
  resetExpansion(): void {
    for (const v of this.byId.values()) v.collapsed = !(v.data.role === 'model' || v.data.role === 'stage' || v.data.role === 'tree');
  }

  expandAll(): void {
    for (const v of this.byId.values()) v.collapsed = false;
  }

  /**
   * Every open node with children, shown or not (an open block inside a collapsed stage too), so
   * that setExpanded() gives back exactly this tree. `root.each` would see only what is shown:
   * update() leaves a collapsed node without `children`.
   */
  expandedIds(): string[] {
    const out: string[] = [];
    for (const v of this.byId.values()) if (!v.collapsed && v.all.length) out.push(v.data.id);
    return out;
  }

  setExpanded(ids: readonly string[]): void {
    const open = new Set(ids);
    for (const v of this.byId.values()) v.collapsed = !open.has(v.data.id);
  }

  /** Opens every ancestor of `id` (and `id` itself when asked). */
  expandPathTo(id: string, self = false): void {
    const n = this.byId.get(id);
    if (!n) return;
    if (self) n.collapsed = false;
    for (let p = n.parent as VNode | null; p; p = p.parent as VNode | null) p.collapsed = false;
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  setColouring(c: Colouring): void {
    this.colouring = c;
  }

  setOnlyFailing(on: boolean): void {
    this.onlyFailing = on;
  }

  setFirstDivergence(id: string | undefined): void {
    this.firstDivergence = id;
  }

  setSelected(id: string | undefined): void {
    this.selected = id;
    this.gNodes.selectAll<SVGGElement, VNode>('g.node').classed('selected', (d) => d.data.id === id);
  }

  /**
   * Module ids containing `query` (case-insensitive), in collapsed subtrees too. All are marked;
   * returned and revealed (their ancestors opened, unless `expand` is false) are the outermost
   * ones: 'level2.tree2' shows that block, not every module inside it, which match as well.
   */
  search(query: string, expand = true): string[] {
    const q = query.trim().toLowerCase();
    this.matches = new Set();
    const outermost: string[] = [];
    if (!q) return outermost;
    for (const id of this.byId.keys()) {
      if (id.toLowerCase().includes(q) && id !== HEAD_ID) this.matches.add(id);
    }
    for (const id of this.matches) {
      let inner = false;
      for (let p = this.byId.get(id)!.parent; p && !inner; p = p.parent) inner = this.matches.has(p.data.id);
      if (!inner) outermost.push(id);
    }
    if (expand) for (const id of outermost) this.expandPathTo(id);
    return outermost;
  }

  get zoomTransform(): { x: number; y: number; k: number } {
    const t = d3.zoomTransform(this.svg.node()!);
    return { x: t.x, y: t.y, k: t.k };
  }

  setZoom(t: { x: number; y: number; k: number }): void {
    this.svg.call(this.zoom.transform, d3.zoomIdentity.translate(t.x, t.y).scale(t.k));
  }

  /** Pans so that `id` is in view (at the current zoom). */
  centreOn(id: string): void {
    const n = this.byId.get(id);
    if (!n || !this.isShown(n)) return;
    const box = this.svg.node()!.getBoundingClientRect();
    const k = d3.zoomTransform(this.svg.node()!).k;
    // Keep the model's left edge in view when the node fits; otherwise bring the node to 70 %.
    const x = Math.min(40, box.width * 0.7 - n.y * k);
    this.svg.transition().duration(DURATION).call(this.zoom.transform, d3.zoomIdentity.translate(x, box.height / 2 - n.x * k).scale(k));
  }

  /** Initial placement: the model node at the left, the spine starting near the top. */
  fit(): void {
    const box = this.svg.node()!.getBoundingClientRect();
    const top = d3.min(this.root.descendants(), (d) => d.x) ?? 0;
    this.svg.call(this.zoom.transform, d3.zoomIdentity.translate(40, Math.max(30, Math.min(box.height / 2, 30 - top))));
  }

  /** Re-colours every node without touching the layout (metric or tolerance changes). */
  recolour(): number {
    const start = performance.now();
    this.paint(this.gNodes.selectAll<SVGGElement, VNode>('g.node'));
    return performance.now() - start;
  }

  private isShown(n: VNode): boolean {
    for (let p = n.parent as VNode | null; p; p = p.parent as VNode | null) {
      if (p.collapsed || !p.children?.includes(n)) return false;
      n = p;
    }
    return true;
  }

  /** Sets `children` from `all` by collapse state and filter: the only input to the layout. */
  private applyVisibility(): void {
    const recordFails = this.colouring?.recordFails ?? (() => false);
    const memo = new Map<string, boolean>();
    this.root.each((n) => {
      const v = n as VNode;
      const kids = this.onlyFailing ? v.all.filter((c) => subtreeFails(c.data, recordFails, memo)) : v.all;
      (v as { children?: VNode[] }).children = v.collapsed || kids.length === 0 ? undefined : kids;
    });
  }

  /** Recomputes the layout and transitions from `source` (the toggled node; the root at first). */
  update(source: VNode | string = this.root, animate = true): void {
    const start = performance.now();
    const src = typeof source === 'string' ? (this.byId.get(source) ?? this.root) : source;
    this.applyVisibility();
    this.layout(this.root);
    const nodes = this.root.descendants() as VNode[];
    const shown = new Map(nodes.map((n) => [n.data.id, n]));
    const duration = animate ? DURATION : 0;
    const t = this.svg.transition().duration(duration) as unknown as d3.Transition<d3.BaseType, unknown, null, undefined>;

    // Nodes: enter at the source's previous position, exit to its new one.
    const node = this.gNodes.selectAll<SVGGElement, VNode>('g.node').data(nodes, (d) => d.data.id);
    const enter = node.enter().append('g')
      .attr('class', 'node')
      .attr('data-id', (d) => d.data.id)
      .attr('role', 'treeitem')
      .attr('transform', `translate(${src.y0},${src.x0})`)
      .on('mouseenter', (e: MouseEvent, d) => this.cb.onHover(d.data, e))
      .on('mousemove', (e: MouseEvent, d) => this.cb.onHover(d.data, e))
      .on('mouseleave', (e: MouseEvent) => this.cb.onHover(null, e));
    // The node's glyph: a circle where the module passes, a square where it fails, so that the
    // verdict does not rest on colour alone (high-contrast themes, colour-blind readers).
    enter.append('path').attr('class', 'glyph')
      .on('click', (e: MouseEvent, d) => { e.stopPropagation(); this.toggle(d); });
    enter.append('text').attr('class', 'label').attr('dy', '0.32em').attr('x', 10)
      .text((d) => d.data.name)
      .on('click', (e: MouseEvent, d) => { e.stopPropagation(); this.cb.onSelect(d.data); });
    enter.append('text').attr('class', 'badge').attr('dy', '0.32em').attr('x', -10).attr('text-anchor', 'end');
    const merged = enter.merge(node);
    merged.classed('collapsed', (d) => d.collapsed && d.all.length > 0)
      .classed('selected', (d) => d.data.id === this.selected)
      .classed('match', (d) => this.matches.has(d.data.id))
      .classed('first-divergence', (d) => d.data.id === this.firstDivergence)
      .attr('aria-expanded', (d) => (d.all.length ? String(!d.collapsed) : null));
    merged.select<SVGTextElement>('text.badge').text((d) => (d.data.id === this.firstDivergence ? '◆ first divergence' : ''));
    this.paint(merged);
    merged.transition(t).attr('transform', (d) => `translate(${d.y},${d.x})`);
    node.exit<VNode>().transition(t).attr('transform', `translate(${src.y},${src.x})`).remove();

    // Hierarchy links; from the model node only to the first stage, the spine does the rest.
    const links = (this.root.links() as d3.HierarchyPointLink<TreeNodeData>[]).filter((l) => l.source !== this.root || l.target === this.root.children?.[0]);
    const diag = d3.linkHorizontal<unknown, { x: number; y: number }>().x((d) => d.y).y((d) => d.x);
    const link = this.gLinks.selectAll<SVGPathElement, d3.HierarchyPointLink<TreeNodeData>>('path.link').data(links, (d) => d.target.data.id);
    link.enter().append('path').attr('class', 'link')
      .attr('d', () => diag({ source: { x: src.x0, y: src.y0 }, target: { x: src.x0, y: src.y0 } }))
      .merge(link)
      .transition(t).attr('d', (d) => diag(d));
    link.exit().transition(t).attr('d', () => diag({ source: { x: src.x, y: src.y }, target: { x: src.x, y: src.y } })).remove();

    // Aggregation edges between what is shown.
    const agg = this.aggregationEdges(shown);
    const edge = this.gAgg.selectAll<SVGPathElement, AggEdge>('path.edge').data(agg, (d) => d.key);
    edge.enter().append('path')
      .attr('class', (d) => `edge edge-${d.kind}`)
      .attr('data-edge', (d) => d.key)
      .attr('marker-end', (d) => `url(#arrow-${d.kind === 'hda' ? 'hda' : 'ida'})`)
      .attr('opacity', 0)
      .merge(edge)
      .transition(t).attr('opacity', 1).attr('d', (d) => arc(d));
    edge.exit().remove();

    for (const n of nodes) { n.x0 = n.x; n.y0 = n.y; }
    this.cb.onLayout(performance.now() - start, nodes.length);
  }

  private toggle(d: VNode): void {
    if (d.all.length === 0) return;
    d.collapsed = !d.collapsed;
    this.update(d);
    this.cb.onViewChange();
  }

  private paint(sel: d3.Selection<SVGGElement, VNode, SVGGElement, unknown>): void {
    const c = this.colouring;
    sel.classed('fail', (d) => (c ? c.fails(d.data) : false))
      .classed('unrecorded', (d) => !d.data.layer)
      .select<SVGPathElement>('path.glyph')
      .attr('d', (d) => glyph(c ? c.fails(d.data) : false, d.data.id === this.firstDivergence))
      // A style, not the fill attribute: the stylesheet's default fill would win over an attribute.
      .style('fill', (d) => (c ? c.scale.colour(c.value(d.data)) : null));
  }

  private aggregationEdges(shown: Map<string, VNode>): AggEdge[] {
    const visible = (id: string): VNode | undefined => {
      for (let n = this.byId.get(id); n; n = (n.parent as VNode | null) ?? undefined) {
        if (shown.get(n.data.id) === n) return n;
      }
      return undefined;
    };
    const out = new Map<string, AggEdge>();
    const stages = (this.root.children ?? []) as VNode[];
    for (let i = 0; i + 1 < stages.length; i++) {
      out.set(`spine:${stages[i].data.id}`, { key: `spine:${stages[i].data.id}`, kind: 'ida', source: stages[i], target: stages[i + 1] });
    }
    this.root.each((n) => {
      if (n.data.role !== 'root' || n.data.rootInputs.length === 0) return;
      const target = visible(n.data.id);
      if (!target) return;
      const tree = n.parent as VNode | null;
      for (const input of n.data.rootInputs) {
        const source = visible(input.id);
        if (!source || source === target) continue;
        // The module tree says which edge is which (a level_root tree's stage input is IDA).
        const kind = input.edge;
        const key = `${kind}:${source.data.id}->${target.data.id}`;
        if (!out.has(key) && tree !== null) out.set(key, { key, kind, source, target });
      }
    });
    return [...out.values()];
  }
}

const GLYPHS = new Map<string, string>();

/**
 * A node's shape: a circle of radius 6 (8 for the first divergence) where it passes, a square of
 * about the same area where it fails. Memoised: four strings serve every node.
 */
export function glyph(fails: boolean, first: boolean): string {
  const key = `${fails}|${first}`;
  let d = GLYPHS.get(key);
  if (d === undefined) {
    const r = first ? 8 : 6;
    d = d3.symbol(fails ? d3.symbolSquare : d3.symbolCircle, Math.PI * r * r)()!;
    GLYPHS.set(key, d);
  }
  return d;
}

/** Aggregation edges bow to the left of the column they join, away from the labels. */
function arc(e: AggEdge): string {
  const { source: s, target: t } = e;
  if (e.key.startsWith('spine:')) {
    return `M${s.y - 8},${s.x + 4}C${s.y - 40},${s.x + DX / 2} ${t.y - 40},${t.x - DX / 2} ${t.y - 8},${t.x - 4}`;
  }
  const bow = 24 + Math.min(120, Math.abs(t.x - s.x) / 4);
  return `M${s.y - 7},${s.x}C${s.y - bow},${s.x} ${t.y - bow},${t.x} ${t.y - 8},${t.x}`;
}
