import * as os from 'os';
import { parseArgs } from 'util';
import { runCampaign } from './campaign';
import { runAll, summary } from './pool';
import { FORMATS, type FormatName } from './targets';

/**
 * A longer fuzz campaign on demand:
 *   npm run fuzz -- [--cases 100000] [--seed N] [--format pth-zip,npy] [--jobs 2]
 *   npm run fuzz -- --format pth-zip --seed N --case I      replays one case and prints what it was
 * Without --seed a fresh one is drawn (and printed), so repeated campaigns explore new cases.
 */
const { values } = parseArgs({
  options: {
    cases: { type: 'string', default: '100000' },
    seed: { type: 'string' },
    format: { type: 'string' },
    jobs: { type: 'string' },
    case: { type: 'string' },
  },
});
const formats = (values.format ? values.format.split(',') : FORMATS) as FormatName[];
for (const f of formats) if (!FORMATS.includes(f)) throw new Error(`Unknown format '${f}'; expected one of ${FORMATS.join(', ')}.`);
const seed = values.seed !== undefined ? Number(values.seed) : Math.floor(Math.random() * 2 ** 31);

async function main(): Promise<number> {
  if (values.case !== undefined) {
    const r = runCampaign({ format: formats[0], cases: 0, seed, only: Number(values.case) });
    console.log(summary(r));
    for (const f of r.failures) console.log(`case ${f.index} (${f.seedFile}: ${f.what}):\n${f.problem}`);
    return r.failures.length ? 1 : 0;
  }
  const jobs = Number(values.jobs ?? Math.max(1, os.availableParallelism()));
  console.log(`fuzz: seed ${seed}, ${values.cases} cases per format, ${jobs} at a time`);
  const results = await runAll(formats, { cases: Number(values.cases), seed }, jobs);
  let failures = 0;
  for (const r of results) {
    console.log(summary(r));
    for (const f of r.failures) {
      console.log(`  case ${f.index} (${f.seedFile}: ${f.what}): ${f.problem}\n  replay: npm run fuzz -- --format ${r.format} --seed ${r.seed} --case ${f.index}`);
    }
    failures += r.failures.length;
  }
  return failures ? 1 : 0;
}

main().then((code) => {
  process.exitCode = code;
});
