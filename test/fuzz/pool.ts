import * as path from 'path';
import { Worker } from 'worker_threads';
import type { CampaignOptions, CampaignResult } from './campaign';
import type { FormatName } from './targets';

/**
 * Runs campaigns in worker threads, a few at a time, each watched: a case that runs past the
 * watchdog (a hang) or allocates past the thread's heap limit ends that campaign with a failure
 * naming the case, which can then be replayed alone (`npm run fuzz -- --format F --seed S --case I`).
 */

export const WATCHDOG_MS = 30_000;
/** A thread's JS heap; a case that needs more is a failure, not an out-of-memory of the test run. */
const HEAP_MB = 1024;

export function runInWorker(options: Omit<CampaignOptions, 'progress'>): Promise<CampaignResult> {
  const progress = new Int32Array(new SharedArrayBuffer(4));
  progress[0] = -1;
  // tsx's CommonJS hook, so the worker can load the TypeScript sources directly.
  const worker = new Worker(`require('tsx/cjs'); require(${JSON.stringify(path.join(__dirname, 'worker.ts'))});`, {
    eval: true,
    workerData: { ...options, progress },
    resourceLimits: { maxOldGenerationSizeMb: HEAP_MB },
  });
  const failed = (problem: string): CampaignResult => ({
    format: options.format, seed: options.seed, cases: Math.max(0, progress[0]), boundaryCases: 0, read: 0, refused: 0, distinctErrors: 0,
    failures: [{ index: progress[0], seedFile: '?', what: `case ${progress[0]} (replay it with --case ${progress[0]})`, problem }],
    maxCaseMs: 0, maxCaseBytes: 0, ms: 0,
  });
  return new Promise((resolve) => {
    let last = -1;
    let since = Date.now();
    const timer = setInterval(() => {
      if (progress[0] !== last) {
        last = progress[0];
        since = Date.now();
      } else if (Date.now() - since > WATCHDOG_MS) {
        clearInterval(timer);
        void worker.terminate();
        resolve(failed(`no progress for ${WATCHDOG_MS / 1000} s: the reader hangs on this case`));
      }
    }, 500);
    worker.once('message', (r: CampaignResult) => {
      clearInterval(timer);
      resolve(r);
    });
    worker.once('error', (e) => {
      clearInterval(timer);
      resolve(failed(`the worker died: ${e.message}`));
    });
    worker.once('exit', (code) => {
      clearInterval(timer);
      if (code !== 0) resolve(failed(`the worker exited with code ${code}`));
    });
  });
}

/** Every format's campaign, `jobs` at a time, in FORMATS order. */
export async function runAll(formats: readonly FormatName[], base: Omit<CampaignOptions, 'progress' | 'format'>, jobs: number): Promise<CampaignResult[]> {
  const results: CampaignResult[] = new Array(formats.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < formats.length) {
      const i = next++;
      results[i] = await runInWorker({ ...base, format: formats[i] });
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(jobs, formats.length)) }, lane));
  return results;
}

export function summary(r: CampaignResult): string {
  return `${r.format.padEnd(11)} seed ${r.seed}: ${r.cases} cases (${r.boundaryCases} at structure boundaries), ${r.read} read, ${r.refused} refused ` +
    `with ${r.distinctErrors} distinct messages, ${r.failures.length} failures; slowest case ${r.maxCaseMs.toFixed(1)} ms, ` +
    `largest allocation ${(r.maxCaseBytes / 2 ** 20).toFixed(2)} MiB; ${(r.ms / 1000).toFixed(1)} s`;
}
