/**
 * The integration suite's entry, loaded by the extension host as `extensionTestsPath` (under
 * code-server through the workbench URL payload, or by @vscode/test-electron on a desktop). The
 * host calls run(); its settling is the suite's verdict.
 */
import * as fs from 'fs';
import * as path from 'path';
import type MochaType from 'mocha';

// mocha 12 is an ES module; its CommonJS build is required directly so that this works in any
// extension host Node version without require(esm).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const Mocha: typeof MochaType = require('mocha/lib/mocha.cjs');

export async function run(): Promise<void> {
  const mocha = new Mocha({ ui: 'bdd', color: false, timeout: 60_000, reporter: 'spec' });
  const grep = process.env.DLA_ITEST_GREP;
  if (grep) mocha.grep(grep);
  for (const f of fs.readdirSync(__dirname).filter((f) => f.endsWith('.itest.js')).sort()) {
    mocha.addFile(path.join(__dirname, f));
  }
  const results: { title: string; state: string; ms?: number; error?: string; notes?: string[] }[] = [];
  const g = globalThis as { dlaItestNotes?: string[] };
  const failures = await new Promise<number>((resolve, reject) => {
    try {
      const runner = mocha.run(resolve);
      runner.on('test end', (t) => {
        const notes = g.dlaItestNotes?.splice(0) ?? [];
        results.push({ title: t.fullTitle(), state: t.state ?? 'pending', ms: t.duration, error: (t as { err?: Error }).err?.message, ...(notes.length ? { notes } : {}) });
      });
    } catch (err) {
      reject(err);
    }
  });
  // The runner outside reads this file too: the page console is a best-effort channel only.
  const out = process.env.DLA_ITEST_RESULTS;
  if (out) fs.writeFileSync(out, JSON.stringify({ failures, results }, null, 2));
  if (failures > 0) throw new Error(`${failures} integration test(s) failed.`);
}
