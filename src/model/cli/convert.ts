import { convertFile } from '../convert';
import { UsageError } from '../errors';
import { parse } from './args';

export const CONVERT_USAGE = 'dla-lens convert IN OUT.(pth|pt|safetensors|pdparams) [--json]';

/** Exit 0 when written, 2 on bad input (thrown, mapped by main). */
export async function convertCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { json: { type: 'boolean' } });
  if (positionals.length !== 2) throw new UsageError(`Expected an input and an output file. Usage: ${CONVERT_USAGE}`);
  const [input, output] = positionals;
  const r = convertFile(input, output);
  if (values.json) {
    console.log(JSON.stringify(r, null, 2));
    return 0;
  }
  console.log(`${r.input} (${r.from}) -> ${r.output} (${r.to})`);
  console.log(`  variant   ${r.variant ?? 'none'}`);
  console.log(`  tensors   ${r.tensorCount} written, ${r.bytes.toLocaleString('en-US')} bytes`);
  if (r.renamed.length > 0) {
    console.log(`  renamed   ${r.renamed.length}, e.g. ${r.renamed.slice(0, 2).map(([a, b]) => `${a} -> ${b}`).join(', ')}`);
  }
  for (const note of r.notes) console.log(`  note      ${note}`);
  return 0;
}
