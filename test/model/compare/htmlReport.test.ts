import * as assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { before, describe, test } from 'node:test';
import { chromium, type Page } from 'playwright-core';
import { compare } from '../../../src/model/compare/compare';
import { htmlReport, loadReportAssets } from '../../../src/model/compare/htmlReport';
import type { CompareReport, DiffMetrics, LayerResult, TensorStats, ToleranceRule } from '../../../src/model/compare/types';
import { writeNpz } from '../../../src/model/formats/npzWriter';
import { readCheckpoint } from '../../../src/model/formats/registry';
import { forwardTaps } from '../../../src/model/run/forward';
import { inputFromArrays } from '../../../src/model/run/inputSource';
import { loadModel } from '../../../src/model/run/loadModel';
import { nonFiniteReviver } from '../../../src/shared/nonFinite';
import { CHROMIUM_ARGS } from '../../../scripts/code-server/browser';
import { CHROMIUM, REPO_ROOT, TEST_TMP } from '../../../scripts/code-server/paths';
import { referencePath } from '../../helpers/reference';

/**
 * The self-contained HTML report: safe embedding of untrusted names, a strict CSP, deterministic
 * bytes; and, for a real comparison (dla46_c against a dump of itself with a BatchNorm-epsilon
 * mistake made through our runner), a page that renders the extension's tree in headless Chromium
 * with the network off and the first divergence marked: exactly the report's, under the default
 * rule and under allclose rules, and the engine's own when the page's rule numbers are edited.
 * Saves .test-tmp/screenshots/report-html.png (`npm run screenshots` puts it into media/).
 */

const tmp = path.join(TEST_TMP, 'html-report');
const SCREENSHOTS = path.join(TEST_TMP, 'screenshots');
const NO_CHROMIUM = !fs.existsSync(CHROMIUM) && `no Chromium at ${CHROMIUM} (bash scripts/code-server/install.sh)`;

/** The page's verdict as shown: the first divergence's link text and marked node, or the "none" line. */
async function shownFirstDivergence(page: Page): Promise<{ text: string | null; node: string | null; none: boolean }> {
  const link = page.locator('#first-divergence');
  const text = (await link.count()) ? await link.textContent() : null;
  const marked = page.locator('#tree g.node.first-divergence');
  const node = (await marked.count()) ? await marked.getAttribute('data-id') : null;
  return { text, node, none: (await page.locator('#no-divergence').count()) === 1 };
}

/** The tree node that stands for a record: its module (the head group for the logits). */
const nodeOf = (record: string): string => (record === 'logits' ? '#head' : record.replace(/#\d+$/, ''));
const ASSETS = { script: 'document.body.dataset.ready = "true";', css: 'body { margin: 0; }' };

const stats = (v: number): TensorStats => ({ shape: [1, 16, 4, 4], mean: v, std: 1, min: -v, max: v, absMax: v, nan: 0, inf: 0 });
const diff = (scaled: number, pass: boolean): DiffMetrics => ({ maxAbs: scaled, meanAbs: scaled / 2, relL2: scaled, cosine: 1, bound: 1e-3, scaledMaxAbs: scaled, pass });
const layer = (name: string, scaled: number): LayerResult => ({ name, reference: stats(1), candidate: stats(1), diff: diff(scaled, scaled <= 1e-3) });

function smallReport(candidateFile: string): CompareReport {
  return {
    version: 1,
    reference: { file: '/data/dla46_c.pth', format: 'pth', kind: 'checkpoint', variant: 'dla46_c' },
    candidate: { file: candidateFile, format: 'npz', kind: 'dump', variant: 'dla46_c' },
    input: { source: 'seeded', shape: [1, 3, 64, 64] },
    provider: 'cpu',
    tolerance: { mode: 'scaled-max', tol: 1e-3 },
    weights: null,
    layers: [layer('base_layer.0', 0), layer('base_layer.1', 2e-4), layer('level0.0', NaN), layer('level0.1', Infinity)],
    firstDivergence: 'level0.0',
    uncovered: ['level5'],
    unmatched: { onlyReference: [], onlyCandidate: [], shapeMismatch: [] },
    diagnosis: [{ cause: 'unknown', at: 'level0.0', residual: 0.5, explanation: 'none of the known porting mistakes reproduces it' }],
    timingsMs: { diff: 1.5 },
  };
}

function embeddedJson(html: string): unknown {
  const m = /<script type="application\/json" id="dla-report-data">([\s\S]*?)<\/script>/.exec(html);
  assert.ok(m, 'embedded data');
  return JSON.parse(m[1], nonFiniteReviver);
}

describe('HTML report', () => {
  test('untrusted names stay text: no markup, no script break-out, in the page or its embedded data', () => {
    const evil = '/tmp/</script><script>alert(1)</script><img src=x onerror=alert(2)>.npz';
    const html = htmlReport(smallReport(evil), undefined, { assets: ASSETS });
    assert.ok(!html.includes('<script>alert(1)'), 'script break-out');
    assert.ok(!html.includes('<img src=x'), 'raw markup');
    // Exactly two script elements: the data and the page script.
    assert.equal(html.match(/<script[\s>]/g)?.length, 2);
    const data = embeddedJson(html) as { candidate: { file: string } };
    assert.equal(data.candidate.file, evil);
  });

  test('NaN and Infinity survive the embedding; the same report gives the same bytes', () => {
    const html = htmlReport(smallReport('/tmp/cand.npz'), undefined, { assets: ASSETS });
    const data = embeddedJson(html) as { layers: { diff: { scaledMaxAbs: number } }[] };
    assert.ok(Number.isNaN(data.layers[2].diff.scaledMaxAbs));
    assert.equal(data.layers[3].diff.scaledMaxAbs, Infinity);
    assert.equal(htmlReport(smallReport('/tmp/cand.npz'), undefined, { assets: ASSETS }), html);
  });

  test('self-contained: a CSP that loads nothing, no external URL anywhere', () => {
    const html = htmlReport(smallReport('/tmp/cand.npz'), undefined, { assets: ASSETS });
    assert.match(html, /<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'nonce-[^']+'; style-src 'nonce-[^']+'; img-src data:">/);
    assert.ok(!/\s(src|href)=["']?(https?:)?\/\//i.test(html), 'no external src/href');
    assert.ok(!/<link\s/i.test(html), 'no <link>');
    // The tables are there without scripts.
    assert.match(html, /id="worst-layers"/);
    assert.match(html, /id="diagnosis"/);
    assert.match(html, /Not covered by the candidate: <code>level5<\/code>/);
  });

  describe('a real comparison in headless Chromium, network off', () => {
    let file = '';
    let report: CompareReport;

    before(async () => {
      // The page script is the build's dist/report.js (esbuild: well under a second).
      const build = spawnSync(process.execPath, ['esbuild.js'], { cwd: REPO_ROOT, encoding: 'utf8' });
      assert.equal(build.status, 0, build.stderr);
      fs.mkdirSync(tmp, { recursive: true });
      const reference = referencePath('dla46_c.pth');
      const input = inputFromArrays('dla46_c_acts_96.npz', readCheckpoint(referencePath('dla46_c_acts_96.npz')).tensors);
      const run = await forwardTaps(loadModel(reference), input.tensor, { provider: 'cpu', variations: [{ kind: 'bn-epsilon', epsilon: 1e-3, at: 'level3' }] });
      const dump = path.join(tmp, 'dla46_c_bn_eps_level3.npz');
      fs.writeFileSync(dump, writeNpz(run.records));
      ({ report } = await compare({ reference, dump, provider: 'cpu' }));
      assert.match(report.firstDivergence ?? '', /^level3\./);
      assert.equal(report.diagnosis[0]?.cause, 'bn-eps');
      const t0 = performance.now();
      const html = htmlReport(report);
      console.log(`  htmlReport: ${(html.length / 1024).toFixed(0)} KiB in ${(performance.now() - t0).toFixed(0)} ms ` +
        `(page script ${(loadReportAssets().script.length / 1024).toFixed(0)} KiB)`);
      file = path.join(tmp, 'dla46_c-bn-eps.html');
      fs.writeFileSync(file, html);
    });

    test('renders the tree with the first divergence marked; loads nothing but itself', { skip: NO_CHROMIUM }, async () => {
      const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
      try {
        const context = await browser.newContext({ offline: true, viewport: { width: 1400, height: 1000 }, colorScheme: 'light' });
        const page = await context.newPage();
        const requests: string[] = [];
        const problems: string[] = [];
        page.on('request', (r) => requests.push(r.url()));
        page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
        page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`); });
        const url = `file://${file}`;
        await page.goto(url);
        await page.locator('body[data-ready="true"]').waitFor({ timeout: 20_000 });
        await page.waitForTimeout(400); // the entering transition

        const tree = page.locator('#tree');
        for (const id of ['base_layer', 'level0', 'level1', 'level2', 'level3', 'level4', 'level5', '#head']) {
          assert.equal(await tree.locator(`g.node[data-id="${id}"]`).count(), 1, `node ${id}`);
        }
        const first = report.firstDivergence!.replace(/#\d+$/, '');
        assert.equal(await tree.locator('g.node.first-divergence').getAttribute('data-id'), first);
        assert.ok((await page.locator('#first-divergence').textContent())?.includes(report.firstDivergence!));
        assert.ok(await tree.locator('path.edge-hda').count() > 0, 'HDA edges drawn');
        assert.ok(await tree.locator('path.edge-ida').count() > 0, 'IDA edges drawn');
        assert.match((await page.locator('#likely-cause').textContent()) ?? '', /bn-eps/);
        console.log(`  report page: ${await tree.getAttribute('data-nodes')} nodes laid out in ${await tree.getAttribute('data-render-ms')} ms`);

        // Hover card and the detail pane's explanation (a report keeps no activations).
        await tree.locator('g.node.first-divergence text.label').hover();
        await page.locator('#tooltip').waitFor({ state: 'visible' });
        assert.match((await page.locator('#tooltip').textContent()) ?? '', /reference.*candidate/s);
        fs.mkdirSync(SCREENSHOTS, { recursive: true });
        await page.screenshot({ path: path.join(SCREENSHOTS, 'report-html.png') });
        await tree.locator('g.node.first-divergence text.label').click();
        assert.match((await page.locator('#detail').textContent()) ?? '', /keeps per-layer summaries only/);

        // Metric switch re-colours without a new layout; native controls work.
        const layouts = await tree.getAttribute('data-layouts');
        await page.locator('select#metric').selectOption('relL2');
        assert.equal(await tree.getAttribute('data-layouts'), layouts);

        assert.deepEqual(requests, [url], 'the page requested something besides itself');
        assert.deepEqual(problems, []);
      } finally {
        await browser.close();
      }
    });
  });
  describe('the page shows the report\'s own verdict, under every rule', () => {
    // dla46_c against a dump of itself with BatchNorm eps 1e-3 from level3: each rule puts the first
    // divergence elsewhere (and the loosest nowhere), so a page that re-decided would be caught.
    const RULES: readonly ToleranceRule[] = [
      { mode: 'scaled-max', tol: 1e-3 },
      { mode: 'allclose', atol: 0.01, rtol: 0.01 },
      { mode: 'allclose', atol: 0.1, rtol: 0.5 },
      { mode: 'allclose', atol: 1, rtol: 5 },
    ];
    const reports: CompareReport[] = [];
    let dump = '';

    before(async () => {
      const build = spawnSync(process.execPath, ['esbuild.js'], { cwd: REPO_ROOT, encoding: 'utf8' });
      assert.equal(build.status, 0, build.stderr);
      fs.mkdirSync(tmp, { recursive: true });
      const reference = referencePath('dla46_c.pth');
      const input = inputFromArrays('dla46_c_acts_96.npz', readCheckpoint(referencePath('dla46_c_acts_96.npz')).tensors);
      const run = await forwardTaps(loadModel(reference), input.tensor, { provider: 'cpu', variations: [{ kind: 'bn-epsilon', epsilon: 1e-3, at: 'level3' }] });
      dump = path.join(tmp, 'dla46_c_bn_eps_rules.npz');
      fs.writeFileSync(dump, writeNpz(run.records));
      for (const tolerance of RULES) reports.push((await compare({ reference, dump, provider: 'cpu', local: false, diagnose: false, tolerance })).report);
      const firsts = reports.map((r) => r.firstDivergence);
      assert.equal(new Set(firsts).size, RULES.length, `the rules give distinct first divergences: ${firsts.join(', ')}`);
      assert.equal(firsts[firsts.length - 1], null);
    });

    test('each report\'s first divergence, or none; an edited rule gives the engine\'s own verdict', { skip: NO_CHROMIUM }, async () => {
      const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
      try {
        const page = await (await browser.newContext({ offline: true, viewport: { width: 1400, height: 1000 } })).newPage();
        for (const [i, report] of reports.entries()) {
          const file = path.join(tmp, `rule-${i}.html`);
          fs.writeFileSync(file, htmlReport(report));
          await page.goto(`file://${file}`);
          await page.locator('body[data-ready="true"]').waitFor({ timeout: 20_000 });
          const shown = await shownFirstDivergence(page);
          const expected = report.firstDivergence;
          if (expected === null) {
            assert.deepEqual(shown, { text: null, node: null, none: true }, `rule ${i}: no divergence`);
          } else {
            assert.deepEqual(shown, { text: expected, node: nodeOf(expected), none: false }, `rule ${i}`);
          }
          // The static part of the page says the same.
          const verdict = (await page.locator('.verdict').first().textContent()) ?? '';
          assert.ok(expected === null ? /within tolerance/.test(verdict) : verdict.includes(expected), `rule ${i}: '${verdict}'`);
        }
        // Editing the numbers of the second report's rule to the third's: the page's verdict is then
        // exactly the one the engine computed at that rule.
        await page.goto(`file://${path.join(tmp, 'rule-1.html')}`);
        await page.locator('body[data-ready="true"]').waitFor({ timeout: 20_000 });
        const target = RULES[2] as { atol: number; rtol: number };
        await page.locator('input#atol').fill(String(target.atol));
        await page.locator('input#rtol').fill(String(target.rtol));
        const edited = await shownFirstDivergence(page);
        assert.equal(edited.text, reports[2].firstDivergence);
        assert.equal(edited.node, nodeOf(reports[2].firstDivergence!));
        await page.locator('input#atol').fill('1');
        await page.locator('input#rtol').fill('5');
        assert.equal((await shownFirstDivergence(page)).none, true);
      } finally {
        await browser.close();
      }
    });
  });
});
