/**
 * Runs the integration suite (out/test/integration/index.js, mocha) inside the real extension
 * host of code-server: the workbench URL's payload loads this extension in development mode and
 * names the tests entry; when run() settles the workbench calls window.codeAutomationExit(code),
 * which Playwright exposes to us. Returns the exit code (0 = all passed).
 */
import * as fs from 'fs';
import * as path from 'path';
import { launchBrowser } from '../../scripts/code-server/browser';
import { REPO_ROOT, TEST_TMP } from '../../scripts/code-server/paths';
import { startCodeServer } from '../../scripts/code-server/server';
import { workbenchUrl } from '../../scripts/code-server/workbench';
import { buildComparisonFixture } from '../e2e/fixtures/comparisonFixture';
import { REFERENCE_DIR, makeWorkspace } from './workspace';

const TESTS_ENTRY = path.join(REPO_ROOT, 'out', 'test', 'integration', 'index.js');

export async function runIntegration(opts: { timeoutMs?: number; grep?: string } = {}): Promise<number> {
  if (!fs.existsSync(TESTS_ENTRY)) throw new Error(`${TESTS_ENTRY} is missing: run \`npm run build\` first.`);
  const runDir = path.join(TEST_TMP, 'vscode', 'integration');
  fs.rmSync(runDir, { recursive: true, force: true });
  const workspace = makeWorkspace(path.join(runDir, 'workspace'));
  await buildComparisonFixture(REFERENCE_DIR, workspace);
  const resultsFile = path.join(runDir, 'results.json');
  const started = Date.now();
  const server = await startCodeServer({
    runDir,
    // The extension host inherits code-server's environment: the suite's only side channel in.
    env: {
      DLA_ITEST_RESULTS: resultsFile,
      DLA_REFERENCE_DIR: REFERENCE_DIR,
      ...(opts.grep ? { DLA_ITEST_GREP: opts.grep } : {}),
    },
  });
  const context = await launchBrowser(runDir);
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    let exit: (code: number) => void = () => undefined;
    const exited = new Promise<number>((r) => (exit = r));
    await page.exposeFunction('codeAutomationExit', (code: number) => exit(code));
    // Extension-host console output (mocha's reporter among it) reaches the page console; the
    // verdict comes from the results file, so the console is only echoed on request.
    if (process.env.DLA_VERBOSE) page.on('console', (m) => process.stdout.write(`  [page] ${m.text()}\n`));
    await page.goto(workbenchUrl(server, { folder: workspace, extensionDevelopmentPath: REPO_ROOT, extensionTestsPath: TESTS_ENTRY }));
    const timeout = opts.timeoutMs ?? 180_000;
    const code = await Promise.race([
      exited,
      new Promise<number>((r) => setTimeout(() => r(-1), timeout)),
    ]);
    if (code === -1) {
      await page.screenshot({ path: path.join(runDir, 'timeout.png') });
      console.error(`Integration suite did not finish within ${timeout / 1000} s; see ${path.join(runDir, 'timeout.png')} and ${server.logFile}.`);
      return 1;
    }
    if (fs.existsSync(resultsFile)) {
      const r = JSON.parse(fs.readFileSync(resultsFile, 'utf8')) as { failures: number; results: { title: string; state: string; ms?: number; error?: string; notes?: string[] }[] };
      for (const t of r.results) {
        const mark = t.state === 'passed' ? 'ok  ' : t.state === 'failed' ? 'FAIL' : 'skip';
        console.log(`  ${mark} ${t.title}${t.ms !== undefined ? ` (${t.ms} ms)` : ''}${t.error ? `\n       ${t.error}` : ''}`);
        for (const n of t.notes ?? []) console.log(`       ${n}`);
      }
    } else if (code === 0) {
      console.error('The suite reported success but wrote no results file; did the extension host see DLA_ITEST_RESULTS?');
      return 1;
    }
    console.log(`Integration suite: exit code ${code}, ${((Date.now() - started) / 1000).toFixed(1)} s including code-server start.`);
    return code;
  } finally {
    await context.close();
    await server.stop();
  }
}

if (require.main === module) {
  runIntegration({ grep: process.argv[2] }).then((code) => process.exit(code), (err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
