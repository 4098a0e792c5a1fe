/**
 * The one protocol between the extension host and its webviews (the comparison view, the
 * checkpoint editor and the classification result). Everything that crosses is declared here and
 * validated on arrival by the parse functions below: a webview is another process and a malformed
 * message must fail loudly with a reason, never half-work.
 *
 * Requests carry a `messageId`; every request is answered by exactly one reply carrying
 * `inReplyTo`, either the success reply or an ErrorReply with a sentence the user can act on.
 * Numbers cross as summaries; tensors (per-channel errors, histograms) cross as typed arrays,
 * which postMessage transfers as binary, never as JSON arrays of numbers.
 *
 * This file imports nothing, so the webview bundle can include it without pulling in the host.
 */

export enum MessageType {
  // #region To webview
  /** Reply to Ready in the comparison view: the comparison to show. */
  ComparisonData = 'comparisonData',
  /** Reply to Ready in the checkpoint editor: what the file holds. */
  CheckpointData = 'checkpointData',
  /** Reply to Ready in the classification view: the top-5 and how it was computed. */
  ClassificationData = 'classificationData',
  /** Reply to GetLayerDetail: per-channel error and histograms, binary. */
  LayerDetail = 'layerDetail',
  /** Reply to GetTensorStats (checkpoint editor hover). */
  TensorStatsReply = 'tensorStatsReply',
  /** Reply to a request that returns nothing but success (ExportReport). */
  Done = 'done',
  /** Reply to any request that failed. */
  ErrorReply = 'errorReply',
  /** Push: a new comparison replaces the one shown in this panel. */
  ComparisonChanged = 'comparisonChanged',
  /** Push: select and reveal a module (from a command or a test). */
  RevealModule = 'revealModule',
  /** Push: the image was classified again (another preset, provider or checkpoint). */
  ClassificationChanged = 'classificationChanged',
  // #endregion

  // #region From webview
  /** Request: the page has loaded; send the data. */
  Ready = 'ready',
  GetLayerDetail = 'getLayerDetail',
  GetTensorStats = 'getTensorStats',
  ExportReport = 'exportReport',
  /** Notification: how long a render took (logged in the output channel, read by tests). */
  Rendered = 'rendered',
  // #endregion
}

// ---------------------------------------------------------------------------------------------
// Payload vocabulary. These mirror src/model/compare/types.ts structurally (the host checks the
// assignment at compile time) so that the webview never imports model code.

export interface ViewTensorStats {
  readonly shape: readonly number[];
  readonly mean: number;
  readonly std: number;
  readonly min: number;
  readonly max: number;
  readonly absMax: number;
  readonly nan: number;
  readonly inf: number;
}

export interface ViewDiffMetrics {
  readonly maxAbs: number;
  readonly meanAbs: number;
  readonly relL2: number;
  readonly cosine: number;
  readonly bound: number;
  readonly scaledMaxAbs: number;
  readonly pass: boolean;
}

/** One record of the comparison (a hook key: module path, `#k` for the k-th call). */
export interface ViewLayer {
  readonly name: string;
  readonly reference: ViewTensorStats;
  readonly candidate: ViewTensorStats;
  readonly diff: ViewDiffMetrics;
  readonly local?: ViewDiffMetrics;
}

/** A module of the DLA tree; `id` is the timm module path ('' for the model). */
export interface ViewModule {
  readonly id: string;
  readonly name: string;
  readonly kind: string;
  readonly role: string;
  readonly calls: number;
  readonly children: readonly ViewModule[];
  /** DlaRoot: the module ids it concatenates (HDA), a stage's downsample among them being IDA. */
  readonly rootInputs?: readonly string[];
  /** DlaTree: whether it is a level_root (aggregates its stage input). */
  readonly levelRoot?: boolean;
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
  /** The scaled-max tolerance the report was computed with (the view can tighten or loosen it). */
  readonly tolerance: number;
  readonly tree: ViewModule;
  /** Execution order. */
  readonly layers: readonly ViewLayer[];
  readonly firstDivergence: string | null;
  readonly uncovered: readonly string[];
  /** Facts about the comparison itself (e.g. an ONNX candidate's weights were not compared). */
  readonly notes: readonly string[];
  readonly diagnosis: readonly ViewHypothesis[];
  readonly timingsMs: Readonly<Record<string, number>>;
  /** Whether the host can still answer GetLayerDetail (it holds or can re-read both sides' activations). */
  readonly detailAvailable: boolean;
  /** Opaque token the webview keeps in its state; the host reopens the comparison from it after a reload. */
  readonly restoreKey: string;
}

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

export interface CheckpointTensor {
  readonly name: string;
  readonly dtype: string;
  readonly shape: readonly number[];
}

export interface CheckpointData {
  readonly file: string;
  readonly format: string;
  readonly variant: string | null;
  readonly variantReason: string;
  readonly parameters: number;
  readonly tensors: readonly CheckpointTensor[];
  /** The module tree of the detected variant, or null when none was detected. */
  readonly tree: ViewModule | null;
  readonly missing: readonly { readonly name: string; readonly expected: readonly number[] }[];
  readonly unexpected: readonly { readonly name: string; readonly shape: readonly number[] }[];
  readonly mismatched: readonly { readonly name: string; readonly expected: readonly number[]; readonly found: readonly number[] }[];
  readonly knownUnused: readonly string[];
  readonly renamed: readonly (readonly [string, string])[];
  readonly metadata: Readonly<Record<string, string>>;
  readonly readMs: number;
}

export interface ClassificationPrediction {
  /** ImageNet-1k class index. */
  readonly index: number;
  readonly wnid: string;
  readonly label: string;
  /** Softmax probability, 0..1. */
  readonly prob: number;
}

/** What Classify Image shows (src/extension/classifier.ts produces it without the thumbnail). */
export interface ClassificationData {
  /** The image's path on the extension host's machine. */
  readonly image: string;
  /** The image to show beside the result: a PNG data: URI and the original size; null if it could not be made. */
  readonly thumbnail: { readonly uri: string; readonly width: number; readonly height: number } | null;
  readonly checkpoint: string;
  readonly variant: string;
  readonly preset: string;
  readonly presetDescription: string;
  /** The provider that ran ('cpu', 'cuda', 'webgpu'). */
  readonly provider: string;
  /** "cpu (cuda failed: …)" */
  readonly providerDetail: string;
  /** Best first. */
  readonly top: readonly ClassificationPrediction[];
  readonly timingsMs: { readonly load: number; readonly preprocess: number; readonly inference: number };
}

// ---------------------------------------------------------------------------------------------
// Messages

interface Request {
  readonly messageId: number;
}
interface Reply {
  readonly inReplyTo: number;
}

// #region To webview
export interface ComparisonDataMessage extends Reply {
  readonly type: MessageType.ComparisonData;
  readonly data: ComparisonData;
}
export interface CheckpointDataMessage extends Reply {
  readonly type: MessageType.CheckpointData;
  readonly data: CheckpointData;
}
export interface ClassificationDataMessage extends Reply {
  readonly type: MessageType.ClassificationData;
  readonly data: ClassificationData;
}
export interface LayerDetailMessage extends Reply {
  readonly type: MessageType.LayerDetail;
  readonly detail: LayerDetailData;
}
export interface TensorStatsReplyMessage extends Reply {
  readonly type: MessageType.TensorStatsReply;
  readonly name: string;
  readonly stats: ViewTensorStats;
}
export interface DoneMessage extends Reply {
  readonly type: MessageType.Done;
  /** What was done, for the webview to show ("Saved report.json"). */
  readonly message: string;
}
export interface ErrorReplyMessage extends Reply {
  readonly type: MessageType.ErrorReply;
  readonly message: string;
}
export interface ComparisonChangedMessage {
  readonly type: MessageType.ComparisonChanged;
  readonly data: ComparisonData;
}
export interface RevealModuleMessage {
  readonly type: MessageType.RevealModule;
  readonly id: string;
}
export interface ClassificationChangedMessage {
  readonly type: MessageType.ClassificationChanged;
  readonly data: ClassificationData;
}

export type ToWebviewMessage =
  | ComparisonDataMessage
  | CheckpointDataMessage
  | ClassificationDataMessage
  | LayerDetailMessage
  | TensorStatsReplyMessage
  | DoneMessage
  | ErrorReplyMessage
  | ComparisonChangedMessage
  | RevealModuleMessage
  | ClassificationChangedMessage;
// #endregion

// #region From webview
export interface ReadyRequest extends Request {
  readonly type: MessageType.Ready;
}
export interface GetLayerDetailRequest extends Request {
  readonly type: MessageType.GetLayerDetail;
  readonly layer: string;
  /** Number of histogram bins wanted (capped by the host). */
  readonly bins: number;
}
export interface GetTensorStatsRequest extends Request {
  readonly type: MessageType.GetTensorStats;
  readonly name: string;
}
export interface ExportReportRequest extends Request {
  readonly type: MessageType.ExportReport;
  readonly format: 'json' | 'html';
}
export interface RenderedNotification {
  readonly type: MessageType.Rendered;
  readonly what: 'layout' | 'recolour';
  readonly nodes: number;
  readonly ms: number;
}

export type FromWebviewMessage =
  | ReadyRequest
  | GetLayerDetailRequest
  | GetTensorStatsRequest
  | ExportReportRequest
  | RenderedNotification;
export type FromWebviewRequest = Extract<FromWebviewMessage, Request>;
// #endregion

/** Which reply type answers which request (the success case; ErrorReply answers any). */
export interface ReplyFor {
  [MessageType.Ready]: ComparisonDataMessage | CheckpointDataMessage | ClassificationDataMessage;
  [MessageType.GetLayerDetail]: LayerDetailMessage;
  [MessageType.GetTensorStats]: TensorStatsReplyMessage;
  [MessageType.ExportReport]: DoneMessage;
}

export const MAX_HISTOGRAM_BINS = 256;

/**
 * The standalone HTML report (src/model/compare/htmlReport.ts) carries its ComparisonData, as JSON,
 * in `<script type="application/json" id="dla-report-data">`; its page script reads it from there.
 */
export const REPORT_DATA_ELEMENT_ID = 'dla-report-data';

// ---------------------------------------------------------------------------------------------
// Validation. Each check names the message type and the field, so a protocol bug reads as one line.

export class ProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtocolError';
  }
}

type Obj = Record<string, unknown>;

function fail(where: string, what: string, got: unknown): never {
  const shown = got === null ? 'null' : Array.isArray(got) ? 'an array' : typeof got;
  throw new ProtocolError(`Malformed message ${where}: expected ${what}, got ${shown}.`);
}
function obj(v: unknown, where: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(where, 'an object', v);
  return v as Obj;
}
function str(o: Obj, k: string, where: string): string {
  if (typeof o[k] !== 'string') fail(`${where}.${k}`, 'a string', o[k]);
  return o[k] as string;
}
function num(o: Obj, k: string, where: string): number {
  // NaN and ±Infinity are legitimate metric values (a NaN in a layer is a finding, not a bug).
  if (typeof o[k] !== 'number') fail(`${where}.${k}`, 'a number', o[k]);
  return o[k] as number;
}
function int(o: Obj, k: string, where: string): number {
  const n = num(o, k, where);
  if (!Number.isInteger(n)) fail(`${where}.${k}`, 'an integer', n);
  return n;
}
function bool(o: Obj, k: string, where: string): boolean {
  if (typeof o[k] !== 'boolean') fail(`${where}.${k}`, 'a boolean', o[k]);
  return o[k] as boolean;
}
function arr(o: Obj, k: string, where: string): unknown[] {
  if (!Array.isArray(o[k])) fail(`${where}.${k}`, 'an array', o[k]);
  return o[k] as unknown[];
}
function numbers(o: Obj, k: string, where: string): void {
  arr(o, k, where).forEach((x, i) => typeof x !== 'number' && fail(`${where}.${k}[${i}]`, 'a number', x));
}
function strings(o: Obj, k: string, where: string): void {
  arr(o, k, where).forEach((x, i) => typeof x !== 'string' && fail(`${where}.${k}[${i}]`, 'a string', x));
}
function typed<T>(o: Obj, k: string, ctor: { new (...a: never[]): T; name: string }, where: string): void {
  if (!(o[k] instanceof ctor)) fail(`${where}.${k}`, `a ${ctor.name}`, o[k]);
}

function checkStats(v: unknown, where: string): void {
  const o = obj(v, where);
  numbers(o, 'shape', where);
  for (const k of ['mean', 'std', 'min', 'max', 'absMax', 'nan', 'inf']) num(o, k, where);
}
function checkDiff(v: unknown, where: string): void {
  const o = obj(v, where);
  for (const k of ['maxAbs', 'meanAbs', 'relL2', 'cosine', 'bound', 'scaledMaxAbs']) num(o, k, where);
  bool(o, 'pass', where);
}
function checkSide(v: unknown, where: string): void {
  const o = obj(v, where);
  str(o, 'file', where);
  str(o, 'format', where);
  str(o, 'kind', where);
  if (o.variant !== null) str(o, 'variant', where);
}
function checkModule(v: unknown, where: string, depth = 0): void {
  if (depth > 64) throw new ProtocolError(`Malformed message ${where}: module tree deeper than 64 levels.`);
  const o = obj(v, where);
  str(o, 'id', where);
  str(o, 'name', where);
  str(o, 'kind', where);
  str(o, 'role', where);
  int(o, 'calls', where);
  if (o.rootInputs !== undefined) strings(o, 'rootInputs', where);
  if (o.levelRoot !== undefined) bool(o, 'levelRoot', where);
  arr(o, 'children', where).forEach((c, i) => checkModule(c, `${where}.children[${i}]`, depth + 1));
}
function checkComparison(v: unknown, where: string): void {
  const o = obj(v, where);
  str(o, 'title', where);
  str(o, 'variant', where);
  checkSide(o.reference, `${where}.reference`);
  checkSide(o.candidate, `${where}.candidate`);
  const input = obj(o.input, `${where}.input`);
  str(input, 'source', `${where}.input`);
  numbers(input, 'shape', `${where}.input`);
  str(o, 'provider', where);
  num(o, 'tolerance', where);
  checkModule(o.tree, `${where}.tree`);
  arr(o, 'layers', where).forEach((l, i) => {
    const w = `${where}.layers[${i}]`;
    const lo = obj(l, w);
    str(lo, 'name', w);
    checkStats(lo.reference, `${w}.reference`);
    checkStats(lo.candidate, `${w}.candidate`);
    checkDiff(lo.diff, `${w}.diff`);
    if (lo.local !== undefined) checkDiff(lo.local, `${w}.local`);
  });
  if (o.firstDivergence !== null) str(o, 'firstDivergence', where);
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
  const t = obj(o.timingsMs, `${where}.timingsMs`);
  for (const k of Object.keys(t)) num(t, k, `${where}.timingsMs`);
  bool(o, 'detailAvailable', where);
  str(o, 'restoreKey', where);
}
function checkCheckpoint(v: unknown, where: string): void {
  const o = obj(v, where);
  str(o, 'file', where);
  str(o, 'format', where);
  if (o.variant !== null) str(o, 'variant', where);
  str(o, 'variantReason', where);
  num(o, 'parameters', where);
  arr(o, 'tensors', where).forEach((t, i) => {
    const w = `${where}.tensors[${i}]`;
    const to = obj(t, w);
    str(to, 'name', w);
    str(to, 'dtype', w);
    numbers(to, 'shape', w);
  });
  if (o.tree !== null) checkModule(o.tree, `${where}.tree`);
  arr(o, 'missing', where).forEach((m, i) => { const mo = obj(m, `${where}.missing[${i}]`); str(mo, 'name', `${where}.missing[${i}]`); });
  arr(o, 'unexpected', where).forEach((m, i) => { const mo = obj(m, `${where}.unexpected[${i}]`); str(mo, 'name', `${where}.unexpected[${i}]`); });
  arr(o, 'mismatched', where).forEach((m, i) => { const mo = obj(m, `${where}.mismatched[${i}]`); str(mo, 'name', `${where}.mismatched[${i}]`); });
  strings(o, 'knownUnused', where);
  arr(o, 'renamed', where);
  obj(o.metadata, `${where}.metadata`);
  num(o, 'readMs', where);
}

function checkClassification(v: unknown, where: string): void {
  const o = obj(v, where);
  for (const k of ['image', 'checkpoint', 'variant', 'preset', 'presetDescription', 'provider', 'providerDetail']) str(o, k, where);
  if (o.thumbnail !== null) {
    const t = obj(o.thumbnail, `${where}.thumbnail`);
    // Only an inline PNG: the page's CSP allows data: images and nothing of the file system.
    if (!str(t, 'uri', `${where}.thumbnail`).startsWith('data:image/png;base64,')) fail(`${where}.thumbnail.uri`, 'a data:image/png URI', 'another URI');
    int(t, 'width', `${where}.thumbnail`);
    int(t, 'height', `${where}.thumbnail`);
  }
  arr(o, 'top', where).forEach((p, i) => {
    const w = `${where}.top[${i}]`;
    const po = obj(p, w);
    int(po, 'index', w);
    str(po, 'wnid', w);
    str(po, 'label', w);
    num(po, 'prob', w);
  });
  const t = obj(o.timingsMs, `${where}.timingsMs`);
  for (const k of ['load', 'preprocess', 'inference']) num(t, k, `${where}.timingsMs`);
}

/** Validates a message arriving in a webview. Throws ProtocolError naming the field at fault. */
export function parseToWebview(raw: unknown): ToWebviewMessage {
  const o = obj(raw, 'to webview');
  const type = str(o, 'type', 'to webview');
  const w = type;
  switch (type as MessageType) {
    case MessageType.ComparisonData:
      int(o, 'inReplyTo', w);
      checkComparison(o.data, `${w}.data`);
      break;
    case MessageType.ComparisonChanged:
      checkComparison(o.data, `${w}.data`);
      break;
    case MessageType.CheckpointData:
      int(o, 'inReplyTo', w);
      checkCheckpoint(o.data, `${w}.data`);
      break;
    case MessageType.ClassificationData:
      int(o, 'inReplyTo', w);
      checkClassification(o.data, `${w}.data`);
      break;
    case MessageType.ClassificationChanged:
      checkClassification(o.data, `${w}.data`);
      break;
    case MessageType.LayerDetail: {
      int(o, 'inReplyTo', w);
      const d = obj(o.detail, `${w}.detail`);
      str(d, 'layer', `${w}.detail`);
      typed(d, 'channelMaxAbs', Float32Array, `${w}.detail`);
      typed(d, 'channelMeanAbs', Float32Array, `${w}.detail`);
      const h = obj(d.values, `${w}.detail.values`);
      num(h, 'lo', `${w}.detail.values`);
      num(h, 'hi', `${w}.detail.values`);
      typed(h, 'reference', Uint32Array, `${w}.detail.values`);
      typed(h, 'candidate', Uint32Array, `${w}.detail.values`);
      break;
    }
    case MessageType.TensorStatsReply:
      int(o, 'inReplyTo', w);
      str(o, 'name', w);
      checkStats(o.stats, `${w}.stats`);
      break;
    case MessageType.Done:
      int(o, 'inReplyTo', w);
      str(o, 'message', w);
      break;
    case MessageType.ErrorReply:
      int(o, 'inReplyTo', w);
      str(o, 'message', w);
      break;
    case MessageType.RevealModule:
      str(o, 'id', w);
      break;
    default:
      throw new ProtocolError(`Unknown message type '${type}' sent to the webview.`);
  }
  return o as unknown as ToWebviewMessage;
}

/** Validates a message arriving in the host from a webview. Throws ProtocolError naming the field. */
export function parseFromWebview(raw: unknown): FromWebviewMessage {
  const o = obj(raw, 'from webview');
  const type = str(o, 'type', 'from webview');
  const w = type;
  switch (type as MessageType) {
    case MessageType.Ready:
      int(o, 'messageId', w);
      break;
    case MessageType.GetLayerDetail: {
      int(o, 'messageId', w);
      str(o, 'layer', w);
      const bins = int(o, 'bins', w);
      if (bins < 1 || bins > MAX_HISTOGRAM_BINS) throw new ProtocolError(`Malformed message ${w}.bins: expected 1..${MAX_HISTOGRAM_BINS}, got ${bins}.`);
      break;
    }
    case MessageType.GetTensorStats:
      int(o, 'messageId', w);
      str(o, 'name', w);
      break;
    case MessageType.ExportReport: {
      int(o, 'messageId', w);
      const f = str(o, 'format', w);
      if (f !== 'json' && f !== 'html') throw new ProtocolError(`Malformed message ${w}.format: expected 'json' or 'html', got '${f}'.`);
      break;
    }
    case MessageType.Rendered: {
      const what = str(o, 'what', w);
      if (what !== 'layout' && what !== 'recolour') throw new ProtocolError(`Malformed message ${w}.what: expected 'layout' or 'recolour', got '${what}'.`);
      int(o, 'nodes', w);
      num(o, 'ms', w);
      break;
    }
    default:
      throw new ProtocolError(`Unknown message type '${type}' sent by the webview.`);
  }
  return o as unknown as FromWebviewMessage;
}

/** The messageId of a raw message, when it has one: lets a receiver error-reply even to a malformed request. */
export function messageIdOf(raw: unknown): number | undefined {
  if (typeof raw === 'object' && raw !== null && Number.isInteger((raw as Obj).messageId)) return (raw as Obj).messageId as number;
  return undefined;
}

export function assertNever(x: never, what: string): never {
  throw new ProtocolError(`Unhandled ${what}: ${JSON.stringify(x)}.`);
}
