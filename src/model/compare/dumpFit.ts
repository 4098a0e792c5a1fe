import { buildModuleTree } from '../dla/moduleTree';
import { recordShapes } from '../dla/onnxGraph';
import { VARIANTS, type DlaVariant } from '../dla/variants';
import { formatShape } from '../tensor';

/**
 * Whether a dump's records have the reference architecture's shapes, and if not, which variant's
 * they have: a dump of another variant compared with the reference would otherwise read as a
 * wall of shape mismatches and one meaningless "first divergence". Shapes are checked at the
 * dump's own input size, on the records both have. `shapes`: each record's shape, by record key
 * (shapesOf() of a dump read whole, or DumpStream.shapes(), which reads only the headers).
 */
export function dumpFitProblem(shapes: ReadonlyMap<string, readonly number[]>, reference: DlaVariant): string | undefined {
  const input = shapes.get('input');
  if (!input || input.length !== 4) return undefined;
  const [n, , h, w] = input;
  const fit = (v: DlaVariant) => {
    const expected = recordShapes(buildModuleTree(v), h, w, n);
    let same = 0, common = 0;
    let example: string | undefined;
    for (const [key, shape] of shapes) {
      const s = expected.get(key);
      if (!s || key === 'input') continue;
      common++;
      if (s.join('x') === shape.join('x')) same++;
      else example ??= `${key} is ${formatShape(shape)} where ${v.name} has ${formatShape(s)}`;
    }
    return { v, same, common, example };
  };
  const ours = fit(reference);
  if (ours.common === 0 || ours.same / ours.common >= 0.9) return undefined;
  const best = VARIANTS.map(fit).sort((a, b) => b.same / Math.max(1, b.common) - a.same / Math.max(1, a.common))[0];
  const other = best.v.name !== reference.name && best.same === best.common
    ? ` Every one of them has ${best.v.name}'s shape: it is a dump of ${best.v.name}, so compare it with a ${best.v.name} reference.`
    : '';
  return `The dump's records do not have ${reference.name}'s shapes: ${ours.common - ours.same} of the ${ours.common} records both have differ (${ours.example}).${other}`;
}

/** Each record's shape, by key, of a dump read whole. */
export function shapesOf(dump: ReadonlyMap<string, { readonly shape: readonly number[] }>): Map<string, readonly number[]> {
  return new Map([...dump].map(([k, t]) => [k, t.shape]));
}
