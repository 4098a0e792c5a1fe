/**
 * The same integration suite under @vscode/test-electron, for desktops that can download VS Code
 * (this CI cannot reach update.code.visualstudio.com; it uses runInCodeServer.ts instead).
 * Usage: npm run test:electron  (VS Code version: DLA_VSCODE_VERSION, default 'stable').
 */
import * as fs from 'fs';
import * as path from 'path';
import { runTests } from '@vscode/test-electron';
import { REPO_ROOT, TEST_TMP } from '../../scripts/code-server/paths';
import { REFERENCE_DIR, makeWorkspace } from './workspace';

async function main(): Promise<void> {
  const runDir = path.join(TEST_TMP, 'vscode', 'electron');
  fs.rmSync(runDir, { recursive: true, force: true });
  const workspace = makeWorkspace(path.join(runDir, 'workspace'));
  const resultsFile = path.join(runDir, 'results.json');
  await runTests({
    version: process.env.DLA_VSCODE_VERSION ?? 'stable',
    extensionDevelopmentPath: REPO_ROOT,
    extensionTestsPath: path.join(REPO_ROOT, 'out', 'test', 'integration', 'index.js'),
    extensionTestsEnv: { DLA_ITEST_RESULTS: resultsFile, DLA_REFERENCE_DIR: REFERENCE_DIR },
    launchArgs: [workspace, '--disable-extensions', '--disable-workspace-trust', `--user-data-dir=${path.join(runDir, 'user-data')}`],
  });
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
