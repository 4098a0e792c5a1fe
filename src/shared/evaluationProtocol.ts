/**
 * The evaluation results page's protocol (DLA: Evaluate on Labelled Images): the accuracy figures,
 * per-class results, the most confused pairs and, for agreement runs, the images the two sides
 * disagree on (with thumbnails). The figures are the engine's (src/model/eval); the page shows them.
 * Clicking a disagreement asks the host to open the two sides on that image.
 */
import type { ReadyRequest, RequestBase } from './channel';
import { defineProtocol } from './channel';
import { arr, bool, fail, int, num, obj, oneOf, str, type Obj } from './validate';

/** A class index, its name, and a probability. */
export interface RankedClass {
  readonly index: number;
  readonly name: string;
  readonly prob: number;
}

export interface SideFigures {
  readonly top1: number;
  readonly top5: number;
  readonly correct1: number;
  readonly correct5: number;
  readonly loss: number;
}

export interface EvaluationDisagreement {
  readonly i: number;
  /** As the dataset names it. */
  readonly image: string;
  /** The image file on the extension host's machine (to open the two sides on it). */
  readonly file: string;
  readonly label: number;
  readonly labelName: string;
  readonly a: readonly RankedClass[];
  readonly b: readonly RankedClass[];
  /** A small PNG of the image (data: URI), or null when it could not be made or the list was long. */
  readonly thumbnail: string | null;
}

/** A preset as it was chosen: a name, and/or a config file. */
export interface PresetSpec {
  readonly preset?: string;
  readonly config?: string;
}

export interface EvaluationData extends SideFigures {
  readonly title: string;
  /** How the run was set up, so a disagreement (also after a window reload) can be opened on both sides. */
  readonly run: { readonly preset?: PresetSpec; readonly against?: string; readonly againstPreset?: PresetSpec };
  readonly weights: string;
  readonly dataset: string;
  readonly preset: string;
  readonly presetDescription: string;
  readonly provider: string;
  readonly count: number;
  readonly total: number;
  readonly imagesPerSecond: number;
  readonly partial: boolean;
  readonly failed: readonly { readonly image: string; readonly error: string }[];
  readonly perClass: readonly { readonly index: number; readonly name: string; readonly count: number; readonly correct1: number; readonly top1: number }[];
  readonly confusions: readonly { readonly labelName: string; readonly predictedName: string; readonly count: number }[];
  /** Agreement runs only. */
  readonly against?: SideFigures & { readonly source: string; readonly kind: 'checkpoint' | 'preset' };
  readonly agreement?: number;
  readonly meanAbsLogitDiff?: number;
  readonly disagreements?: readonly EvaluationDisagreement[];
  /** All disagreements, when `disagreements` shows only the first of them. */
  readonly disagreementCount?: number;
}

/** Open the two sides of a disagreement on its image (the comparison view, or the preprocessing comparison). */
export interface OpenDisagreementRequest extends RequestBase { readonly type: 'openDisagreement'; readonly i: number }
export type EvaluationRequest = ReadyRequest | OpenDisagreementRequest;

export interface EvaluationDataReply { readonly type: 'evaluationData'; readonly inReplyTo: number; readonly data: EvaluationData }
export interface OpenedReply { readonly type: 'opened'; readonly inReplyTo: number; readonly message: string }
export interface EvaluationReplies {
  readonly ready: EvaluationDataReply;
  readonly openDisagreement: OpenedReply;
}
/** A newer evaluation replaces the one shown. */
export interface EvaluationChangedPush { readonly type: 'evaluationChanged'; readonly data: EvaluationData }
export type EvaluationPush = EvaluationChangedPush;
export type EvaluationNotification = never;

function checkSide(o: Obj, where: string): void {
  for (const k of ['top1', 'top5', 'correct1', 'correct5', 'loss']) num(o, k, where);
}

function checkRanked(v: unknown, where: string): void {
  arr({ v }, 'v', where).forEach((r, i) => {
    const ro = obj(r, `${where}[${i}]`);
    int(ro, 'index', `${where}[${i}]`);
    str(ro, 'name', `${where}[${i}]`);
    num(ro, 'prob', `${where}[${i}]`);
  });
}

/** The checks of an EvaluationData (also what the host checks before restoring one after a reload). */
export function checkEvaluation(v: unknown, where: string): EvaluationData {
  const o = obj(v, where);
  for (const k of ['title', 'weights', 'dataset', 'preset', 'presetDescription', 'provider']) str(o, k, where);
  obj(o.run, `${where}.run`);
  checkSide(o, where);
  for (const k of ['count', 'total']) int(o, k, where);
  num(o, 'imagesPerSecond', where);
  bool(o, 'partial', where);
  arr(o, 'failed', where).forEach((f, i) => { const fo = obj(f, `${where}.failed[${i}]`); str(fo, 'image', `${where}.failed[${i}]`); str(fo, 'error', `${where}.failed[${i}]`); });
  arr(o, 'perClass', where).forEach((c, i) => {
    const w = `${where}.perClass[${i}]`;
    const co = obj(c, w);
    str(co, 'name', w);
    for (const k of ['index', 'count', 'correct1']) int(co, k, w);
    num(co, 'top1', w);
  });
  arr(o, 'confusions', where).forEach((c, i) => {
    const w = `${where}.confusions[${i}]`;
    const co = obj(c, w);
    str(co, 'labelName', w);
    str(co, 'predictedName', w);
    int(co, 'count', w);
  });
  if (o.against !== undefined) {
    const a = obj(o.against, `${where}.against`);
    checkSide(a, `${where}.against`);
    str(a, 'source', `${where}.against`);
    oneOf(a, 'kind', ['checkpoint', 'preset'] as const, `${where}.against`);
    num(o, 'agreement', where);
    num(o, 'meanAbsLogitDiff', where);
    arr(o, 'disagreements', where).forEach((d, i) => {
      const w = `${where}.disagreements[${i}]`;
      const dobj = obj(d, w);
      int(dobj, 'i', w);
      int(dobj, 'label', w);
      str(dobj, 'image', w);
      str(dobj, 'file', w);
      str(dobj, 'labelName', w);
      checkRanked(dobj.a, `${w}.a`);
      checkRanked(dobj.b, `${w}.b`);
      // Only an inline PNG: the page's CSP allows data: images and nothing of the file system.
      if (dobj.thumbnail !== null && !str(dobj, 'thumbnail', w).startsWith('data:image/png;base64,')) fail(`${w}.thumbnail`, 'a data:image/png URI', 'another URI');
    });
    if (o.disagreementCount !== undefined) int(o, 'disagreementCount', where);
  }
  return o as unknown as EvaluationData;
}

const PAGE = 'evaluation';

export const evaluationProtocol = defineProtocol<EvaluationRequest, EvaluationReplies, EvaluationPush, EvaluationNotification>(PAGE, {
  requests: {
    ready: () => {},
    openDisagreement: (o, type) => { int(o, 'i', type); },
  },
  notes: {},
  replies: {
    evaluationData: (o, type) => checkEvaluation(o.data, `${type}.data`),
    opened: (o, type) => { str(o, 'message', type); },
  },
  pushes: { evaluationChanged: (o, type) => checkEvaluation(o.data, `${type}.data`) },
});
export type EvaluationProtocol = typeof evaluationProtocol;
