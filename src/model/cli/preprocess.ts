import * as fs from 'fs';
import { UsageError } from '../errors';
import { writeNpz } from '../formats/npzWriter';
import { preprocessImage, PRESETS } from '../run/preprocess';
import { parse, requireOption } from './args';

export const PREPROCESS_USAGE = `dla-lens preprocess IMAGE --preset ${PRESETS.map((p) => p.name).join('|')} --out OUT.npz`;

/** Writes `input` (1x3x224x224 float32) and `image` (the resized, cropped uint8 HxWx3). */
export async function preprocessCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse('preprocess', argv, {
    preset: { type: 'string', default: 'timm' },
    out: { type: 'string' },
  });
  if (positionals.length !== 1) throw new UsageError(`Usage: ${PREPROCESS_USAGE}`);
  const out = requireOption('preprocess', values.out, '--out');
  const image = positionals[0];
  const p = await preprocessImage(new Uint8Array(fs.readFileSync(image)), image, values.preset!);
  const crop = p.cropped;
  fs.writeFileSync(out, writeNpz([
    ['input', p.input],
    ['image', { dtype: 'uint8', shape: [crop.height, crop.width, 3], data: crop.rgb }],
  ]));
  console.log(`${out}: input [1, 3, ${crop.height}, ${crop.width}] float32, image [${crop.height}, ${crop.width}, 3] uint8 (${values.preset})`);
  return 0;
}
