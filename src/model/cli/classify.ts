import { UsageError } from '../errors';
import { classify } from '../run/forward';
import { loadInput } from '../run/inputSource';
import { loadModel } from '../run/loadModel';
import { parseProvider } from './provider';
import { parse, positiveInt, requireOption } from './args';
import { PRESET_OPTIONS, PRESET_USAGE, presetFromOptions } from './presetOption';

export const CLASSIFY_USAGE = `dla-lens classify IMAGE --weights W [--weights-key KEY] ${PRESET_USAGE} [--top 5] [--json] [--provider auto|cuda|webgpu|cpu]`;

export async function classifyCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    weights: { type: 'string' },
    'weights-key': { type: 'string' },
    ...PRESET_OPTIONS,
    top: { type: 'string', default: '5' },
    json: { type: 'boolean' },
    provider: { type: 'string', default: 'auto' },
  });
  if (positionals.length !== 1) throw new UsageError(`Usage: ${CLASSIFY_USAGE}`);
  const k = positiveInt('--top', values.top)!;
  const model = loadModel(requireOption(values.weights, '--weights'), { weightsKey: values['weights-key'] });
  const preset = presetFromOptions(values, values.weights);
  const input = await loadInput(positionals[0], preset);
  const r = await classify(model, input.tensor, k, parseProvider(values.provider!));
  if (values.json) {
    console.log(JSON.stringify({
      image: positionals[0], weights: values.weights, variant: model.variant.name, preset: preset.name,
      provider: r.provider, timingsMs: r.timingsMs, top: r.top,
    }, null, 2));
  } else {
    console.log(`${positionals[0]}: ${model.variant.name}, preset ${preset.name}, provider ${r.provider}, ${r.timingsMs.run.toFixed(1)} ms`);
    for (const p of r.top) console.log(`  ${(p.prob * 100).toFixed(2).padStart(6)}%  ${String(p.index).padStart(3)}  ${p.label}`);
  }
  return 0;
}
