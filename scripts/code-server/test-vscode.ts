/**
 * npm run test:vscode: the tests that need a real VS Code. Builds, checks that install.sh has been
 * run, then runs the integration suite inside code-server's extension host and the end-to-end
 * browser suite. Exits non-zero when either fails.
 */
import { spawnSync } from 'child_process';
import { runIntegration } from '../../test/integration/runInCodeServer';
import { REPO_ROOT, assertToolsInstalled } from './paths';

async function main(): Promise<number> {
  assertToolsInstalled();
  const t0 = Date.now();
  const build = spawnSync(process.execPath, ['esbuild.js'], { cwd: REPO_ROOT, stdio: 'inherit' });
  if (build.status !== 0) return build.status ?? 1;

  console.log('== Integration suite (mocha in the code-server extension host)');
  const t1 = Date.now();
  const integration = await runIntegration();
  const t2 = Date.now();

  console.log('== End-to-end suite (Playwright + Chromium against the code-server workbench)');
  const e2e = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-concurrency=1', 'test/e2e/extension.e2e.ts'], {
    cwd: REPO_ROOT, stdio: 'inherit',
  });
  const t3 = Date.now();
  console.log(`== test:vscode: build ${((t1 - t0) / 1000).toFixed(1)} s, integration ${((t2 - t1) / 1000).toFixed(1)} s (exit ${integration}), ` +
    `e2e ${((t3 - t2) / 1000).toFixed(1)} s (exit ${e2e.status}); screenshots in .test-tmp/screenshots/`);
  return integration !== 0 ? integration : (e2e.status ?? 1);
}

main().then((code) => process.exit(code), (err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
