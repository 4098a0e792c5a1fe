/**
 * The comparison page's protocol (the extension's comparison view; the standalone HTML report
 * validates its embedded data with the same checks). The payload mirrors
 * src/model/compare/types.ts structurally (src/model/compare/viewModel.ts checks the assignment at
 * compile time) so the page never imports model code. Verdicts (`pass`, `firstDivergence`) are the
 * report's; the page re-applies the report's own rule (src/shared/tolerance.ts) only when the user
 * edits its numbers.
 */
import type { ReadyRequest, RequestBase } from './channel';
import { defineProtocol } from './channel';
import { checkModule, type ViewModule } from './moduleView';
import type { ToleranceRule, UnpairedRecord } from './tolerance';
import {
  ProtocolError, arr, bool, int, num, numberRecord, numbers, obj, oneOf, str, strings, typed,
} from './validate';

/** A tensor's summary (one side of one record). */
export interface ViewTensorStats {
  readonly shape: readonly number[];
  readonly mean: number;
  readonly std: number;
  readonly min: number;
  readonly max: number;
  /** max |x| */
  readonly absMax: number;
  readonly nan: number;
  readonly inf: number;
}

/** How a record's two sides differ, and the verdict (the model's DiffMetrics is this type). */
export interface ViewDiffMetrics {
  readonly maxAbs: number;
  readonly meanAbs: number;
  /** ||a - b|| / ||ref|| (0 when both are zero). */
  readonly relL2: number;
  /** Cosine similarity of the flattened tensors (1 when both are zero). */
  readonly cosine: number;
  /** The bound this layer was held to: tol * max(1, max|ref|), or the allclose rule. */
  readonly bound: number;
  /** maxAbs / max(1, max|ref|): comparable across layers, what the tree colours by default. */
  readonly scaledMaxAbs: number;
  readonly pass: boolean;
  /** Allclose reports: the error envelope from which the verdict at any atol/rtol follows (src/shared/tolerance.ts). */
  readonly envelope?: readonly number[];
  /** Allclose batch reports reduced inside onnxruntime: max(|a-b| - rtol*|ref|) at the report's rtol (src/shared/tolerance.ts). */
  readonly excess?: { readonly rtol: number; readonly max: number };
}

/** One image's figures for one record of a comparison on many inputs (its shapes are the record's with a batch of 1). */
export interface ViewImageLayer {
  readonly reference: ViewTensorStats;
  readonly candidate: ViewTensorStats;
  readonly diff: ViewDiffMetrics;
}

/** One record of the comparison (a hook key: module path, `#k` for the k-th call). */
export interface ViewLayer {
  readonly name: string;
  readonly reference: ViewTensorStats;
  readonly candidate: ViewTensorStats;
  readonly diff: ViewDiffMetrics;
  readonly local?: ViewDiffMetrics;
  /** Many inputs: the worst image here (an index into ComparisonData.batch.images) and every image's own figures. */
  readonly batch?: { readonly worst: number; readonly images: readonly ViewImageLayer[] };
}

/** A comparison on many inputs: `layers` are the batch's figures; each image's are in its layers' `batch`. */
export interface ViewBatch {
  readonly images: readonly string[];
  /** Per image, its own first divergence (the engine's verdict). */
  readonly firstDivergence: readonly (string | null)[];
  /** The image the local errors and the diagnosis are of. */
  readonly focus: number;
  readonly method: string;
}

export interface ViewSide {
  readonly file: string;
  readonly format: string;
  readonly kind: string;
  readonly variant: string | null;
}

export interface ViewHypothesis {
  readonly cause: string;
  readonly at: string;
  readonly residual: number;
  readonly explanation: string;
}

export interface ComparisonData {
  readonly title: string;
  readonly variant: string;
  readonly reference: ViewSide;
  readonly candidate: ViewSide;
  readonly input: { readonly source: string; readonly shape: readonly number[] };
  readonly provider: string;
  /** The rule the report was computed with; the view edits its numbers, never its kind. */
  readonly rule: ToleranceRule;
  readonly tree: ViewModule;
  /** Execution order. */
  readonly layers: readonly ViewLayer[];
  /** The report's verdict. */
  readonly firstDivergence: string | null;
  /** Records whose shapes differ: they diverge under any rule, at their place in the order. */
  readonly unpaired: readonly UnpairedRecord[];
  readonly uncovered: readonly string[];
  /** Facts about the comparison itself (e.g. an ONNX candidate's weights were not compared). */
  readonly notes: readonly string[];
  readonly diagnosis: readonly ViewHypothesis[];
  readonly timingsMs: Readonly<Record<string, number>>;
  /** Present when the comparison ran on many inputs. */
  readonly batch?: ViewBatch;
  /** Whether the host can still answer getLayerDetail (the engine holds or can recompute both sides' records). */
  readonly detailAvailable: boolean;
  /** Opaque token the page keeps in its state; the host reopens the comparison from it after a reload. */
  readonly restoreKey: string;
}

/** What a comparison page shows of a report; the host adds what only it knows (title, detail, restore key). */
export type ComparisonView = Omit<ComparisonData, 'title' | 'detailAvailable' | 'restoreKey'>;

export interface Histogram {
  /** Edges: `bins` equal bins between lo and hi. */
  readonly lo: number;
  readonly hi: number;
  readonly reference: Uint32Array;
  readonly candidate: Uint32Array;
}

export interface LayerDetailData {
  readonly layer: string;
  /** max |a-b| of each channel (dimension 1). */
  readonly channelMaxAbs: Float32Array;
  /** mean |a-b| of each channel. */
  readonly channelMeanAbs: Float32Array;
  /** Value histograms of both sides over the same bins. */
  readonly values: Histogram;
}

export const MAX_HISTOGRAM_BINS = 256;

/**
 * The standalone HTML report (src/model/compare/htmlReport.ts) carries its ComparisonData, as JSON,
 * in `<script type="application/json" id="dla-report-data">`; its page script reads it from there.
 */
export const REPORT_DATA_ELEMENT_ID = 'dla-report-data';

// #region page -> host
export interface GetLayerDetailRequest extends RequestBase {
  readonly type: 'getLayerDetail';
  readonly layer: string;
  /** Number of histogram bins wanted (1..MAX_HISTOGRAM_BINS). */
  readonly bins: number;
  /** Many inputs: the image whose records to show (its one image is re-run); absent for a single comparison. */
  readonly image?: number;
}
export interface ExportReportRequest extends RequestBase {
  readonly type: 'exportReport';
  readonly format: 'json' | 'html';
}
export type ComparisonRequest = ReadyRequest | GetLayerDetailRequest | ExportReportRequest;

/** How long a render took (logged in the output channel, read by tests). */
export interface RenderedNotification {
  readonly type: 'rendered';
  readonly what: 'layout' | 'recolour';
  readonly nodes: number;
  readonly ms: number;
}
// #endregion

// #region host -> page
export interface ComparisonDataReply { readonly type: 'comparisonData'; readonly inReplyTo: number; readonly data: ComparisonData }
export interface LayerDetailReply { readonly type: 'layerDetail'; readonly inReplyTo: number; readonly detail: LayerDetailData }
export interface DoneReply {
  readonly type: 'done';
  readonly inReplyTo: number;
  /** What was done, for the page to show ("Saved report.json"). */
  readonly message: string;
}
export interface ComparisonReplies {
  readonly ready: ComparisonDataReply;
  readonly getLayerDetail: LayerDetailReply;
  readonly exportReport: DoneReply;
}
/** A new comparison replaces the one shown. */
export interface ComparisonChangedPush { readonly type: 'comparisonChanged'; readonly data: ComparisonData }
/** Select and reveal a module (from a command or a test). */
export interface RevealModulePush { readonly type: 'revealModule'; readonly id: string }
export type ComparisonPush = ComparisonChangedPush | RevealModulePush;
// #endregion

/** A ViewTensorStats (also the checkpoint page's hover stats). */
export function checkStats(v: unknown, where: string): void {
  const o = obj(v, where);
  numbers(o, 'shape', where);
  for (const k of ['mean', 'std', 'min', 'max', 'absMax', 'nan', 'inf']) num(o, k, where);
}
function checkDiff(v: unknown, where: string): void {
  const o = obj(v, where);
  for (const k of ['maxAbs', 'meanAbs', 'relL2', 'cosine', 'bound', 'scaledMaxAbs']) num(o, k, where);
  bool(o, 'pass', where);
  if (o.envelope !== undefined) numbers(o, 'envelope', where);
  if (o.excess !== undefined) {
    const e = obj(o.excess, `${where}.excess`);
    num(e, 'rtol', `${where}.excess`);
    num(e, 'max', `${where}.excess`);
  }
}

function checkBatch(v: unknown, where: string): void {
  const o = obj(v, where);
  strings(o, 'images', where);
  const images = o.images as string[];
  const firsts = arr(o, 'firstDivergence', where);
  if (firsts.length !== images.length) throw new ProtocolError(`Malformed message ${where}.firstDivergence: expected ${images.length} entries, got ${firsts.length}.`);
  firsts.forEach((f, i) => { if (f !== null && typeof f !== 'string') throw new ProtocolError(`Malformed message ${where}.firstDivergence[${i}]: expected a string or null.`); });
  const focus = int(o, 'focus', where);
  if (focus < 0 || (images.length > 0 && focus >= images.length)) throw new ProtocolError(`Malformed message ${where}.focus: expected 0..${images.length - 1}, got ${focus}.`);
  str(o, 'method', where);
}

function checkLayerBatch(v: unknown, where: string, images: number): void {
  const o = obj(v, where);
  const worst = int(o, 'worst', where);
  if (worst < 0 || worst >= images) throw new ProtocolError(`Malformed message ${where}.worst: expected 0..${images - 1}, got ${worst}.`);
  const list = arr(o, 'images', where);
  if (list.length !== images) throw new ProtocolError(`Malformed message ${where}.images: expected ${images} entries, got ${list.length}.`);
  list.forEach((im, i) => {
    const w = `${where}.images[${i}]`;
    const io = obj(im, w);
    checkStats(io.reference, `${w}.reference`);
    checkStats(io.candidate, `${w}.candidate`);
    checkDiff(io.diff, `${w}.diff`);
  });
}
function checkSide(v: unknown, where: string): void {
  const o = obj(v, where);
  str(o, 'file', where);
  str(o, 'format', where);
  str(o, 'kind', where);
  if (o.variant !== null) str(o, 'variant', where);
}
function checkRule(v: unknown, where: string): void {
  const o = obj(v, where);
  const mode = oneOf(o, 'mode', ['scaled-max', 'allclose'] as const, where);
  if (mode === 'scaled-max') num(o, 'tol', where);
  else {
    num(o, 'atol', where);
    num(o, 'rtol', where);
  }
}

/** The checks of a ComparisonData wherever it arrives (a message, or a report's embedded JSON). */
export function checkComparisonData(v: unknown, where: string): ComparisonData {
  const o = obj(v, where);
  str(o, 'title', where);
  str(o, 'variant', where);
  checkSide(o.reference, `${where}.reference`);
  checkSide(o.candidate, `${where}.candidate`);
  const input = obj(o.input, `${where}.input`);
  str(input, 'source', `${where}.input`);
  numbers(input, 'shape', `${where}.input`);
  str(o, 'provider', where);
  checkRule(o.rule, `${where}.rule`);
  checkModule(o.tree, `${where}.tree`);
  if (o.batch !== undefined) checkBatch(o.batch, `${where}.batch`);
  const images = o.batch === undefined ? 0 : (o.batch as ViewBatch).images.length;
  arr(o, 'layers', where).forEach((l, i) => {
    const w = `${where}.layers[${i}]`;
    const lo = obj(l, w);
    str(lo, 'name', w);
    checkStats(lo.reference, `${w}.reference`);
    checkStats(lo.candidate, `${w}.candidate`);
    checkDiff(lo.diff, `${w}.diff`);
    if (lo.local !== undefined) checkDiff(lo.local, `${w}.local`);
    if (lo.batch !== undefined) {
      if (!images) throw new ProtocolError(`Malformed message ${w}.batch: a layer has per-image figures but the comparison names no images.`);
      checkLayerBatch(lo.batch, `${w}.batch`, images);
    }
  });
  if (o.firstDivergence !== null) str(o, 'firstDivergence', where);
  arr(o, 'unpaired', where).forEach((u, i) => {
    const w = `${where}.unpaired[${i}]`;
    const uo = obj(u, w);
    str(uo, 'name', w);
    int(uo, 'index', w);
  });
  strings(o, 'uncovered', where);
  strings(o, 'notes', where);
  arr(o, 'diagnosis', where).forEach((h, i) => {
    const w = `${where}.diagnosis[${i}]`;
    const ho = obj(h, w);
    str(ho, 'cause', w);
    str(ho, 'at', w);
    num(ho, 'residual', w);
    str(ho, 'explanation', w);
  });
  numberRecord(o.timingsMs, `${where}.timingsMs`);
  bool(o, 'detailAvailable', where);
  str(o, 'restoreKey', where);
  return o as unknown as ComparisonData;
}

function checkLayerDetail(v: unknown, where: string): void {
  const d = obj(v, where);
  str(d, 'layer', where);
  typed(d, 'channelMaxAbs', Float32Array, where);
  typed(d, 'channelMeanAbs', Float32Array, where);
  const h = obj(d.values, `${where}.values`);
  num(h, 'lo', `${where}.values`);
  num(h, 'hi', `${where}.values`);
  typed(h, 'reference', Uint32Array, `${where}.values`);
  typed(h, 'candidate', Uint32Array, `${where}.values`);
}

const PAGE = 'comparison';

export const comparisonProtocol = defineProtocol<ComparisonRequest, ComparisonReplies, ComparisonPush, RenderedNotification>(PAGE, {
  requests: {
    ready: () => {},
    getLayerDetail: (o, type) => {
      str(o, 'layer', type);
      const bins = int(o, 'bins', type);
      if (bins < 1 || bins > MAX_HISTOGRAM_BINS) throw new ProtocolError(`Malformed message ${type}.bins: expected 1..${MAX_HISTOGRAM_BINS}, got ${bins}.`);
      if (o.image !== undefined && int(o, 'image', type) < 0) throw new ProtocolError(`Malformed message ${type}.image: expected an image index (0 or more), got ${o.image}.`);
    },
    exportReport: (o, type) => { oneOf(o, 'format', ['json', 'html'] as const, type); },
  },
  notes: {
    rendered: (o, type) => { oneOf(o, 'what', ['layout', 'recolour'] as const, type); int(o, 'nodes', type); num(o, 'ms', type); },
  },
  replies: {
    comparisonData: (o, type) => checkComparisonData(o.data, `${type}.data`),
    layerDetail: (o, type) => checkLayerDetail(o.detail, `${type}.detail`),
    done: (o, type) => { str(o, 'message', type); },
  },
  pushes: {
    comparisonChanged: (o, type) => checkComparisonData(o.data, `${type}.data`),
    revealModule: (o, type) => { str(o, 'id', type); },
  },
});
export type ComparisonProtocol = typeof comparisonProtocol;
