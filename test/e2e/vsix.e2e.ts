/**
 * The packaged extension, as a user gets it: the linux-x64 .vsix (npm run package) installed with
 * `code-server --install-extension` into a fresh extensions folder, then a workbench with nothing
 * in development mode. Its commands are in the palette and run (activation from the installed
 * bundle), the comparison view renders from the packaged webview bundle and styles, and Classify
 * Image works, which loads the packaged onnxruntime-node and sharp binaries.
 * Run with `npm run test:vsix` (builds every platform's package first, and vsixContents.e2e.ts checks
 * what each holds); DLA_VSIX names another .vsix.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { after, before, describe, it } from 'node:test';
import { checkNativeModules } from '../../src/engine/nativeCheck';
import { REPO_ROOT, TEST_TMP } from '../../scripts/code-server/paths';
import { installVsix } from '../../scripts/code-server/server';
import { REFERENCE_DIR, makeWorkspace } from '../integration/workspace';
import { buildComparisonFixture } from './fixtures/comparisonFixture';
import { classifyFromExplorer, closeEditors, openWorkbench, paletteHas, pickItem, runCommand, screenshot, webview, type Workbench } from './workbench';

const runDir = path.join(TEST_TMP, 'vscode', 'vsix');
const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
  publisher: string; name: string; version: string;
  contributes: { commands: { command: string; title: string; category?: string }[]; menus: { commandPalette: { command: string; when: string }[] } };
};
const vsix = process.env.DLA_VSIX ?? path.join(REPO_ROOT, `${pkg.name}-linux-x64-${pkg.version}.vsix`);
let wb: Workbench;

describe('the packaged .vsix installed into code-server', { timeout: 300_000 }, () => {
  before(async () => {
    assert.ok(fs.existsSync(vsix), `${vsix} is missing: run \`npm run package\` first (or npm run test:vsix, which does).`);
    fs.rmSync(runDir, { recursive: true, force: true });
    const installed = installVsix(runDir, vsix);
    console.log(`  installed ${path.basename(vsix)} (${(fs.statSync(vsix).size / 1e6).toFixed(1)} MB) in ${(installed.ms / 1000).toFixed(1)} s: ${installed.output.split('\n').pop()}`);
    assert.match(installed.output, /successfully installed/i);
    const dir = path.join(runDir, 'extensions', `${pkg.publisher}.${pkg.name}-${pkg.version}`);
    assert.ok(fs.existsSync(path.join(dir, 'dist', 'extension.js')), `unpacked into ${dir}`);
    // Only linux-x64 native binaries were shipped.
    assert.deepEqual(fs.readdirSync(path.join(dir, 'node_modules', 'onnxruntime-node', 'bin', 'napi-v6')), ['linux']);
    assert.deepEqual(fs.readdirSync(path.join(dir, 'node_modules', 'onnxruntime-node', 'bin', 'napi-v6', 'linux')), ['x64']);
    // What the extension checks before loading them: the installed folder is a linux-x64 package.
    assert.equal(checkNativeModules(dir, 'linux', 'x64').packaged?.target, 'linux-x64');

    const workspace = makeWorkspace(path.join(runDir, 'workspace'));
    await buildComparisonFixture(REFERENCE_DIR, workspace);
    fs.mkdirSync(path.join(workspace, '.vscode'), { recursive: true });
    fs.writeFileSync(path.join(workspace, '.vscode', 'settings.json'), JSON.stringify({ 'dlaLens.checkpoint': path.join(REFERENCE_DIR, 'dla60.pth') }));
    wb = await openWorkbench(runDir, workspace, { 'workbench.colorTheme': 'Default Dark Modern' }, {}, { installed: true });
  });
  after(async () => {
    await wb?.close();
  });

  it('offers every palette command that package.json contributes', async () => {
    const hidden = new Set(pkg.contributes.menus.commandPalette.filter((m) => m.when === 'false').map((m) => m.command));
    for (const c of pkg.contributes.commands.filter((c) => !hidden.has(c.command))) {
      assert.ok(await paletteHas(wb.page, `${c.category}: ${c.title}`), `the palette lacks ${c.category}: ${c.title}`);
    }
  });

  it('runs them: Export Report without a comparison says why; Open Report draws the tree', async () => {
    const { page } = wb;
    await runCommand(page, 'DLA: Export Report');
    await page.locator('.notifications-toasts .notification-toast', { hasText: 'There is no comparison to export' }).waitFor({ timeout: 30_000 });
    await runCommand(page, 'DLA: Open Report');
    await pickItem(page, 'dla60-bn-eps.report.json');
    const tree = webview(page).locator('#tree');
    await tree.locator('g.node.first-divergence').waitFor({ timeout: 30_000 });
    assert.equal(await tree.locator('g.node.first-divergence').getAttribute('data-id'), 'level3.tree1.project.1');
    await page.waitForTimeout(400);
    await screenshot(page, 'vsix-comparison');
    await closeEditors(page);
  });

  it('classifies an image with the packaged onnxruntime-node and sharp', async () => {
    const { page } = wb;
    // The result page, rendered by the packaged webview bundle.
    const view = await classifyFromExplorer(page, 'probe.png');
    assert.equal(await view.locator('#top5 tbody tr').count(), 5);
    assert.match((await view.locator('#facts tr[data-fact="provider"]').textContent()) ?? '', /provider\s*(cpu|cuda|webgpu)/);
    await page.waitForTimeout(300);
    await screenshot(page, 'vsix-classify');
  });
});
