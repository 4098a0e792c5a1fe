/**
 * End to end through the browser: the palette, the explorer context menu, the comparison view,
 * the checkpoint editor and Classify Image, in a real code-server workbench. Each step saves a
 * screenshot under .test-tmp/screenshots/. Run with npm run test:vscode (or alone:
 * node --import tsx --test test/e2e/extension.e2e.ts).
 */
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { after, afterEach, before, describe, it } from 'node:test';
import { readCheckpoint } from '../../src/model/formats/registry';
import { comparePreprocessing } from '../../src/model/run/comparePreprocessing';
import { topK } from '../../src/model/run/labels';
import { loadModel } from '../../src/model/run/loadModel';
import { presetByName } from '../../src/model/run/presets';
import { REPO_ROOT, TEST_TMP } from '../../scripts/code-server/paths';
import { REFERENCE_DIR, makeWorkspace } from '../integration/workspace';
import type { ToleranceRule } from '../../src/shared/tolerance';
import { buildComparisonFixture, type ComparisonFixture } from './fixtures/comparisonFixture';
import { writeEvaluationFixture } from './fixtures/evaluationFixture';
import { writeBatchFixture } from './fixtures/batchFixture';
import { folderDataset } from '../../src/model/eval/dataset';
import { evaluate } from '../../src/model/eval/evaluate';
import {
  classifyFromExplorer, closeEditors, openWorkbench, paletteHas, pickItem, runCommand, screenshot, setColorTheme, webview, type Workbench,
} from './workbench';

const runDir = path.join(TEST_TMP, 'vscode', 'e2e');
let wb: Workbench;
let fixture: ComparisonFixture;
/** The same comparison under allclose rules that put its first divergence elsewhere, and nowhere. */
const ALLCLOSE: readonly { readonly rule: ToleranceRule; readonly file: string }[] = [
  { rule: { mode: 'allclose', atol: 0.01, rtol: 0.01 }, file: 'dla60-allclose-a.report.json' },
  { rule: { mode: 'allclose', atol: 0.1, rtol: 0.5 }, file: 'dla60-allclose-b.report.json' },
  { rule: { mode: 'allclose', atol: 1, rtol: 5 }, file: 'dla60-allclose-none.report.json' },
];
const ruleReports: ComparisonFixture[] = [];
let evalSet: { folder: string; buggy: string };

describe('DLA Lens in a real VS Code (code-server + Chromium)', { timeout: 300_000 }, () => {
  before(async () => {
    fs.rmSync(runDir, { recursive: true, force: true });
    const workspace = makeWorkspace(path.join(runDir, 'workspace'));
    fixture = await buildComparisonFixture(REFERENCE_DIR, workspace);
    for (const { rule, file } of ALLCLOSE) ruleReports.push(await buildComparisonFixture(REFERENCE_DIR, workspace, rule, file));
    evalSet = await writeEvaluationFixture(REFERENCE_DIR, workspace);
    fs.mkdirSync(path.join(workspace, '.vscode'), { recursive: true });
    fs.writeFileSync(path.join(workspace, '.vscode', 'settings.json'), JSON.stringify({ 'dlaLens.checkpoint': path.join(REFERENCE_DIR, 'dla60.pth') }));
    wb = await openWorkbench(runDir, workspace, { 'workbench.colorTheme': 'Default Dark Modern' });
  });
  after(async () => {
    await wb?.close();
  });
  // A test that fails half-way leaves its quick pick or editors behind: the next starts clean.
  afterEach(async () => {
    if (!wb) return;
    await wb.page.keyboard.press('Escape');
    if (await wb.page.locator('.tabs-container .tab').count() > 0) await closeEditors(wb.page).catch(() => undefined);
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
    const fillOf = () => tree.locator('g.node[data-id="level4"] path.glyph').evaluate((c) => (c as SVGElement).style.fill);
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
    await setColorTheme(page, 'Default Light Modern');
    await view.locator('body.vscode-light').waitFor({ state: 'attached', timeout: 20_000 });
    await page.waitForTimeout(600);
    await screenshot(page, 'comparison-light');
    await setColorTheme(page, 'Default Dark Modern');
    await closeEditors(page);
  });

  it('shows exactly the report\'s first divergence, under the default rule and allclose rules', async () => {
    const { page } = wb;
    const cases = [fixture, ...ruleReports];
    const firsts = cases.map((c) => c.report.firstDivergence);
    assert.equal(new Set(firsts).size, cases.length, `distinct first divergences: ${firsts.join(', ')}`);
    assert.equal(firsts[firsts.length - 1], null);
    for (const c of cases) {
      await runCommand(page, 'DLA: Open Report');
      await pickItem(page, path.basename(c.reportFile));
      const view = webview(page);
      await view.locator('#tree g.node').first().waitFor({ timeout: 30_000 });
      const expected = c.report.firstDivergence;
      const link = view.locator('#first-divergence');
      const marked = view.locator('#tree g.node.first-divergence');
      if (expected === null) {
        await view.locator('#no-divergence').waitFor({ timeout: 10_000 });
        assert.equal(await link.count(), 0);
        assert.equal(await marked.count(), 0);
      } else {
        assert.equal(await link.textContent(), expected);
        assert.equal(await marked.getAttribute('data-id'), expected.replace(/#\d+$/, ''));
      }
      // The rule's own numbers are what the view offers to edit.
      const rule = c.report.tolerance;
      if (rule.mode === 'allclose') {
        assert.equal(await view.locator('#atol').getAttribute('value'), String(rule.atol));
        assert.equal(await view.locator('#rtol').getAttribute('value'), String(rule.rtol));
      } else {
        assert.equal(await view.locator('#tolerance').getAttribute('value'), String(rule.tol));
      }
      await closeEditors(page);
    }
  });

  it('follows high-contrast themes: the HC palette reaches the tree, and the first divergence stays visible', async () => {
    const { page } = wb;
    await runCommand(page, 'DLA: Open Report');
    await pickItem(page, 'dla60-bn-eps.report.json');
    const view = webview(page);
    const tree = view.locator('#tree');
    await tree.locator('g.node.first-divergence').waitFor({ timeout: 30_000 });
    await page.waitForTimeout(400);
    await view.locator('body.vscode-dark').waitFor({ state: 'attached' });
    const dark = await treeColours(view);
    assert.equal(dark.contrastBorder, '', 'Dark Modern defines no contrastBorder');

    for (const [theme, workbenchClass, bodyClass] of [
      ['Default High Contrast', 'hc-black', 'vscode-high-contrast'],
      ['Default High Contrast Light', 'hc-light', 'vscode-high-contrast-light'],
    ] as const) {
      await setColorTheme(page, theme);
      await page.locator(`.monaco-workbench.${workbenchClass}`).waitFor({ timeout: 20_000 });
      await view.locator(`body.${bodyClass}`).waitFor({ state: 'attached', timeout: 20_000 });
      await page.waitForTimeout(500);
      const hc = await treeColours(view);
      console.log(`  ${theme}: ${JSON.stringify(hc)}`);
      // The webview follows the theme through VS Code's variables: its palette, not Dark Modern's.
      assert.ok(hc.contrastBorder, `${theme} gives the webview --vscode-contrastBorder`);
      assert.equal(hc.label, hc.foreground, 'tree labels use the theme foreground');
      assert.notEqual(hc.label, dark.label, 'label colour changed with the theme');
      assert.equal(hc.passStroke, hc.contrastBorder, 'node outlines use contrastBorder');
      assert.equal(hc.treeBorder, hc.contrastBorder, 'the tree frame uses contrastBorder');
      assert.notEqual(hc.background, dark.background);
      // The verdict is a shape as well as a colour: failing nodes are squares, passing ones circles.
      assert.ok(hc.failGlyph && !/A/.test(hc.failGlyph), `failing glyph is a square: ${hc.failGlyph}`);
      assert.ok(hc.passGlyph && /A/.test(hc.passGlyph), `passing glyph is a circle: ${hc.passGlyph}`);
      // The first-divergence mark: drawn, in view, and in a colour that stands out from the background.
      const mark = tree.locator('g.node.first-divergence');
      assert.equal(await mark.count(), 1);
      assert.ok(await mark.locator('text.badge').isVisible(), 'first-divergence badge visible');
      assert.ok(contrast(hc.badge, hc.background) >= 3, `badge ${hc.badge} on ${hc.background}: contrast ${contrast(hc.badge, hc.background).toFixed(2)} < 3`);
      assert.ok(contrast(hc.firstStroke, hc.background) >= 3, `first-divergence outline ${hc.firstStroke} on ${hc.background}`);
      assert.ok(hc.firstStrokeWidth >= 3, `first-divergence outline ${hc.firstStrokeWidth}px`);
      // The hover card is framed by contrastBorder too.
      await mark.locator('text.label').hover();
      const tip = view.locator('#tooltip');
      await tip.waitFor({ state: 'visible' });
      assert.equal(await tip.evaluate((e) => getComputedStyle(e).borderTopColor), hc.contrastBorder, 'tooltip border uses contrastBorder');
      await page.mouse.move(5, 500);
      await page.waitForTimeout(200);
      await screenshot(page, workbenchClass === 'hc-black' ? 'comparison-high-contrast' : 'comparison-high-contrast-light');
    }
    await setColorTheme(page, 'Default Dark Modern');
    await closeEditors(page);
  });

  it('keeps its state when hidden behind another editor and across a window reload', async () => {
    const { page } = wb;
    await runCommand(page, 'DLA: Open Report');
    await pickItem(page, 'dla60-bn-eps.report.json');
    let view = webview(page);
    let tree = view.locator('#tree');
    await tree.locator('g.node.first-divergence').waitFor({ timeout: 30_000 });
    await page.waitForTimeout(400);

    // Collapse the stage holding the first divergence, open a block, switch metric, search.
    for (const id of ['level3', 'level1', 'level2.tree1']) {
      await tree.locator(`g.node[data-id="${id}"] path.glyph`).click();
      await page.waitForTimeout(350);
    }
    await view.locator('#metric').click();
    await view.locator('vscode-option[value="relL2"]').click();
    await view.locator('#search input').fill('level2.tree2');
    await page.waitForTimeout(800); // transitions end; the view saves its state
    const before = await viewState(view);
    console.log(`  comparison state: ${JSON.stringify({ ...before, expanded: Object.keys(before.expanded).length })}`);
    assert.equal(before.expanded.level3, 'false', 'level3 collapsed');
    assert.equal(before.expanded.level1, 'false', 'level1 collapsed');
    assert.equal(before.expanded['level2.tree1'], 'true', 'level2.tree1 open');
    assert.equal(before.expanded['level2.tree2'], 'false', 'the search shows level2.tree2, closed as it was');
    assert.equal(before.metric, 'relL2');
    assert.equal(before.search, 'level2.tree2');
    assert.ok(before.matches > 0);
    assert.equal(before.firstDivergenceShown, 0, 'the first divergence is inside collapsed level3');

    // Hide: another editor in the same group; the webview is discarded (no retainContextWhenHidden).
    await page.keyboard.press('Control+P');
    await page.locator('.quick-input-widget input').fill('settings.json');
    await pickItem(page, '.vscode');
    await page.locator('.tab.active', { hasText: 'settings.json' }).waitFor({ timeout: 20_000 });
    await page.waitForTimeout(500);
    assert.equal(await page.locator('iframe.webview.ready[src*="extensionId=dla-lens.dla-lens"]').count(), 0, 'the hidden webview was discarded');
    await page.locator('.tab', { hasText: 'dla60-bn-eps.report.json' }).click();
    await tree.locator('g.node').first().waitFor({ timeout: 30_000 });
    await page.waitForTimeout(600);
    assert.deepEqual(await viewState(view), before, 'state after hiding and showing again');

    // Reload the window: the serializer restores the panel from the webview's saved state.
    // Developer: Reload Window, not page.reload(): the workbench saves its editors and their state
    // on the way out, which a browser reload of the web workbench does not wait for.
    const reloaded = page.waitForEvent('framenavigated', { predicate: (f) => f === page.mainFrame(), timeout: 60_000 });
    await runCommand(page, 'Developer: Reload Window');
    await reloaded;
    await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
    view = webview(page);
    tree = view.locator('#tree');
    await tree.locator('g.node').first().waitFor({ timeout: 60_000 });
    await page.waitForTimeout(800);
    assert.equal(await page.locator('.tab.active', { hasText: 'dla60-bn-eps.report.json' }).count(), 1, 'the comparison tab is back');
    assert.deepEqual(await viewState(view), before, 'state after a window reload');
    await setColorTheme(page, 'Default Dark Modern'); // the reloaded workbench does not restore it (see setColorTheme)
    await screenshot(page, 'comparison-restored');
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
    // The result opens rendered in a webview (not as Markdown source), with the image in it.
    const view = await classifyFromExplorer(page, 'probe.png');
    const labels = (await view.locator('#top5 tbody td.label').allTextContents()).map((t) => t.trim());
    assert.deepEqual(labels, expected.map((p) => p.label));
    assert.equal(await view.locator('#top5 .prob-bar[role="meter"]').count(), 5);
    const widths = await view.locator('#top5 .prob-fill').evaluateAll((els) => els.map((e) => e.getBoundingClientRect().width));
    assert.ok(widths[0] > 0 && widths.every((w, i) => i === 0 || w <= widths[i - 1] + 0.5), `bars shrink with rank: ${widths}`);
    assert.match((await view.locator('#facts tr[data-fact="provider"]').textContent()) ?? '', /provider\s*(cpu|cuda|webgpu)/);
    assert.match((await view.locator('#facts tr[data-fact="preprocessing"]').textContent()) ?? '', /timm/);
    assert.match((await view.locator('#facts tr[data-fact="time"]').textContent()) ?? '', /ms inference/);
    // The image beside the table, drawn (a decoded thumbnail, not a broken image) and to its left.
    const img = view.locator('figure.image img#image');
    assert.ok(await img.evaluate((e) => (e as HTMLImageElement).complete && (e as HTMLImageElement).naturalWidth > 0), 'the image is drawn');
    const [imgBox, tableBox] = [await img.boundingBox(), await view.locator('#top5').boundingBox()];
    assert.ok(imgBox && tableBox && imgBox.x + imgBox.width <= tableBox.x, `image ${JSON.stringify(imgBox)} beside the table ${JSON.stringify(tableBox)}`);
    assert.match((await view.locator('figure.image figcaption').textContent()) ?? '', /probe\.png · \d+×\d+/);
    await screenshot(page, 'classify');
  });

  it('compares preprocessing from the explorer context menu: timm vs paddleclas, the numbers the engine computes, kept across a reload', async () => {
    const { page } = wb;
    const image = path.join(runDir, 'workspace', 'probe.png');
    const direct = await comparePreprocessing(new Uint8Array(fs.readFileSync(image)), image, presetByName('timm'), presetByName('paddleclas'),
      { model: loadModel(path.join(REFERENCE_DIR, 'dla60.pth')), k: 5, provider: 'cpu' });
    await page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'probe.png' }).click({ button: 'right' });
    await page.locator('.context-view .action-menu-item', { hasText: 'Compare Preprocessing' }).hover();
    await page.keyboard.press('Enter');
    // Two quick picks, each picked by its exact label once its own step shows (dlaLens.checkpoint is set: no third).
    for (const [step, preset] of [[1, 'timm'], [2, 'paddleclas']] as const) {
      await page.locator('.quick-input-widget .quick-input-title', { hasText: `(${step}/2)` }).waitFor({ timeout: 20_000 });
      await page.locator('.quick-input-list .monaco-list-row', { has: page.locator('.label-name', { hasText: new RegExp(`^${preset}$`) }) }).first().click();
    }
    await page.locator('.tab', { hasText: 'probe.png — timm vs paddleclas' }).waitFor({ timeout: 90_000 });
    let view = webview(page);
    await view.locator('body[data-ready="true"]').waitFor({ timeout: 30_000 });

    const checkShown = async (v: typeof view) => {
      // The statistics the page shows are the engine's, value for value.
      for (const [stat, s] of [['pixels', direct.pixels!], ['tensor', direct.tensor!]] as const) {
        for (const field of ['max', 'mean', 'differingShare'] as const) {
          assert.equal(await v.locator(`#stats tr[data-stat="${stat}"] td[data-field="${field}"]`).getAttribute('data-value'), String(s[field]), `${stat} ${field}`);
        }
        const share = (await v.locator(`#stats tr[data-stat="${stat}"] td[data-field="differingShare"]`).textContent()) ?? '';
        assert.ok(share.includes(`${(100 * s.differingShare).toFixed(1)} %`) && share.includes(`${s.differing} of ${s.total}`), share);
      }
      assert.equal(await v.locator('#heat-legend').getAttribute('data-scale-max'), String(direct.pixels!.max));
      assert.match((await v.locator('#heat-legend .heat-labels').textContent()) ?? '', new RegExp(`^0${direct.pixels!.max} levels$`));
      // Both top-5s side by side; a rank is marked where its classes differ.
      const labelsA = await v.locator('#top5-pair tbody td.side-a').evaluateAll((els) => els.map((e) => Number((e as HTMLElement).dataset.index)));
      const labelsB = await v.locator('#top5-pair tbody td.side-b').evaluateAll((els) => els.map((e) => Number((e as HTMLElement).dataset.index)));
      assert.deepEqual(labelsA, direct.a.top!.map((p) => p.index));
      assert.deepEqual(labelsB, direct.b.top!.map((p) => p.index));
      const marks = await v.locator('#top5-pair tbody tr').evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.differs));
      assert.deepEqual(marks, direct.a.top!.map((p, i) => String(p.index !== direct.b.top![i].index)));
      assert.equal(await v.locator('#top1').getAttribute('data-differs'), String(direct.a.top![0].index !== direct.b.top![0].index));
    };
    await checkShown(view);
    // The crops and the heat map are drawn, the crops side by side at one size.
    for (const id of ['crop-a', 'crop-b', 'heatmap']) {
      const img = view.locator(`#${id} > img`);
      assert.ok(await img.evaluate((e) => (e as HTMLImageElement).complete && (e as HTMLImageElement).naturalWidth === 224), `${id} drawn at 224 px`);
    }
    const [boxA, boxB] = [await view.locator('#crop-a > img').boundingBox(), await view.locator('#crop-b > img').boundingBox()];
    assert.ok(boxA && boxB && Math.abs(boxA.y - boxB.y) < 1 && boxA.x + boxA.width <= boxB.x && Math.abs(boxA.width - boxB.width) < 1,
      `crops side by side: ${JSON.stringify([boxA, boxB])}`);
    console.log(`  probe.png timm vs paddleclas: pixels max ${direct.pixels!.max}, ${(100 * direct.pixels!.differingShare).toFixed(1)} % differ; tensor max ${direct.tensor!.max.toFixed(4)}`);
    await screenshot(page, 'compare-preprocessing');

    // A window reload brings the view back from its saved state (the serializer), the same numbers in it.
    const reloaded = page.waitForEvent('framenavigated', { predicate: (f) => f === page.mainFrame(), timeout: 60_000 });
    await runCommand(page, 'Developer: Reload Window');
    await reloaded;
    await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
    await page.locator('.tab.active', { hasText: 'probe.png — timm vs paddleclas' }).waitFor({ timeout: 60_000 });
    view = webview(page);
    await view.locator('body[data-ready="true"]').waitFor({ timeout: 60_000 });
    await checkShown(view);
    await setColorTheme(page, 'Default Dark Modern'); // the reloaded workbench does not restore it (see setColorTheme)
    await closeEditors(page);
  });
  it('Evaluate on Labelled Images: from a folder, against a checkpoint with a mistake; a disagreement opens both sides; back after a reload', async () => {
    const { page } = wb;
    const direct = await evaluate({
      weights: path.join(REFERENCE_DIR, 'dla60.pth'), dataset: folderDataset(evalSet.folder), preset: presetByName('timm'),
      against: evalSet.buggy, provider: 'cpu',
    });
    assert.ok((direct.disagreements?.length ?? 0) > 0, 'the planted mistake changes some top-1s');
    await page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'evalset' }).click({ button: 'right' });
    await page.locator('.context-view .action-menu-item', { hasText: 'Evaluate on Labelled Images' }).hover();
    await page.keyboard.press('Enter');
    await pickItem(page, 'Against another checkpoint');
    await pickItem(page, 'dla60-buggy.safetensors');
    await page.locator('.tab', { hasText: 'DLA: dla60.pth on evalset' }).waitFor({ timeout: 120_000 });
    let view = webview(page);
    await view.locator('body[data-ready="true"]').waitFor({ timeout: 30_000 });
    const checkShown = async (v: typeof view) => {
      const top1 = (await v.locator('#figures tr[data-figure="top-1"]').textContent()) ?? '';
      assert.ok(top1.includes(`${(100 * direct.top1).toFixed(2)}% (${direct.correct1})`) && top1.includes(`${(100 * direct.against!.top1).toFixed(2)}% (${direct.against!.correct1})`), top1);
      assert.match((await v.locator('#figures tr[data-figure="agreement"]').textContent()) ?? '', new RegExp(`${(100 * direct.agreement!).toFixed(2)}%`));
      assert.deepEqual(await v.locator('#disagreements button.disagreement').evaluateAll((els) => els.map((e) => Number((e as HTMLElement).dataset.i))),
        direct.disagreements!.map((d) => d.i));
      assert.equal(await v.locator('#per-class .class-row').count(), direct.perClass.length);
    };
    await checkShown(view);
    assert.ok(await view.locator('#disagreements img').first().evaluate((e) => (e as HTMLImageElement).complete && (e as HTMLImageElement).naturalWidth > 0), 'thumbnails drawn');
    await screenshot(page, 'evaluation');

    // A disagreement opens the two checkpoints, layer by layer, on that image.
    await view.locator('#disagreements button.disagreement').first().click();
    await page.locator('.tab', { hasText: 'dla60.pth ↔ dla60-buggy.safetensors' }).waitFor({ timeout: 120_000 });
    const comparison = webview(page);
    await comparison.locator('#tree g.node.first-divergence').waitFor({ timeout: 30_000 });
    const first = direct.disagreements![0];
    assert.ok(((await comparison.locator('.summary').textContent()) ?? '').includes(path.basename(first.image)), 'compared on the image of the disagreement');

    // A window reload brings the results back. (Focus leaves the webviews first: the palette key goes to the workbench.)
    await page.locator('.tab', { hasText: 'DLA: dla60.pth on evalset' }).click();
    await page.locator('.part.sidebar .composite.title').click();
    const reloaded = page.waitForEvent('framenavigated', { predicate: (f) => f === page.mainFrame(), timeout: 60_000 });
    await runCommand(page, 'Developer: Reload Window');
    await reloaded;
    await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
    await page.locator('.tab.active', { hasText: 'DLA: dla60.pth on evalset' }).waitFor({ timeout: 60_000 });
    view = webview(page);
    await view.locator('body[data-ready="true"]').waitFor({ timeout: 60_000 });
    await checkShown(view);
    await setColorTheme(page, 'Default Dark Modern');
    await closeEditors(page);
  });
  it('every panel loads nothing but its own files and violates no Content-Security-Policy', async () => {
    const { page } = wb;
    // What a webview may load: the extension's dist/ and media/ (its localResourceRoots), which VS
    // Code serves itself under the webview resource host (its service worker answers; nothing
    // leaves the machine), and data: URIs (thumbnails, crops).
    const ownFile = (url: string): boolean => {
      const u = new URL(url);
      return u.protocol === 'data:' || (u.hostname.endsWith('.vscode-resource.vscode-cdn.net') &&
        [path.join(REPO_ROOT, 'dist'), path.join(REPO_ROOT, 'media')].some((dir) => decodeURIComponent(u.pathname).startsWith(`${dir}/`)));
    };
    const loopback = (url: string): boolean => /^(127\.0\.0\.1|localhost)$/.test(new URL(url).hostname);
    const remote: string[] = [];
    const onRequest = (r: { url(): string }) => {
      const url = r.url();
      if (!url.startsWith('data:') && !url.startsWith('blob:') && !loopback(url) && !ownFile(url)) remote.push(url);
    };
    const blocked: string[] = [];
    const onConsole = (m: { text(): string }) => { if (m.text().includes('the CSP blocked')) blocked.push(m.text()); };
    page.on('request', onRequest);
    page.on('console', onConsole);
    const problems: string[] = [];
    /** In a page: no CSP violation counted, and every resource and script it loaded is one of the extension's own files. */
    const clean = async (what: string) => {
      const view = webview(page);
      await view.locator('body[data-ready="true"]').waitFor({ state: 'attached', timeout: 120_000 });
      const facts = await view.locator('body').evaluate((b) => ({
        violations: b.dataset.cspViolations ?? '0',
        loaded: [...performance.getEntriesByType('resource').map((e) => e.name), ...[...document.scripts].map((s) => s.src).filter(Boolean)],
      }));
      const foreign = facts.loaded.filter((u) => !ownFile(u));
      if (facts.violations !== '0' || foreign.length || blocked.length) problems.push(`${what}: ${facts.violations} CSP violations ${blocked.splice(0).join(' | ')}; loaded ${foreign.join(', ')}`);
      assert.ok(facts.loaded.length >= 2, `${what}: its stylesheet and script were seen`);
    };
    const fromExplorer = async (file: string, item: string) => {
      await page.locator('.explorer-folders-view .monaco-list-row', { hasText: file }).first().click({ button: 'right' });
      await page.locator('.context-view .action-menu-item', { hasText: item }).hover();
      await page.keyboard.press('Enter');
    };
    try {
      await runCommand(page, 'DLA: Open Report');
      await pickItem(page, 'dla60-bn-eps.report.json');
      await clean('the comparison view');
      await closeEditors(page);
      await fromExplorer('dla46_c.safetensors', 'Open Checkpoint');
      await clean('the checkpoint editor');
      await closeEditors(page);
      await classifyFromExplorer(page, 'probe.png');
      await clean('the classification result');
      await closeEditors(page);
      await fromExplorer('probe.png', 'Compare Preprocessing');
      for (const [step, preset] of [[1, 'timm'], [2, 'paddle']] as const) {
        await page.locator('.quick-input-widget .quick-input-title', { hasText: `(${step}/2)` }).waitFor({ timeout: 20_000 });
        await page.locator('.quick-input-list .monaco-list-row', { has: page.locator('.label-name', { hasText: new RegExp(`^${preset}$`) }) }).first().click();
      }
      await clean('the preprocessing comparison');
      await closeEditors(page);
      await fromExplorer('evalset', 'Evaluate on Labelled Images');
      await pickItem(page, 'Accuracy only');
      await clean('the evaluation results');
      // The counter counts: an image from elsewhere is blocked by the CSP, and counted.
      const view = webview(page);
      await view.locator('body').evaluate((b) => { const img = document.createElement('img'); img.src = 'https://example.com/x.png'; b.appendChild(img); });
      await view.locator('body[data-csp-violations="1"]').waitFor({ state: 'attached', timeout: 10_000 });
      await closeEditors(page);
    } finally {
      page.off('request', onRequest);
      page.off('console', onConsole);
    }
    assert.deepEqual(problems, []);
    assert.deepEqual(remote.filter((u) => !u.startsWith('https://example.com/')), [], 'requests that left the machine');
  });

  it('malformed messages from a webview are refused with their reason and not acted on; the view still works', async () => {
    const { page } = wb;
    // In the webview frames opened from now on: keep the page's own VS Code API object where this
    // test can reach it, so that the messages below go exactly the way the page's own do.
    await page.addInitScript(`(() => {
      let acquire;
      Object.defineProperty(globalThis, 'acquireVsCodeApi', {
        configurable: true,
        set(f) { acquire = f; },
        get() { return acquire && (() => (globalThis.__dlaPageApi = acquire())); },
      });
    })()`);
    await runCommand(page, 'DLA: Open Report');
    await pickItem(page, 'dla60-bn-eps.report.json');
    const view = webview(page);
    const tree = view.locator('#tree');
    await tree.locator('g.node.first-divergence').waitFor({ timeout: 30_000 });
    // Sent through the page's own acquireVsCodeApi() object, as the page sends its messages.
    // (No named functions inside: the test's transpiler would wrap them in a helper the page lacks.)
    type Reply = { inReplyTo: number; type: string; message: string };
    const replies = await view.locator('body').evaluate(() => new Promise<Reply[]>((resolve) => {
      const got: Reply[] = [];
      window.addEventListener('message', (e: MessageEvent) => {
        if (e.data && typeof e.data.inReplyTo === 'number' && e.data.inReplyTo >= 9000) {
          got.push(e.data);
          if (got.length === 3) resolve(got.sort((a, b) => a.inReplyTo - b.inReplyTo));
        }
      });
      const api = (globalThis as unknown as { __dlaPageApi: { postMessage(m: unknown): void } }).__dlaPageApi;
      for (const message of [
        { type: 'getLayerDetail', messageId: 9001, layer: 'level3', bins: 100000 },
        { type: 'exportReport', messageId: 9002, format: 'pdf' },
        { type: 'classificationChanged', messageId: 9003, data: {} },
        'ready',
        { type: 'rendered', what: 'paint', nodes: 1, ms: 1 },
      ]) api.postMessage(message);
    }));
    assert.deepEqual(replies.map((r) => r.type), ['errorReply', 'errorReply', 'errorReply']);
    assert.match(replies[0].message, /getLayerDetail\.bins: expected 1\.\.256, got 100000/);
    assert.match(replies[1].message, /exportReport\.format: expected 'json' or 'html', got 'pdf'/);
    assert.match(replies[2].message, /Unknown message type 'classificationChanged' sent by the comparison page/);
    // Not acted on: no save dialog for the export.
    await page.waitForTimeout(500);
    assert.equal(await page.locator('.monaco-dialog-box, .quick-input-widget:visible').count(), 0, 'a dialog opened');
    // The view still works: a record's details come from the engine.
    await tree.locator('g.node.first-divergence text.label').click();
    await view.locator('#detail .channel-bars rect').first().waitFor({ timeout: 60_000 });
    await closeEditors(page);
  });
  it('Compare Checkpoints on a folder of images: the batch verdict, then one image\'s own, and its records in the detail pane', async () => {
    const { page } = wb;
    const batch = await writeBatchFixture(REFERENCE_DIR, path.join(runDir, 'workspace'));
    const step = async (n: number, item: string): Promise<void> => {
      await page.locator('.quick-input-widget .quick-input-title', { hasText: `(${n}/4)` }).waitFor({ timeout: 20_000 });
      await pickItem(page, item);
    };
    await runCommand(page, 'DLA: Compare Checkpoints');
    await step(1, 'dla46_c.pth');
    await step(2, 'No candidate checkpoint');
    await step(3, 'batch-dump.npz');
    // The workspace's folder of images is offered as a set, compared one by one (listed before the files in it).
    await page.locator('.quick-input-list .monaco-list-row', { hasText: `${batch.names.length} images, compared one by one` }).first().waitFor({ timeout: 20_000 });
    await step(4, 'batch-images');
    const view = webview(page);
    const tree = view.locator('#tree');
    await tree.locator('g.node').first().waitFor({ timeout: 90_000 });
    const planted = batch.names[batch.planted];
    const batchLine = (await view.locator('#batch-line').textContent()) ?? '';
    assert.match(batchLine, new RegExp(`${batch.names.length} images: .*1 diverge on their own: ${planted.replace('.', '\\.')} at level2`));
    assert.equal((await view.locator('#first-divergence').textContent())?.trim(), 'level2');
    assert.equal(await tree.getAttribute('data-image'), 'all');
    await screenshot(page, 'compare-batch');

    // One clean image: its own verdict passes everywhere.
    await view.locator('#image').click();
    await view.locator('vscode-option[value="0"]').click();
    await view.locator('#tree[data-image="0"]').waitFor({ timeout: 20_000 });
    await view.locator('#no-divergence').waitFor({ timeout: 20_000 });
    assert.match((await view.locator('#verdict-line').textContent()) ?? '', new RegExp(`image 0 of ${batch.names.length}: ${batch.names[0].replace('.', '\\.')}`));
    assert.equal(await tree.locator('g.node.first-divergence').count(), 0);

    // The planted image: diverges at level2 on its own, and the detail pane shows its records.
    await view.locator('#image').click();
    await view.locator(`vscode-option[value="${batch.planted}"]`).click();
    await view.locator(`#tree[data-image="${batch.planted}"]`).waitFor({ timeout: 20_000 });
    await view.locator('#first-divergence').waitFor({ timeout: 20_000 });
    assert.equal((await view.locator('#first-divergence').textContent())?.trim(), 'level2');
    assert.equal(await tree.locator('g.node.first-divergence').getAttribute('data-id'), 'level2');
    await tree.locator('g.node.first-divergence text.label').click();
    await view.locator('#detail .channel-bars rect').first().waitFor({ timeout: 60_000 });
    assert.equal((await view.locator('#detail-image').textContent())?.trim(), `Image ${batch.planted} (${planted})`);
    await screenshot(page, 'compare-batch-image');
    await closeEditors(page);
  });

});

type FrameView = ReturnType<typeof webview>;

/** Computed colours of the tree and the page, as the browser resolves them (rgb() strings). */
async function treeColours(view: FrameView): Promise<TreeColours> {
  // A string, not a function: tsx's transform would add __name() calls the page does not have.
  return view.locator('body').evaluate(`(() => {
    const css = (e, p) => (e ? getComputedStyle(e).getPropertyValue(p) : '');
    const resolve = (v) => {
      if (!getComputedStyle(document.body).getPropertyValue(v).trim()) return '';
      const probe = document.createElement('span');
      probe.style.color = 'var(' + v + ')';
      document.body.appendChild(probe);
      const c = getComputedStyle(probe).color;
      probe.remove();
      return c;
    };
    const pass = document.querySelector('#tree g.node:not(.fail):not(.unrecorded):not(.collapsed):not(.first-divergence) path.glyph');
    const fail = document.querySelector('#tree g.node.fail:not(.first-divergence) path.glyph');
    const first = document.querySelector('#tree g.node.first-divergence path.glyph');
    return {
      foreground: resolve('--vscode-foreground'),
      contrastBorder: resolve('--vscode-contrastBorder'),
      background: css(document.body, 'background-color'),
      label: css(document.querySelector('#tree g.node text.label'), 'fill'),
      passStroke: css(pass, 'stroke'),
      passGlyph: pass ? pass.getAttribute('d') : '',
      failGlyph: fail ? fail.getAttribute('d') : '',
      treeBorder: css(document.querySelector('#tree'), 'border-top-color'),
      badge: css(document.querySelector('#tree g.node.first-divergence text.badge'), 'fill'),
      firstStroke: css(first, 'stroke'),
      firstStrokeWidth: parseFloat(css(first, 'stroke-width')),
    };
  })()`) as Promise<TreeColours>;
}

interface TreeColours {
  readonly foreground: string;
  readonly contrastBorder: string;
  readonly background: string;
  readonly label: string;
  readonly passStroke: string;
  readonly passGlyph: string;
  readonly failGlyph: string;
  readonly treeBorder: string;
  readonly badge: string;
  readonly firstStroke: string;
  readonly firstStrokeWidth: number;
}

/** WCAG contrast ratio of two rgb()/rgba() colours. */
function contrast(a: string, b: string): number {
  const lum = (c: string) => {
    const [r, g, bl] = (c.match(/[\d.]+/g) ?? ['0', '0', '0']).slice(0, 3).map((x) => {
      const v = Number(x) / 255;
      return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * bl;
  };
  const [hi, lo] = [lum(a), lum(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

/** What the comparison view should keep: the tree's open/closed nodes, metric, search, zoom. */
async function viewState(view: FrameView) {
  const tree = view.locator('#tree');
  const nodes = await tree.locator('g.node').evaluateAll((els) => els.map((e) => [e.getAttribute('data-id')!, e.getAttribute('aria-expanded') ?? '-'] as const));
  return {
    expanded: Object.fromEntries(nodes.sort(([a], [b]) => a.localeCompare(b))) as Record<string, string>,
    metric: await view.locator('#metric').evaluate((e) => (e as HTMLElement & { value: string }).value),
    search: await view.locator('#search input').inputValue(),
    matches: await tree.locator('g.node.match').count(),
    status: (await view.locator('.status').textContent())?.trim() ?? '',
    firstDivergenceShown: await tree.locator('g.node.first-divergence').count(),
    fill: await tree.locator('g.node[data-id="level4"] path.glyph').evaluate((e) => (e as SVGElement).style.fill),
    zoom: await tree.locator('svg.tree > g').getAttribute('transform'),
  };
}
