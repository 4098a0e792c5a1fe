import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { folderDataset } from '../../../src/model/eval/dataset';
import { evaluate } from '../../../src/model/eval/evaluate';
import { presetByName } from '../../../src/model/run/presets';
import type { EvaluationData } from '../../../src/shared/evaluationProtocol';
import { activeApi, closeAllEditors, note, referenceFile, until, workspaceFile } from './helpers';

/**
 * DLA: Evaluate on Labelled Images in the real extension host: the results page shows exactly what
 * dla-lens eval's own function computes for the same images (top-1/top-5/loss, per class, the
 * disagreements of an agreement run), the view is a webview of its own, and an unreadable set
 * gives one clear message.
 */
describe('Evaluate on Labelled Images', function () {
  this.timeout(240_000);
  afterEach(closeAllEditors);

  /** Two synset folders of probe.png crops and copies: one class the model gets, one it does not. */
  function imageFolder(): string {
    const root = workspaceFile('evalset').fsPath;
    for (const [wnid, n] of [['n03047690', 3], ['n04264628', 2]] as const) {
      fs.mkdirSync(path.join(root, wnid), { recursive: true });
      for (let k = 0; k < n; k++) fs.copyFileSync(workspaceFile('probe.png').fsPath, path.join(root, wnid, `probe_${k}.png`));
    }
    return root;
  }

  it('shows the figures dla-lens eval computes, with the disagreements of two presets', async () => {
    const api = await activeApi();
    api.clearLastError();
    const folder = imageFolder();
    const weights = referenceFile('dla46_c.pth');
    const shown = await vscode.commands.executeCommand<EvaluationData | undefined>('dlaLens.evaluate', {
      folder, weights, againstPreset: { preset: 'paddleclas' }, batch: 2,
    });
    assert.ok(shown, api.lastError()?.message);
    const direct = await evaluate({ weights, dataset: folderDataset(folder), preset: presetByName('timm'), againstPreset: presetByName('paddleclas'), provider: 'cpu', batch: 2 });
    for (const k of ['count', 'correct1', 'correct5', 'agreement'] as const) assert.strictEqual(shown[k], direct[k], k);
    assert.ok(Math.abs(shown.loss - direct.loss) < 1e-6);
    assert.deepStrictEqual(shown.perClass.map((c) => [c.index, c.count, c.correct1]), direct.perClass.map((c) => [c.index, c.count, c.correct1]));
    assert.deepStrictEqual((shown.disagreements ?? []).map((d) => d.i), (direct.disagreements ?? []).map((d) => d.i));
    assert.strictEqual(shown.against?.kind, 'preset');
    const page = await until('the results page to load and ask for its data', () => api.lastEvaluationShown());
    assert.strictEqual(page.count, shown.count);
    const tab = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
    assert.ok(tab instanceof vscode.TabInputWebview && tab.viewType.endsWith('dlaLens.evaluation'));
    note(`${shown.count} images: top-1 ${shown.correct1}, agreement timm/paddleclas ${(100 * (shown.agreement ?? 0)).toFixed(0)}%, ${shown.imagesPerSecond.toFixed(1)} img/s on ${shown.provider.split(' ')[0]}`);
  });

  it('says what is wrong with a folder that holds no class folders', async () => {
    const api = await activeApi();
    api.clearLastError();
    const empty = workspaceFile('not-a-dataset').fsPath;
    fs.mkdirSync(empty, { recursive: true });
    fs.writeFileSync(path.join(empty, 'readme.txt'), 'nothing here');
    const r = await vscode.commands.executeCommand('dlaLens.evaluate', { folder: empty, weights: referenceFile('dla46_c.pth') });
    assert.strictEqual(r, undefined);
    assert.strictEqual(api.lastError()?.command, 'dlaLens.evaluate');
    assert.match(api.lastError()!.message, /not-a-dataset: no class folders/);
  });
});
