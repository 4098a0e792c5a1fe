import assert from 'node:assert/strict';
import * as os from 'os';
import { before, describe, it } from 'node:test';
import type { CampaignResult } from './campaign';
import { runAll, summary } from './pool';
import { FORMATS } from './targets';

/**
 * The format readers under fuzz, as part of the unit suite: 10,000 cases per format (zip and legacy
 * .pth, .safetensors, .pdparams, .npy, .npz, .onnx), mutated from small real files committed in
 * test/fuzz/seeds/ (written by scripts/fixtures/make_fuzz_seeds.py with torch, numpy and pickle).
 * Every case must give a consistent checkpoint or a FormatError naming the file and an offset or
 * key, within 2 s, allocating at most 64 MiB (see campaign.ts). The seed is fixed so CI is
 * reproducible; FUZZ_SEED and FUZZ_CASES change it, and `npm run fuzz -- --cases N` runs longer
 * campaigns with a fresh seed.
 */

const CASES = Number(process.env.FUZZ_CASES ?? 10_000);
const SEED = Number(process.env.FUZZ_SEED ?? 0x5eed_d1a);

describe(`fuzzing the format readers (seed ${SEED}, ${CASES} cases per format)`, { timeout: 600_000 }, () => {
  const results = new Map<string, CampaignResult>();

  before(async () => {
    const jobs = Math.max(1, Math.min(2, os.availableParallelism()));
    for (const r of await runAll(FORMATS, { cases: CASES, seed: SEED }, jobs)) {
      results.set(r.format, r);
      console.log(`# fuzz ${summary(r)}`);
    }
  });

  for (const format of FORMATS) {
    it(`${format}: every case reads or is refused with a clean FormatError, in bounded time and memory`, () => {
      const r = results.get(format)!;
      const detail = r.failures
        .map((f) => `case ${f.index} (${f.seedFile}: ${f.what}): ${f.problem}\n  replay: npm run fuzz -- --format ${format} --seed ${r.seed} --case ${f.index}`)
        .join('\n');
      assert.equal(r.failures.length, 0, `${r.failures.length} failures:\n${detail}`);
      assert.equal(r.cases, CASES);
      // Both outcomes occur: the mutations reach checks throughout the reader, and some mutants still read.
      assert.ok(r.refused > CASES / 2 && r.read > 0, summary(r));
    });
  }
});
