import { formatShape, type Tensor } from '../tensor';
import { buildModuleTree } from './moduleTree';
import { VARIANTS, type DlaVariant } from './variants';
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

/** A fine-tuned head changes only fc: read the class count from it rather than refusing. */
function classesFrom(tensors: ReadonlyMap<string, Tensor>): number | undefined {
  const fc = tensors.get('fc.weight');
  return fc && fc.shape.length === 4 ? fc.shape[0] : undefined;
}

function fit(variant: DlaVariant, tensors: ReadonlyMap<string, Tensor>): CandidateFit {
  return { variant, check: checkWeights(variant, tensors, buildModuleTree(variant)) };
}

const problems = (c: WeightCheck): number => c.missing.length + c.mismatched.length;

/** Which timm DLA variant a state dict (timm names) holds, judged by its keys and shapes. */
export function detectVariant(tensors: ReadonlyMap<string, Tensor>): Detection {
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
    return {
      variant: null,
      reason: `Not a timm DLA state dict: it has no 'base_layer.0.weight'${sample ? `; its first keys are ${sample}` : ''}.`,
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
