/**
 * The classification result page's protocol (DLA: Classify Image): the image as a thumbnail, its
 * top-5 and how they were computed. A second classification of the same image is pushed.
 */
import { resultPageProtocol } from './resultProtocol';
import { arr, fail, int, num, obj, str, type Obj } from './validate';

export interface ClassificationPrediction {
  /** ImageNet-1k class index. */
  readonly index: number;
  readonly wnid: string;
  readonly label: string;
  /** Softmax probability, 0..1. */
  readonly prob: number;
}

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

/** `o.top`: a top-k of ClassificationPredictions (also on the Compare Preprocessing page). */
export function checkTop(o: Obj, where: string): void {
  arr(o, 'top', where).forEach((p, i) => {
    const w = `${where}.top[${i}]`;
    const po = obj(p, w);
    int(po, 'index', w);
    str(po, 'wnid', w);
    str(po, 'label', w);
    num(po, 'prob', w);
  });
}

/** The checks of a ClassificationData (also what the host validates before persisting it for a reload). */
export function checkClassification(v: unknown, where: string): ClassificationData {
  const o = obj(v, where);
  for (const k of ['image', 'checkpoint', 'variant', 'preset', 'presetDescription', 'provider', 'providerDetail']) str(o, k, where);
  if (o.thumbnail !== null) {
    const t = obj(o.thumbnail, `${where}.thumbnail`);
    // Only an inline PNG: the page's CSP allows data: images and nothing of the file system.
    if (!str(t, 'uri', `${where}.thumbnail`).startsWith('data:image/png;base64,')) fail(`${where}.thumbnail.uri`, 'a data:image/png URI', 'another URI');
    int(t, 'width', `${where}.thumbnail`);
    int(t, 'height', `${where}.thumbnail`);
  }
  checkTop(o, where);
  const t = obj(o.timingsMs, `${where}.timingsMs`);
  for (const k of ['load', 'preprocess', 'inference']) num(t, k, `${where}.timingsMs`);
  return o as unknown as ClassificationData;
}

const PAGE = 'classification';

export const classificationProtocol = resultPageProtocol(PAGE, 'classificationData', 'classificationChanged', checkClassification);
export type ClassificationProtocol = typeof classificationProtocol;
