import type { HubConfig } from '../formats/hubFolder';
import { displayKey, type WeightsCandidate, type WeightsChoice } from '../formats/stateDict';
import { formatShape, type Tensor } from '../tensor';
import { timmName } from './keymap';
import { buildModuleTree } from './moduleTree';
import { VARIANTS, variantByName, type DlaVariant } from './variants';
import { checkWeights, type WeightCheck } from './weightCheck';

export interface CandidateFit {
  readonly variant: DlaVariant;
  readonly check: WeightCheck;
}

export interface Detection {
  /** The variant whose every weight is present with the right shape; null when none fits. */
  readonly variant: DlaVariant | null;
  /** A sentence saying why this variant, or why none. */
  readonly reason: string;
  /** All variants, best fit first. */
  readonly candidates: readonly CandidateFit[];
}

/** Detection needs names and shapes only, so it can judge a checkpoint's candidates before reading their data. */
type Shapes = ReadonlyMap<string, Pick<Tensor, 'shape'>>;

/** A fine-tuned head changes only fc: read the class count from it rather than refusing. */
function classesFrom(tensors: Shapes): number | undefined {
  const fc = tensors.get('fc.weight');
  return fc && fc.shape.length === 4 ? fc.shape[0] : undefined;
}

function fit(variant: DlaVariant, tensors: Shapes): CandidateFit {
  return { variant, check: checkWeights(variant, tensors, buildModuleTree(variant)) };
}

const problems = (c: WeightCheck): number => c.missing.length + c.mismatched.length;

/** Which timm DLA variant a state dict (timm names) holds, judged by its keys and shapes. */
export function detectVariant(tensors: Shapes): Detection {
  const classes = classesFrom(tensors);
  const fits = VARIANTS.map((v) => fit(classes ? { ...v, numClasses: classes } : v, tensors)).sort(
    (a, b) => problems(a.check) - problems(b.check) || a.check.unexpected.length - b.check.unexpected.length || b.check.matched - a.check.matched,
  );
  const best = fits[0];
  const head = classes && classes !== 1000 ? `, a ${classes}-class head` : '';
  if (problems(best.check) === 0) {
    const extra = best.check.unexpected.length;
    return {
      variant: best.variant,
      reason: `${best.variant.name}: all ${best.check.matched} expected weights are present with the expected shapes${head}` +
        (best.check.knownUnused.length ? `, plus ${best.check.knownUnused.length} unused 'project' weights of the original DLA code` : '') +
        (extra ? `; ${extra} further key${extra > 1 ? 's are' : ' is'} not part of the model` : '') + '.',
      candidates: fits,
    };
  }
  if (!tensors.has('base_layer.0.weight')) {
    const sample = [...tensors.keys()].slice(0, 4).map((k) => `'${k}'`).join(', ');
    const c = best.check;
    const expected = c.matched + c.missing.length + c.mismatched.length;
    return {
      variant: null,
      reason: `Not a DLA checkpoint: missing '${c.missing[0]?.name ?? 'base_layer.0.weight'}'${c.missing.length > 1 ? ` and ${c.missing.length - 1} more` : ''}; ` +
        `closest variant ${best.variant.name} (${c.matched} of its ${expected} weights fit)${sample ? `; the file's first keys are ${sample}` : ''}.`,
      candidates: fits,
    };
  }
  const c = best.check;
  const example = c.mismatched[0]
    ? `e.g. '${c.mismatched[0].name}' expected ${formatShape(c.mismatched[0].expected)}, found ${formatShape(c.mismatched[0].found)}`
    : c.missing[0]
      ? `e.g. '${c.missing[0].name}' is missing`
      : `e.g. '${c.unexpected[0].name}' is unexpected`;
  return {
    variant: null,
    reason: `No timm DLA variant fits exactly. Closest is ${best.variant.name}: ${c.missing.length} missing, ` +
      `${c.mismatched.length} with the wrong shape, ${c.unexpected.length} unexpected (${example}).`,
    candidates: fits,
  };
}

/**
 * The weights chooser for checkpoints with several dicts of tensors (a training checkpoint's
 * 'state_dict' and 'state_dict_ema', a 0-d 'best_acc1' beside them...): the dict that fits a DLA
 * variant exactly, else the one that comes closest; among equals the reader's default order
 * (trained weights before their EMA copy). A prefix every name carries (Lightning's 'model.') is
 * tried off as well. The reason names the alternatives, so a report can say an EMA copy exists.
 */
export function chooseDlaWeights(candidates: readonly WeightsCandidate[]): WeightsChoice | undefined {
  const options = candidates.flatMap((c, order) =>
    [undefined, commonPrefix(c.tensors.keys())]
      .filter((p, i) => i === 0 || p !== undefined)
      .map((prefix) => ({ c, order, prefix, detection: detectVariant(timmShapes(c.tensors, prefix)) })),
  );
  if (options.length === 0) return undefined;
  const score = (o: (typeof options)[number]): number => {
    const check = o.detection.candidates[0].check;
    return o.detection.variant ? 0 : 1 + check.missing.length + check.mismatched.length;
  };
  options.sort((a, b) => score(a) - score(b) || a.order - b.order || Number(a.prefix !== undefined) - Number(b.prefix !== undefined));
  const best = options[0];
  let reason = best.detection.variant
    ? `fits ${best.detection.variant.name} exactly`
    : `comes closest to a DLA variant (${best.detection.candidates[0].variant.name}), though none fits exactly`;
  if (best.prefix) reason += ` once the prefix '${best.prefix}' is stripped`;
  const alsoFit = candidates
    .filter((c) => c !== best.c)
    .map((c) => ({ c, o: options.find((x) => x.c === c && x.detection.variant) }))
    .filter(({ o }) => o)
    .map(({ c, o }) => `${displayKey(c.key)} fits ${o!.detection.variant!.name} too`);
  if (alsoFit.length > 0) reason += `; ${alsoFit.join(', ')}`;
  return { key: best.c.key, stripPrefix: best.prefix, reason };
}

function timmShapes(tensors: ReadonlyMap<string, Pick<Tensor, 'shape'>>, prefix?: string): Shapes {
  const out = new Map<string, Pick<Tensor, 'shape'>>();
  for (const [k, t] of tensors) out.set(timmName(prefix ? k.slice(prefix.length) : k), t);
  return out;
}

/** The first dotted segment every name shares ('model.' in a Lightning state_dict), if any. */
function commonPrefix(names: Iterable<string>): string | undefined {
  let prefix: string | undefined;
  for (const n of names) {
    const dot = n.indexOf('.');
    if (dot <= 0) return undefined;
    const p = n.slice(0, dot + 1);
    if (prefix === undefined) prefix = p;
    else if (p !== prefix) return undefined;
  }
  return prefix;
}

/**
 * A timm hub folder names its architecture in config.json: the weights must be that variant (and
 * have its class count). Returns the problem as a sentence naming both, or undefined when they agree.
 */
export function hubArchitectureProblem(hub: HubConfig, detection: Detection): string | undefined {
  const named = hub.architecture;
  const base = named.split('.')[0];
  if (!variantByName(base)) return `${hub.configFile} names architecture '${named}', which is not a timm DLA variant.`;
  const found = detection.variant;
  if (!found) return `${hub.configFile} names architecture '${named}' but the weights in ${hub.weightsFile} fit no DLA variant: ${detection.reason}`;
  if (found.name !== base) {
    return `${hub.configFile} names architecture '${named}' but the weights in ${hub.weightsFile} are ${found.name} (${detection.reason})`;
  }
  if (hub.numClasses !== undefined && hub.numClasses !== found.numClasses) {
    return `${hub.configFile} says num_classes ${hub.numClasses} but the weights in ${hub.weightsFile} have a ${found.numClasses}-class head (fc.weight).`;
  }
  return undefined;
}
