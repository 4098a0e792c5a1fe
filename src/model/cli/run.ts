import * as fs from 'fs';
import { UsageError } from '../errors';
import { writeNpz } from '../formats/npzWriter';
import { forwardTaps } from '../run/forward';
import { loadInput } from '../run/inputSource';
import { loadModel } from '../run/loadModel';
import { parseProvider } from './provider';
import { parse, requireOption } from './args';
import { PRESET_OPTIONS, PRESET_USAGE, presetFromOptions } from './presetOption';

export const RUN_USAGE =
  `dla-lens run --weights W [--weights-key KEY] --input IN.npz|IMAGE ${PRESET_USAGE} --out OUT.npz [--layers all|K1,K2,...] [--provider auto|cuda|webgpu|cpu]`;

/** Every requested record (timm keys) plus `logits`, as float32 .npz in execution order. */
export async function runCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    weights: { type: 'string' },
    'weights-key': { type: 'string' },
    input: { type: 'string' },
    ...PRESET_OPTIONS,
    out: { type: 'string' },
    layers: { type: 'string', default: 'all' },
    provider: { type: 'string', default: 'auto' },
  });
  if (positionals.length) throw new UsageError(`Unexpected argument '${positionals[0]}'. Usage: ${RUN_USAGE}`);
  const model = loadModel(requireOption(values.weights, '--weights'), { weightsKey: values['weights-key'] });
  const input = await loadInput(requireOption(values.input, '--input'), presetFromOptions(values, values.weights));
  const out = requireOption(values.out, '--out');
  const layers = values.layers === 'all' ? 'all' : [...new Set([...values.layers!.split(',').map((s) => s.trim()).filter(Boolean), 'logits'])];
  const r = await forwardTaps(model, input.tensor, { taps: layers, provider: parseProvider(values.provider!) });
  fs.writeFileSync(out, writeNpz(r.records));
  console.log(`${out}: ${r.records.size} records of ${model.variant.name} on ${input.source}, provider ${r.provider}, ` +
    `run ${r.timingsMs.run.toFixed(1)} ms (graph ${r.timingsMs.build.toFixed(0)} ms, session ${r.timingsMs.session.toFixed(0)} ms)`);
  return 0;
}
