/**
 * End to end through the browser: the palette, the explorer context menu, the comparison view,
 * the checkpoint editor and Classify Image, in a real code-server workbench. Each step saves a
 * screenshot under .test-tmp/screenshots/. Run with npm run test:vscode (or alone:
 * node --import tsx --test test/e2e/extension.e2e.ts).
 */
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { after, before, describe, it } from 'node:test';
import { readCheckpoint } from '../../src/model/formats/registry';
import { topK } from '../../src/model/run/labels';
import { TEST_TMP } from '../../scripts/code-server/paths';
import { REFERENCE_DIR, makeWorkspace } from '../integration/workspace';
import { buildComparisonFixture, type ComparisonFixture } from './fixtures/comparisonFixture';
import {
  closeEditors, openWorkbench, paletteHas, pickItem, runCommand, screenshot, setUserSetting, webview, type Workbench,
} from './workbench';

const runDir = path.join(TEST_TMP, 'vscode', 'e2e');
let wb: Workbench;
let fixture: ComparisonFixture;

describe('DLA Lens in a real VS Code (code-server + Chromium)', { timeout: 300_000 }, () => {
  before(async () => {
    fs.rmSync(runDir, { recursive: true, force: true });
    const workspace = makeWorkspace(path.join(runDir, 'workspace'));
    fixture = await buildComparisonFixture(REFERENCE_DIR, workspace);
    fs.mkdirSync(path.join(workspace, '.vscode'), { recursive: true });
    fs.writeFileSync(path.join(workspace, '.vscode', 'settings.json'), JSON.stringify({ 'dlaLens.checkpoint': path.join(REFERENCE_DIR, 'dla60.pth') }));
    wb = await openWorkbench(runDir, workspace, { 'workbench.colorTheme': 'Default Dark Modern' });
  });
  after(async () => {
    await wb?.close();
  });

  it('lists every DLA command in the palette', async () => {
    for (const title of ['Compare Checkpoints', 'Classify Image', 'Open Checkpoint', 'Export Report', 'Open Report']) {
      assert.ok(await paletteHas(wb.page, `DLA: ${title}`), `the palette lacks DLA: ${title}`);
    }
  });

  it('shows a dla60 comparison: tree, first divergence, hover stats, detail, metric switch', async () => {
    const { page } = wb;
    await runCommand(page, 'DLA: Open Report');
    await pickItem(page, 'dla60-bn-eps.report.json');
    const view = webview(page);
    const tree = view.locator('#tree');
    await tree.locator('g.node').first().waitFor({ timeout: 30_000 });
    await page.waitForTimeout(400); // let the entering transition settle for the screenshot

    // The IDA spine and the first divergence, expanded and marked.
    for (const id of ['base_layer', 'level0', 'level1', 'level2', 'level3', 'level4', 'level5', '#head']) {
      assert.equal(await tree.locator(`g.node[data-id="${id}"]`).count(), 1, `node ${id}`);
    }
    const first = fixture.report.firstDivergence!;
    assert.equal(await tree.locator('g.node.first-divergence').getAttribute('data-id'), first.replace(/#\d+$/, ''));
    assert.ok((await view.locator('#first-divergence').textContent())?.includes(first));
    assert.ok(await tree.locator('path.edge-hda').count() > 0, 'HDA edges drawn');
    assert.ok(await tree.locator('path.edge-ida').count() > 0, 'IDA edges drawn');
    const renderMs = Number(await tree.getAttribute('data-render-ms'));
    const nodes = Number(await tree.getAttribute('data-nodes'));
    console.log(`  dla60 tree: ${nodes} nodes laid out and rendered in ${renderMs} ms`);
    assert.ok(renderMs < 200, `render took ${renderMs} ms (goal < 200 ms)`);
    await screenshot(page, 'comparison-dark');

    // The whole dla60 module tree at once.
    await view.locator('#expand-all').click();
    await page.waitForTimeout(400);
    const allMs = Number(await tree.getAttribute('data-render-ms'));
    const allNodes = Number(await tree.getAttribute('data-nodes'));
    console.log(`  dla60 tree fully expanded: ${allNodes} nodes laid out and rendered in ${allMs} ms`);
    assert.ok(allNodes > 200, `only ${allNodes} nodes after Expand all`);
    assert.ok(allMs < 200, `full render took ${allMs} ms (goal < 200 ms)`);
    await view.locator('#reset-view').click();
    await page.waitForTimeout(400);

    // Hover: both sides' stats and the differences.
    const focus = tree.locator('g.node.first-divergence text.label');
    await focus.hover();
    const tip = view.locator('#tooltip');
    await tip.waitFor({ state: 'visible' });
    const tipText = (await tip.textContent()) ?? '';
    for (const word of ['reference', 'candidate', 'mean', 'std', 'NaN / Inf', 'max |a−b|', 'rel L2', 'cosine', 'accumulated / local']) {
      assert.ok(tipText.includes(word), `tooltip lacks '${word}': ${tipText}`);
    }
    await screenshot(page, 'comparison-hover');

    // Click: the detail pane fetches per-channel errors and histograms (binary) from the host.
    await focus.click();
    await view.locator('#detail .channel-bars rect').first().waitFor({ timeout: 30_000 });
    assert.ok(await view.locator('#detail path.hist.ref').count() === 1);
    await screenshot(page, 'comparison-detail');

    // Switching metric re-colours without a new layout.
    const layouts = await tree.getAttribute('data-layouts');
    const fillOf = () => tree.locator('g.node[data-id="level4"] circle').evaluate((c) => (c as SVGElement).style.fill);
    const fillBefore = await fillOf();
    assert.ok(fillBefore, 'level4 is coloured');
    await view.locator('#metric').click();
    await view.locator('vscode-option[value="relL2"]').click();
    await page.waitForTimeout(200);
    assert.equal(await tree.getAttribute('data-layouts'), layouts, 'metric switch must not re-layout');
    assert.notEqual(await fillOf(), fillBefore);
    console.log(`  metric switch re-coloured in ${await tree.getAttribute('data-recolour-ms')} ms`);

    // Search and "only failing".
    await view.locator('#search input').fill('level2.tree2');
    await page.waitForTimeout(300);
    assert.ok(await tree.locator('g.node.match').count() >= 1);
    await view.locator('#only-failing').click();
    await page.waitForTimeout(400);
    assert.equal(await tree.locator('g.node[data-id="level1"]').count(), 0, 'passing level1 hidden by the filter');

    // The light theme, for the README's second screenshot.
    await view.locator('#only-failing').click();
    await view.locator('#search input').fill('');
    setUserSetting(wb.settingsFile, 'workbench.colorTheme', 'Default Light Modern');
    await page.locator('.monaco-workbench.vs').waitFor({ timeout: 20_000 });
    await page.waitForTimeout(600);
    await screenshot(page, 'comparison-light');
    // Back to dark; a second write in the same second can be coalesced by the file watcher.
    await page.waitForTimeout(1200);
    setUserSetting(wb.settingsFile, 'workbench.colorTheme', 'Default Dark Modern');
    await page.waitForTimeout(800);
    await closeEditors(page);
  });

  it('Compare Checkpoints through its four quick picks: .pth vs .pdparams, seeded input, no divergence', async () => {
    const { page } = wb;
    // Each step's list must be the one picked from: the previous list can linger for a moment.
    const step = async (n: number, item: string): Promise<void> => {
      await page.locator('.quick-input-widget .quick-input-title', { hasText: `(${n}/4)` }).waitFor({ timeout: 20_000 });
      await pickItem(page, item);
    };
    await runCommand(page, 'DLA: Compare Checkpoints');
    await step(1, 'dla46_c.pth');
    await step(2, 'dla46_c.pdparams');
    await step(3, 'No activation dump');
    await step(4, 'Seeded random tensor');
    const view = webview(page);
    await view.locator('#tree g.node').first().waitFor({ timeout: 60_000 });
    const summary = (await view.locator('.summary').textContent()) ?? '';
    assert.match(summary, /dla46_c · reference dla46_c\.pth vs candidate dla46_c\.pdparams/);
    assert.match(summary, /seeded N\(0,1\)/);
    assert.match(summary, /No divergence at this tolerance/);
    assert.equal(await view.locator('#tree g.node.first-divergence').count(), 0);
    await screenshot(page, 'compare-quick-picks');
    await closeEditors(page);
  });

  it('opens a checkpoint in the DLA Checkpoint editor with stats on hover', async () => {
    const { page } = wb;
    await runCommand(page, 'DLA: Open Checkpoint');
    await pickItem(page, 'dla46_c.safetensors');
    const view = webview(page);
    await view.locator('#tensors').waitFor({ timeout: 30_000 });
    assert.equal(await view.locator('#tensors tbody tr').count(), 290);
    assert.ok((await view.locator('.facts').textContent())?.includes('dla46_c'));
    await view.locator('#tensors tbody tr[data-name="level2.tree1.conv1.weight"]').hover();
    await view.locator('#tensor-card table').waitFor({ timeout: 20_000 });
    assert.ok((await view.locator('#tensor-card').textContent())?.includes('mean'));
    await screenshot(page, 'checkpoint-editor');
    await closeEditors(page);
  });

  it('classifies an image from the explorer context menu: the top-5 timm computes', async () => {
    const { page } = wb;
    const logits = readCheckpoint(path.join(REFERENCE_DIR, 'probe_preprocessed.npz')).tensors.get('timm_bilinear_logits')!;
    const expected = topK(logits.data as Float32Array, 5);
    await page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'probe.png' }).click({ button: 'right' });
    // Context menu items act on mouseup after a hover, as in the workbench's own smoke tests.
    const item = page.locator('.context-view .action-menu-item', { hasText: 'Classify Image' });
    await item.hover();
    await page.keyboard.press('Enter');
    const editor = page.locator('.editor-instance .view-lines').last();
    await page.locator('.tab', { hasText: 'top-5' }).waitFor({ timeout: 60_000 });
    await page.waitForTimeout(300);
    // The editor renders spaces as U+00A0.
    const text = ((await editor.textContent()) ?? '').replace(/\u00a0/g, ' ');
    for (const p of expected) assert.ok(text.includes(p.label), `top-5 lacks '${p.label}': ${text}`);
    assert.match(text, /provider: (cpu|cuda|webgpu)/);
    assert.ok(await page.locator('.statusbar-item', { hasText: /DLA: (cpu|cuda|webgpu)/ }).count() >= 1, 'status bar shows the provider');
    await screenshot(page, 'classify');
  });
});
