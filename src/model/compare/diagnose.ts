import { findNode, walk, type ModuleNode } from '../dla/moduleTree';
import type { GraphVariation } from '../dla/onnxGraph';
import type { LoadedModel } from '../run/loadModel';
import type { ProviderSetting } from '../run/session';
import { formatShape, toFloat32, type Tensor } from '../tensor';
import { diffMetrics } from './metrics';
import { inputsFor, rerunModules } from './rerun';
import type { DiagnosisCause, Hypothesis, ToleranceRule } from './types';

/**
 * At the first divergence, re-run the smallest enclosing module of the reference from the
 * candidate's own inputs, once as is and once per known porting mistake applied inside it. A
 * mistake whose re-run matches the candidate (within the tolerance) names the cause; when none
 * does, the cause is reported as unknown with each hypothesis's residual, never guessed.
 */

interface Candidate {
  readonly cause: Exclude<DiagnosisCause, 'unknown'>;
  readonly explanation: string;
  readonly variations: readonly GraphVariation[];
  /** bgr-input is a property of the feed, not of the graph. */
  readonly reverseInputChannels?: boolean;
}

const recordModule = (key: string): string => key.replace(/#\d+$/, '');

/** The innermost module at or above the divergent record whose inputs the candidate holds. */
export function enclosingUnit(model: LoadedModel, key: string, candidate: ReadonlyMap<string, Tensor>): { id: string; feeds: Map<string, Tensor> } | null {
  let id: string | undefined = recordModule(key);
  while (id !== undefined && id !== '') {
    const feeds = findNode(model.tree, id) ? inputsFor(model, id, candidate) : null;
    if (feeds) return { id, feeds };
    const dot: number = id.lastIndexOf('.');
    id = dot < 0 ? undefined : id.slice(0, dot);
  }
  return null;
}

function hypothesesFor(unit: ModuleNode, feeds: ReadonlyMap<string, Tensor>): Candidate[] {
  const nodes = [...walk(unit)];
  const has = (p: (n: ModuleNode) => boolean): boolean => nodes.some(p);
  const at = unit.id;
  const out: Candidate[] = [];
  if (has((n) => !!n.conv && n.conv.stride > 1)) {
    out.push({ cause: 'padding', variations: [{ kind: 'same-padding', at }],
      explanation: `a stride-2 convolution in ${at} pads asymmetrically (TF 'SAME': the extra row/column at the bottom/right) instead of PyTorch's symmetric padding` });
  }
  if (has((n) => n.bnChannels !== undefined)) {
    out.push({ cause: 'bn-eps', variations: [{ kind: 'bn-epsilon', epsilon: 1e-3, at }],
      explanation: `BatchNorm in ${at} uses epsilon 1e-3 (the TensorFlow/Keras default) where timm uses PyTorch's 1e-5` });
    out.push({ cause: 'bn-batch-stats', variations: [{ kind: 'bn-train', at }],
      explanation: `BatchNorm in ${at} normalises with the batch's own statistics (training mode) instead of the running mean/variance: call model.eval() / paddle's model.eval()` });
  }
  if (feeds.has('input')) {
    out.push({ cause: 'bgr-input', variations: [], reverseInputChannels: true,
      explanation: 'the input channels are reversed (BGR instead of RGB): check the image decoding (cv2.imread gives BGR)' });
  }
  if (has((n) => n.role === 'block' || n.kind === 'DlaRoot') && (unit.role === 'block' || unit.kind === 'DlaRoot' || unit.kind === 'DlaTree')) {
    out.push({ cause: 'missing-relu', variations: [{ kind: 'drop-relu', at }],
      explanation: `the ReLU that ends a block or root in ${at} (after the residual/shortcut add) is missing` });
  }
  if (has((n) => n.kind === 'AvgPool2d')) {
    out.push({ cause: 'avgpool-count-pad', variations: [{ kind: 'avgpool-exclude-pad', at }],
      explanation: `the AvgPool2d in ${at} excludes the padding from its divisor (Paddle's AvgPool2D default exclusive=True; PyTorch counts it): use exclusive=False` });
  }
  return out;
}

function reverseChannels(t: Tensor): Tensor {
  const x = toFloat32(t);
  const [n, c] = t.shape;
  const plane = x.length / (n * c);
  const out = new Float32Array(x.length);
  for (let b = 0; b < n; b++) {
    for (let ch = 0; ch < c; ch++) out.set(x.subarray((b * c + ch) * plane, (b * c + ch + 1) * plane), (b * c + (c - 1 - ch)) * plane);
  }
  return { dtype: 'float32', shape: t.shape, data: out };
}

export interface Diagnosis {
  /** The module re-run, or null when the candidate lacks its inputs. */
  readonly unit: string | null;
  /** The reference module re-run as is from the candidate's inputs, scaled like residuals. */
  readonly baseline: number;
  /** Best first. */
  readonly hypotheses: Hypothesis[];
}

/**
 * The inputs themselves differ (the dump's `input` against the one given with --input): the
 * preprocessing, not the model. Reversed channels are recognised; anything else is unknown.
 */
function diagnoseInput(reference: Tensor, candidate: Tensor, rule: ToleranceRule): Diagnosis {
  const plain = diffMetrics(toFloat32(reference), toFloat32(candidate), rule);
  const reversed = diffMetrics(toFloat32(reverseChannels(reference)), toFloat32(candidate), rule);
  const bgr: Hypothesis = { cause: 'bgr-input', at: 'input', residual: reversed.scaledMaxAbs,
    explanation: "the candidate's input is the reference input with its channels reversed (BGR instead of RGB): check the image decoding (cv2.imread gives BGR)" };
  const unknown: Hypothesis = { cause: 'unknown', at: 'input', residual: plain.scaledMaxAbs,
    explanation: "the candidate was fed a different input: compare the preprocessing (resize interpolation, crop, scaling to [0,1], mean/std) with `dla-lens preprocess`" };
  return { unit: 'input', baseline: plain.scaledMaxAbs, hypotheses: reversed.pass ? [bgr, unknown] : [unknown, bgr] };
}

export async function diagnose(
  model: LoadedModel, firstDivergence: string, candidate: ReadonlyMap<string, Tensor>, rule: ToleranceRule, provider: ProviderSetting,
  referenceInput?: Tensor,
): Promise<Diagnosis> {
  const target = candidate.get(firstDivergence);
  if (firstDivergence === 'input' && target && referenceInput) return diagnoseInput(referenceInput, target, rule);
  const unit = enclosingUnit(model, firstDivergence, candidate);
  if (!target || !unit) {
    return {
      unit: null, baseline: NaN,
      hypotheses: [{ cause: 'unknown', at: firstDivergence, residual: NaN,
        explanation: `the candidate does not hold the inputs of any module around ${firstDivergence}, so nothing can be re-run there; dump more layers` }],
    };
  }
  const node = findNode(model.tree, unit.id)!;
  const cand = toFloat32(target);
  // The reference as is, then each hypothesis: all in one merged session.
  const hypotheses = hypothesesFor(node, unit.feeds);
  const requests = [null, ...hypotheses].map((c) => {
    const feeds = new Map(unit.feeds);
    if (c?.reverseInputChannels) feeds.set('input', reverseChannels(feeds.get('input')!));
    return { moduleId: unit.id, feeds, taps: [firstDivergence], variations: c?.variations ?? [] };
  });
  const runs = await rerunModules(model, requests, provider);
  // A re-run whose output has another size than the candidate's explains nothing: residual Infinity.
  const measured = runs.map((out) => {
    const x = toFloat32(out.get(firstDivergence)!);
    return x.length === cand.length ? diffMetrics(x, cand, rule) : { scaledMaxAbs: Infinity, pass: false };
  });
  const base = { residual: measured[0].scaledMaxAbs, pass: measured[0].pass };
  const tried: (Hypothesis & { pass: boolean })[] = hypotheses.map((c, i) => ({
    cause: c.cause, at: unit.id, residual: measured[i + 1].scaledMaxAbs, pass: measured[i + 1].pass, explanation: c.explanation,
  }));
  tried.sort((a, b) => Number(b.pass) - Number(a.pass) || a.residual - b.residual);
  const ranked: Hypothesis[] = tried.map(({ pass: _pass, ...h }) => h);
  if (!tried.some((h) => h.pass)) {
    const why = base.pass
      ? `${unit.id} re-run from the candidate's own inputs matches the candidate, so the divergence at ${firstDivergence} is error accumulated upstream rather than a mistake in ${unit.id}; loosen the tolerance or look at the layers before it`
      : base.residual === Infinity
        ? `the candidate's ${firstDivergence} has another shape than the reference computes from the same inputs (${formatShape(target.shape)}); compare the padding, stride and kernel size of ${unit.id}`
        : `none of the known porting mistakes reproduces the candidate at ${firstDivergence} (the re-run of ${unit.id} from the candidate's inputs differs by ${base.residual.toExponential(2)}); compare the weights and the code of ${unit.id}`;
    ranked.unshift({ cause: 'unknown', at: unit.id, residual: base.residual, explanation: why });
  }
  return { unit: unit.id, baseline: base.residual, hypotheses: ranked };
}
