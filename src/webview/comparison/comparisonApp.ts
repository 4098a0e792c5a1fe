import type { ComparisonData, LayerDetailData } from '../../shared/comparisonProtocol';
import type { ToleranceRule } from '../../shared/tolerance';
import type { Control, Controls } from '../controlTypes';
import { ColourScale, drawLegend } from './colour';
import { DetailPane } from './detailPane';
import { el } from './format';
import { METRICS, isMetric, metricValue, moduleOfRecord, type MetricId } from './metrics';
import { Tooltip } from './tooltip';
import { HEAD_ID, buildTreeData, type TreeNodeData } from './treeData';
import { TreeView } from './treeView';
import { ALL_IMAGES, detailImage, imageData, imageOptions } from './batchView';
import { summaryLines } from './summary';
import { editableFields, editRule, verdictsFor, type Verdicts } from './verdicts';

/** What survives hiding the panel and reloading the window (with the host's restoreKey). */
export interface ViewState {
  readonly restoreKey?: string;
  readonly metric: MetricId;
  /** The rule the page applies: the report's until the user edits one of its numbers. */
  readonly rule?: ToleranceRule;
  readonly onlyFailing: boolean;
  readonly search: string;
  readonly expanded?: readonly string[];
  readonly selected?: string;
  readonly zoom?: { x: number; y: number; k: number };
  /** Many inputs: the image shown (undefined: the whole batch). */
  readonly image?: number;
}

const HISTOGRAM_BINS = 64;

/**
 * Where the page gets its data and keeps its state. The extension's webview implements it over
 * the protocol (webviewHost.ts); the self-contained HTML report over the JSON embedded in the
 * page (report/reportMain.ts). The page itself knows no messaging.
 */
export interface ComparisonHost {
  /** The form controls (the toolkit's in the webview, native ones in the report). */
  readonly controls: Controls;
  /** The comparison to show first. */
  load(): Promise<ComparisonData>;
  /** Per-channel errors and histograms of a record (of one image, on many inputs); absent where the activations are not at hand. */
  readonly layerDetail?: (layer: string, bins: number, image?: number) => Promise<LayerDetailData>;
  /** Why there are no per-channel details (shown in the detail pane) when layerDetail is absent or the data says so. */
  readonly noDetailReason: string;
  /** Saves the report; resolves to a line for the status area. Absent: no export buttons. */
  readonly exportReport?: (format: 'json' | 'html') => Promise<string>;
  /** A layout or a recolour finished (the extension logs it; tests read it). */
  rendered(what: 'layout' | 'recolour', nodes: number, ms: number): void;
  getState(): Partial<ViewState> | undefined;
  setState(state: ViewState): void;
}

/**
 * The comparison page: toolbar, summary, legend, the tree, the hover card and the detail pane.
 * It asks its host for data and hands plain values to the drawing modules.
 */
export class ComparisonApp {
  /** What is shown: the comparison, or one image of it. */
  private data: ComparisonData | undefined;
  /** The comparison as the host gave it (on many inputs: the batch's view). */
  private full: ComparisonData | undefined;
  private tree: TreeView | undefined;
  private treeData: TreeNodeData | undefined;
  private state: ViewState;
  private layouts = 0;
  private readonly app: HTMLElement;
  private readonly summary = el('div', undefined, 'summary');
  private readonly legend = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  private readonly treeBox = el('div', undefined, 'tree-box');
  private readonly status = el('span', '', 'status');
  private readonly tooltip: Tooltip;
  private readonly detail: DetailPane;
  private readonly ruleBox = el('span', undefined, 'rule-fields');
  private readonly imageBox = el('span', undefined, 'image-select');
  private ruleFields: Control<string>[] = [];
  private verdicts: Verdicts | undefined;

  constructor(private readonly host: ComparisonHost) {
    const controls = host.controls;
    this.state = { metric: 'scaledMaxAbs', onlyFailing: false, search: '', ...host.getState() };
    this.app = document.getElementById('app')!;
    this.app.removeAttribute('aria-busy');
    this.app.replaceChildren();
    this.app.className = 'comparison';

    const bar = el('div', undefined, 'toolbar');
    bar.append(
      controls.dropdown('metric', 'Colour by', METRICS.map((m) => ({ value: m.id, label: m.label })), this.state.metric, (v) => this.setMetric(v)).element,
    );
    bar.append(
      this.imageBox,
      this.ruleBox,
      controls.checkbox('only-failing', 'Only failing', this.state.onlyFailing, (v) => this.setOnlyFailing(v)).element,
      controls.textField('search', 'Search', this.state.search, 'module path, e.g. level3.tree2', (v) => this.setSearch(v)).element,
      controls.button('expand-all', 'Expand all', () => this.expandAll()),
      controls.button('reset-view', 'Reset', () => this.resetView()),
    );
    if (host.exportReport) {
      bar.append(
        controls.button('export-json', 'Export JSON', () => void this.export('json')),
        controls.button('export-html', 'Export HTML', () => void this.export('html')),
      );
    }
    bar.append(this.status);
    this.legend.id = 'legend';
    this.treeBox.id = 'tree';
    const main = el('div', undefined, 'main');
    main.append(this.treeBox);
    this.app.append(bar, this.summary, this.legend, main);
    this.tooltip = new Tooltip(document.body);
    this.detail = new DetailPane(main, () => this.select(undefined));
  }

  async start(): Promise<void> {
    try {
      this.show(await this.host.load());
    } catch (err) {
      this.fatal(err);
    }
  }

  /** A new comparison, or the first one. UI state is kept only for the same comparison. */
  show(data: ComparisonData): void {
    const same = this.state.restoreKey === data.restoreKey;
    this.state = same
      ? this.state
      : { metric: this.state.metric, onlyFailing: false, search: '', restoreKey: data.restoreKey };
    this.full = data;
    const image = data.batch && this.state.image !== undefined && this.state.image < data.batch.images.length ? this.state.image : undefined;
    this.state = { ...this.state, image };
    this.buildImageSelect(data);
    this.display(image === undefined ? data : imageData(data, image), same);
  }

  /** Draws `data` (the comparison, or one image of it); `same`: the user's tree state is kept. */
  private display(data: ComparisonData, same: boolean): void {
    this.data = data;
    const kept = this.state.rule;
    const editable = editableFields(data);
    const keep = kept && kept.mode === data.rule.mode &&
      (kept.mode === 'scaled-max' ? editable.includes('tol') : (editable.includes('atol') && (editable.includes('rtol') || (data.rule.mode === 'allclose' && kept.rtol === data.rule.rtol))));
    const rule = keep ? kept : data.rule;
    this.verdicts = verdictsFor(data, rule);
    this.buildRuleFields(data);
    this.treeData = buildTreeData(data);
    this.treeBox.replaceChildren();
    this.layouts = 0;
    this.tree = new TreeView(this.treeBox, this.treeData, {
      onHover: (n, e) => (n && this.verdicts ? this.tooltip.show(n, e.clientX, e.clientY, this.verdicts, this.full?.batch?.images) : this.tooltip.hide()),
      onSelect: (n) => this.select(n),
      onLayout: (ms, nodes) => this.laidOut(ms, nodes),
      onViewChange: () => this.save(),
    });
    this.renderSummary();
    this.applyColouring();
    const first = this.firstDivergenceNode();
    this.tree.setFirstDivergence(first);
    this.treeBox.dataset.image = this.state.image === undefined ? ALL_IMAGES : String(this.state.image);
    // Restoring (the panel was hidden, or the window reloaded): the tree exactly as the user left
    // it, even where they collapsed the path to the first divergence or to a search match.
    const restoring = same && this.state.expanded !== undefined;
    if (restoring) this.tree.setExpanded(this.state.expanded!);
    else if (first) this.tree.expandPathTo(first);
    if (this.state.search) {
      const found = this.tree.search(this.state.search, !restoring);
      this.status.textContent = matchesText(this.state.search, found.length);
    }
    this.tree.setOnlyFailing(this.state.onlyFailing);
    this.tree.setSelected(this.state.selected);
    this.tree.update(undefined, false);
    if (same && this.state.zoom) this.tree.setZoom(this.state.zoom);
    else {
      this.tree.fit();
      if (first) this.tree.centreOn(first);
    }
    if (this.state.selected) {
      const n = this.find(this.state.selected);
      if (n) this.select(n);
    }
    this.save();
    document.body.dataset.ready = 'true';
  }

  reveal(id: string): void {
    if (!this.tree) return;
    const target = this.tree.has(id) ? id : moduleOfRecord(id);
    this.tree.expandPathTo(target);
    this.tree.update(target);
    this.tree.centreOn(target);
    const n = this.find(target);
    if (n) this.select(n);
  }

  private laidOut(ms: number, nodes: number): void {
    this.layouts++;
    this.treeBox.dataset.layouts = String(this.layouts);
    this.treeBox.dataset.renderMs = ms.toFixed(1);
    this.treeBox.dataset.nodes = String(nodes);
    this.host.rendered('layout', nodes, ms);
  }

  /** The tree node that stands for the first divergence (the report's, or at the edited rule). */
  private firstDivergenceNode(): string | undefined {
    const first = this.verdicts?.first;
    if (!first) return undefined;
    if (first === 'logits') return HEAD_ID;
    const id = moduleOfRecord(first);
    // A weight-only report names a weight (`level3.tree1.conv1.weight`): its module.
    return this.tree?.has(id) ? id : this.tree?.has(id.replace(/\.[^.]+$/, '')) ? id.replace(/\.[^.]+$/, '') : id;
  }

  private applyColouring(): void {
    if (!this.tree || !this.data || !this.treeData || !this.verdicts) return;
    const metric = this.state.metric;
    const verdicts = this.verdicts;
    const scale = new ColourScale(this.data.layers.map((l) => metricValue(l, metric)));
    this.tree.setColouring({
      value: (n) => (n.layer ? metricValue(n.layer, metric) : undefined),
      fails: (n) => n.records.some((l) => verdicts.fails(l)),
      recordFails: (l) => verdicts.fails(l),
      scale,
    });
    const label = METRICS.find((m) => m.id === metric)!.label;
    const rule = verdicts.rule;
    const mark = rule.mode === 'scaled-max' && (metric === 'scaledMaxAbs' || metric === 'localScaledMaxAbs') ? rule.tol : undefined;
    drawLegend(this.legend, scale, label, mark);
  }

  /** Many inputs: the selector between the batch's verdict and each image's. */
  private buildImageSelect(data: ComparisonData): void {
    if (!data.batch) {
      this.imageBox.replaceChildren();
      return;
    }
    const value = this.state.image === undefined ? ALL_IMAGES : String(this.state.image);
    const c = this.host.controls.dropdown('image', 'Images', imageOptions(data), value, (v) => this.setImage(v));
    this.imageBox.replaceChildren(c.element);
  }

  private setImage(v: string): void {
    if (!this.full?.batch) return;
    const i = v === ALL_IMAGES ? undefined : Number(v);
    if (i !== undefined && !(Number.isInteger(i) && i >= 0 && i < this.full.batch.images.length)) return;
    this.state = { ...this.state, image: i };
    this.display(i === undefined ? this.full : imageData(this.full, i), true);
    // The user's tree is kept, opened down to this image's own first divergence.
    const first = this.firstDivergenceNode();
    if (first && this.tree) {
      this.tree.expandPathTo(first);
      this.tree.update();
      this.save();
    }
  }

  /** The rule's numbers as fields: one tolerance for scaled-max, atol and rtol for allclose. */
  private buildRuleFields(data: ComparisonData): void {
    const controls = this.host.controls;
    const rule = this.verdicts!.rule;
    const editable = editableFields(data);
    const fields: [('tol' | 'atol' | 'rtol'), string, number][] = rule.mode === 'scaled-max'
      ? [['tol', 'Tolerance', rule.tol]]
      : [['atol', 'atol', rule.atol], ['rtol', 'rtol', rule.rtol]];
    this.ruleFields = fields.map(([field, label, value]) => {
      const id = field === 'tol' ? 'tolerance' : field;
      const c = controls.textField(id, label, String(value), field === 'tol' ? '1e-3' : '0', (v) => this.editRule(field, v, c), { size: 8 });
      if (!editable.includes(field)) {
        c.element.querySelector('input, vscode-text-field')?.setAttribute('disabled', '');
        c.element.title = editable.includes('atol')
          ? 'This comparison on many inputs was reduced inside onnxruntime at this rtol: its allclose verdicts can be re-applied at any atol, not at another rtol; run the comparison again for that.'
          : 'This report keeps no error envelopes, so its allclose verdicts cannot be re-applied at other numbers; run the comparison again.';
      }
      return c;
    });
    this.ruleBox.replaceChildren(...this.ruleFields.map((c) => c.element));
  }

  private setMetric(v: string): void {
    if (!isMetric(v) || !this.tree) return;
    this.state = { ...this.state, metric: v };
    this.applyColouring();
    // A metric changes colours only: no layout, so positions and the user's zoom stay put.
    const ms = this.tree.recolour();
    this.treeBox.dataset.recolourMs = ms.toFixed(1);
    this.host.rendered('recolour', Number(this.treeBox.dataset.nodes ?? 0), ms);
    this.save();
  }

  private editRule(field: 'tol' | 'atol' | 'rtol', v: string, control: Control<string>): void {
    if (!this.data || !this.verdicts) return;
    const next = editRule(this.verdicts.rule, field, v);
    if (typeof next === 'string') {
      control.element.classList.add('invalid');
      this.status.textContent = next;
      return;
    }
    control.element.classList.remove('invalid');
    this.status.textContent = '';
    this.state = { ...this.state, rule: next };
    this.verdicts = verdictsFor(this.data, next);
    if (!this.tree) return;
    this.applyColouring();
    const first = this.firstDivergenceNode();
    this.tree.setFirstDivergence(first);
    if (first) this.tree.expandPathTo(first);
    this.tree.update();
    this.renderSummary();
    this.save();
  }

  private setOnlyFailing(on: boolean): void {
    this.state = { ...this.state, onlyFailing: on };
    this.tree?.setOnlyFailing(on);
    this.tree?.update();
    this.save();
  }

  private setSearch(q: string): void {
    this.state = { ...this.state, search: q };
    if (!this.tree) return;
    const found = this.tree.search(q);
    this.tree.update();
    this.status.textContent = matchesText(q, found.length);
    if (found.length > 0) this.tree.centreOn(found[0]);
    this.save();
  }

  private expandAll(): void {
    this.tree?.expandAll();
    this.tree?.update();
    this.save();
  }

  private resetView(): void {
    if (!this.tree) return;
    this.tree.resetExpansion();
    const first = this.firstDivergenceNode();
    if (first) this.tree.expandPathTo(first);
    this.tree.update();
    this.tree.fit();
    this.save();
  }

  private find(id: string): TreeNodeData | undefined {
    const walk = (n: TreeNodeData): TreeNodeData | undefined => (n.id === id ? n : n.children.map(walk).find(Boolean));
    return this.treeData ? walk(this.treeData) : undefined;
  }

  private select(n: TreeNodeData | undefined): void {
    this.state = { ...this.state, selected: n?.id };
    this.tree?.setSelected(n?.id);
    this.save();
    if (!n) return;
    this.detail.open(n, this.verdicts!);
    if (!n.layer) return;
    const fetchDetail = this.host.layerDetail;
    if (!this.data?.detailAvailable || !fetchDetail) {
      this.detail.error(this.host.noDetailReason);
      return;
    }
    this.detail.loading();
    const layer = n.layer.name;
    // Many inputs: a record's tensors are one image's (re-run by the engine): the one shown, else the batch's worst there.
    const image = this.full ? detailImage(this.full, this.state.image, layer) : undefined;
    const names = this.full?.batch?.images;
    const caption = image !== undefined && names
      ? `Image ${image} (${names[image]})${this.state.image === undefined ? ', the worst of the batch at this record' : ''}`
      : undefined;
    fetchDetail(layer, HISTOGRAM_BINS, image).then(
      (detail) => { if (this.state.selected === n.id) this.detail.show(detail, caption); },
      (err: Error) => { if (this.state.selected === n.id) this.detail.error(err.message); },
    );
  }

  private async export(format: 'json' | 'html'): Promise<void> {
    try {
      this.status.textContent = await this.host.exportReport!(format);
    } catch (err) {
      this.status.textContent = (err as Error).message;
    }
  }

  private renderSummary(): void {
    if (!this.data || !this.verdicts) return;
    this.summary.replaceChildren(...summaryLines(this.data, this.verdicts, this.state.image === undefined ? this.full?.batch : undefined,
      (id) => this.reveal(id)));
  }

  private save(): void {
    const zoom = this.tree?.zoomTransform;
    this.state = { ...this.state, expanded: this.tree?.expandedIds(), ...(zoom ? { zoom } : {}) };
    this.host.setState(this.state);
  }

  private fatal(err: unknown): void {
    this.app.replaceChildren(el('p', `Could not show the comparison: ${(err as Error).message ?? String(err)}`, 'bad'));
  }
}

function matchesText(query: string, n: number): string {
  return query.trim() ? `${n} match${n === 1 ? '' : 'es'}` : '';
}
