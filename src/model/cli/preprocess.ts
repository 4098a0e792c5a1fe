import * as fs from 'fs';
import { UsageError } from '../errors';
import { writeNpz } from '../formats/npzWriter';
import { comparePreprocessing, type DifferenceStats, type PreprocessingComparison, type SideResult } from '../run/comparePreprocessing';
import { loadModel } from '../run/loadModel';
import { loadPreset } from '../run/presetConfig';
import { preprocessImage } from '../run/preprocess';
import type { Tensor } from '../tensor';
import { parse, positiveInt, requireOption } from './args';
import { PRESET_OPTIONS, PRESET_USAGE } from './presetOption';
import { parseProvider } from './provider';

export const PREPROCESS_USAGE =
  `dla-lens preprocess IMAGE ${PRESET_USAGE} (--out OUT.npz | --against-preset B [--against-preset-config FILE] ` +
  '[--weights W [--weights-key KEY] [--top 5] [--provider auto|cuda|webgpu|cpu]] [--out OUT.npz] [--json])';

/**
 * One preset: writes `input` (1x3xHxW float32) and `image` (the cropped uint8 HxWx3).
 * Against a second preset: prints where the two pipelines differ (pixels of the crops, the tensors,
 * with weights both top-k); --out then writes both inputs, both crops and the difference map.
 */
export async function preprocessCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    ...PRESET_OPTIONS,
    'against-preset': { type: 'string' },
    'against-preset-config': { type: 'string' },
    weights: { type: 'string' },
    'weights-key': { type: 'string' },
    top: { type: 'string', default: '5' },
    provider: { type: 'string', default: 'auto' },
    out: { type: 'string' },
    json: { type: 'boolean' },
  });
  if (positionals.length !== 1) throw new UsageError(`Usage: ${PREPROCESS_USAGE}`);
  const image = positionals[0];
  const presetA = loadPreset(values.preset, values['preset-config']);
  const against = values['against-preset'] !== undefined || values['against-preset-config'] !== undefined;
  if (!against) {
    for (const flag of ['weights', 'weights-key', 'json'] as const) {
      if (values[flag] !== undefined) throw new UsageError(`--${flag} compares two presets; give --against-preset too.`);
    }
    const out = requireOption(values.out, '--out');
    const p = await preprocessImage(new Uint8Array(fs.readFileSync(image)), image, presetA);
    const crop = p.cropped;
    fs.writeFileSync(out, writeNpz([['input', p.input], ['image', u8(crop.height, crop.width, crop.rgb)]]));
    console.log(`${out}: input [1, 3, ${crop.height}, ${crop.width}] float32, image [${crop.height}, ${crop.width}, 3] uint8 (${presetA.name})`);
    return 0;
  }

  const presetB = loadPreset(values['against-preset'], values['against-preset-config']);
  const k = positiveInt('--top', values.top)!;
  const provider = parseProvider(values.provider!);
  const model = values.weights !== undefined ? loadModel(values.weights, { weightsKey: values['weights-key'] }) : undefined;
  const c = await comparePreprocessing(new Uint8Array(fs.readFileSync(image)), image, presetA, presetB, { model, k, provider });
  if (values.out) {
    const entries: [string, Tensor][] = [
      ['input_a', c.a.result.input], ['input_b', c.b.result.input],
      ['image_a', u8(c.a.result.cropped.height, c.a.result.cropped.width, c.a.result.cropped.rgb)],
      ['image_b', u8(c.b.result.cropped.height, c.b.result.cropped.width, c.b.result.cropped.rgb)],
    ];
    if (c.differenceMap) entries.push(['difference', { dtype: 'uint8', shape: [c.differenceMap.height, c.differenceMap.width], data: c.differenceMap.data }]);
    fs.writeFileSync(values.out, writeNpz(entries));
  }
  console.log(values.json ? JSON.stringify(comparisonJson(c, values.weights, values.out), null, 2) : comparisonText(c, values.out).join('\n'));
  return 0;
}

function u8(height: number, width: number, data: Uint8Array): Tensor {
  return { dtype: 'uint8', shape: [height, width, 3], data };
}

function sideJson(s: SideResult) {
  const r = s.result;
  return {
    preset: s.preset.name,
    description: s.preset.description,
    decoder: s.preset.decoder,
    channels: s.preset.channels,
    decoded: [r.decoded.width, r.decoded.height],
    resized: [r.resized.width, r.resized.height],
    cropped: [r.cropped.width, r.cropped.height],
    ...(s.top ? { top: s.top, provider: s.provider } : {}),
  };
}

export function comparisonJson(c: PreprocessingComparison, weights?: string, out?: string) {
  return {
    image: c.file,
    ...(weights ? { weights } : {}),
    ...(out ? { out } : {}),
    a: sideJson(c.a),
    b: sideJson(c.b),
    comparable: c.comparable,
    ...(c.incomparable ? { incomparable: c.incomparable } : {}),
    ...(c.pixels ? { pixels: c.pixels, tensor: c.tensor } : {}),
    ...(c.logitsMaxAbs !== undefined ? { logitsMaxAbs: c.logitsMaxAbs } : {}),
  };
}

function stats(s: DifferenceStats, unit: string, digits: number): string {
  return `max ${s.max.toFixed(digits)}, mean ${s.mean.toFixed(digits + 2)}, differ at ${(100 * s.differingShare).toFixed(1)}% of ${unit} (${s.differing} of ${s.total})`;
}

function comparisonText(c: PreprocessingComparison, out?: string): string[] {
  const width = Math.max(c.a.preset.name.length, c.b.preset.name.length);
  const lines = [`${c.file}: ${c.a.preset.name} vs ${c.b.preset.name}`];
  for (const s of [c.a, c.b]) {
    const r = s.result;
    lines.push(`  ${s.preset.name.padEnd(width)}  decoded ${r.decoded.width}x${r.decoded.height}, resized ${r.resized.width}x${r.resized.height}, ` +
      `crop ${r.cropped.width}x${r.cropped.height}${s.preset.channels === 'bgr' ? ' (BGR)' : ''}: ${s.preset.description}`);
  }
  if (c.pixels && c.tensor) {
    lines.push(`  pixels  ${stats(c.pixels, 'pixels', 0)}`);
    lines.push(`  tensor  ${stats(c.tensor, 'values', 4)}`);
  } else {
    lines.push(`  not compared: ${c.incomparable}`);
  }
  if (c.a.top && c.b.top) {
    const cell = (p: { prob: number; index: number; label: string }) => `${(p.prob * 100).toFixed(2).padStart(6)}% ${String(p.index).padStart(3)} ${p.label}`;
    const colWidth = Math.max(c.a.preset.name.length, ...c.a.top.map((p) => cell(p).length));
    lines.push(`  top-${c.a.top.length} (provider ${c.a.provider})`);
    lines.push(`    ${c.a.preset.name.padEnd(colWidth)}  |  ${c.b.preset.name}`);
    c.a.top.forEach((p, i) => lines.push(`    ${cell(p).padEnd(colWidth)}  |  ${cell(c.b.top![i])}`));
    if (c.logitsMaxAbs !== undefined) lines.push(`  logits  max |a - b| ${c.logitsMaxAbs.toFixed(4)}`);
  }
  if (out) lines.push(`  wrote ${out}: input_a, input_b, image_a, image_b${c.differenceMap ? ', difference' : ''}`);
  return lines;
}
