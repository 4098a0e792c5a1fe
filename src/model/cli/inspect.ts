import { inspectCheckpoint, type InspectResult } from '../inspect';
import { describeWeightCheck } from '../dla/weightCheck';
import { UsageError } from '../errors';
import { parse } from './args';
import { formatShape } from '../tensor';

export const INSPECT_USAGE = 'dla-lens inspect FILE [--json] [--all]';

function printText(r: InspectResult, all: boolean): void {
  console.log(`${r.file}`);
  console.log(`  format      ${r.format}`);
  console.log(`  variant     ${r.variant ?? 'none'} - ${r.variantReason}`);
  console.log(`  parameters  ${r.parameters.toLocaleString('en-US')}`);
  console.log(`  tensors     ${r.tensors.length}`);
  const shown = all ? r.tensors : r.tensors.slice(0, 12);
  for (const t of shown) console.log(`    ${t.name.padEnd(44)} ${t.dtype.padEnd(8)} ${formatShape(t.shape)}`);
  if (shown.length < r.tensors.length) console.log(`    ... ${r.tensors.length - shown.length} more (--all lists every tensor)`);
  for (const line of describeWeightCheck({ ...r, ignoredAbsent: [], matched: 0 })) console.log(`  ${line}`);
}

export async function inspectCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse('inspect', argv, {
    json: { type: 'boolean' },
    all: { type: 'boolean' },
  });
  if (positionals.length !== 1) throw new UsageError(`Usage: ${INSPECT_USAGE}`);
  const result = inspectCheckpoint(positionals[0]);
  if (values.json) console.log(JSON.stringify(result, null, 2));
  else printText(result, values.all ?? false);
  return 0;
}
