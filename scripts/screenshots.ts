/**
 * npm run screenshots: the README's pictures, taken on purpose rather than as a side effect of a
 * test run. Runs the suites that take them (the e2e suite in code-server + Chromium, the HTML
 * report test), which write into .test-tmp/screenshots/, then copies the ones media/screenshots/
 * already holds over them. Tests never write into tracked files.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { REPO_ROOT, TEST_TMP } from './code-server/paths';

const TAKEN = path.join(TEST_TMP, 'screenshots');
const KEPT = path.join(REPO_ROOT, 'media', 'screenshots');

function run(args: string[]): void {
  const r = spawnSync(process.execPath, args, { cwd: REPO_ROOT, stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`${args.join(' ')} failed (exit ${r.status}); no screenshot was replaced.`);
}

run(['esbuild.js']);
run(['--import', 'tsx', '--test', '--test-reporter=spec', 'test/model/compare/htmlReport.test.ts']);
run(['--import', 'tsx', '--test', '--test-reporter=spec', '--test-concurrency=1', 'test/e2e/extension.e2e.ts']);
const replaced: string[] = [];
for (const name of fs.readdirSync(KEPT).filter((f) => f.endsWith('.png'))) {
  const taken = path.join(TAKEN, name);
  if (!fs.existsSync(taken)) throw new Error(`The suites took no ${name} (looked in ${TAKEN}).`);
  fs.copyFileSync(taken, path.join(KEPT, name));
  replaced.push(name);
}
console.log(`Replaced ${replaced.length} screenshots in media/screenshots: ${replaced.join(', ')}`);
