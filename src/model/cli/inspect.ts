import { inspectCheckpoint, type InspectResult } from '../inspect';
import { describeWeightCheck } from '../dla/weightCheck';
import { countTensors, displayKey } from '../formats/stateDict';
import { UsageError } from '../errors';
import { parse } from './args';
import { formatShape } from '../tensor';

export const INSPECT_USAGE = 'dla-lens inspect FILE|HUB_FOLDER [--weights-key KEY] [--json] [--all]';

/** Metadata values can be long (Paddle's name map as JSON); the text view shows their start. */
const MAX_VALUE = 100;

function clip(s: string): string {
  return s.length > MAX_VALUE ? `${s.slice(0, MAX_VALUE)}... (${s.length} characters; --json has all)` : s;
}

function printWeights(r: InspectResult): void {
  const w = r.weights;
  if (!w || (w.candidates.length <= 1 && w.key === '' && !w.strippedPrefix)) return;
  console.log(`  weights     ${displayKey(w.key)}: ${w.reason}`);
  const others = w.candidates.filter((c) => c.key !== w.key);
  if (others.length) console.log(`  other dicts ${others.map((c) => `${displayKey(c.key)} (${countTensors(c.tensors)})`).join(', ')} (--weights-key picks one)`);
  if (w.strippedPrefix) console.log(`  stripped    '${w.strippedPrefix}' from every name`);
  if (w.skipped.length) console.log(`  skipped     ${w.skipped.join(', ')}`);
  if (w.ignored.length) console.log(`  not tensors ${w.ignored.join(', ')}`);
}

function printHub(r: InspectResult): void {
  const h = r.hub;
  if (!h) return;
  console.log(`  hub folder  ${h.folder}`);
  console.log(`    config    ${h.configFile}: architecture '${h.architecture}'${h.numClasses !== undefined ? `, ${h.numClasses} classes` : ''}` +
    (h.problem ? '' : ', matching the weights'));
  if (h.problem) console.log(`    PROBLEM   ${h.problem}`);
  console.log(`    weights   ${h.weightsFile}`);
  for (const note of h.notes) console.log(`    note      ${note}`);
  const cfg = h.pretrainedCfg;
  const shown = ['tag', 'input_size', 'interpolation', 'crop_pct', 'crop_mode', 'mean', 'std', 'num_classes'].filter((k) => cfg[k] !== undefined);
  for (const k of shown) console.log(`    ${k.padEnd(13)} ${JSON.stringify(cfg[k])}`);
  const rest = Object.keys(cfg).filter((k) => !shown.includes(k));
  if (rest.length) console.log(`    also        ${rest.join(', ')}`);
}

function printText(r: InspectResult, all: boolean): void {
  console.log(`${r.file}`);
  console.log(`  format      ${r.format}`);
  console.log(`  variant     ${r.variant ?? 'none'} - ${r.variantReason}`);
  console.log(`  parameters  ${r.parameters.toLocaleString('en-US')}`);
  printWeights(r);
  printHub(r);
  const facts = Object.entries(r.metadata).filter(([k]) => !['unwrapped', 'weights', 'alternatives', 'strippedPrefix', 'skipped', 'ignoredKeys'].includes(k));
  if (facts.length) {
    console.log('  metadata');
    const width = Math.min(24, Math.max(...facts.map(([k]) => k.length)));
    for (const [k, v] of facts) console.log(`    ${k.padEnd(width)} ${clip(v)}`);
  }
  console.log(`  tensors     ${r.tensors.length}`);
  const shown = all ? r.tensors : r.tensors.slice(0, 12);
  for (const t of shown) console.log(`    ${t.name.padEnd(44)} ${t.dtype.padEnd(8)} ${formatShape(t.shape)}`);
  if (shown.length < r.tensors.length) console.log(`    ... ${r.tensors.length - shown.length} more (--all lists every tensor)`);
  for (const line of describeWeightCheck({ ...r, ignoredAbsent: [], matched: 0 })) console.log(`  ${line}`);
}

export async function inspectCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    json: { type: 'boolean' },
    all: { type: 'boolean' },
    'weights-key': { type: 'string' },
  });
  if (positionals.length !== 1) throw new UsageError(`Usage: ${INSPECT_USAGE}`);
  const result = inspectCheckpoint(positionals[0], { weightsKey: values['weights-key'] });
  if (values.json) console.log(JSON.stringify(result, null, 2));
  else printText(result, values.all ?? false);
  return 0;
}
