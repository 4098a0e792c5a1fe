import * as assert from 'assert';
import * as fs from 'fs';
import * as vscode from 'vscode';
import { activeApi, closeAllEditors, referenceFile, until, workspaceFile } from './helpers';

describe('Comparison view', function () {
  this.timeout(60_000);
  afterEach(closeAllEditors);

  it('opens a saved report, renders its tree, and reports the render time', async () => {
    const api = await activeApi();
    api.clearLastError();
    const before = api.renders().length;
    await vscode.commands.executeCommand('dlaLens.openReport', workspaceFile('dla60-bn-eps.report.json'));
    assert.strictEqual(api.lastError(), undefined, api.lastError()?.message);
    const tab = await until('the comparison tab', () => {
      const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
      return input instanceof vscode.TabInputWebview ? input : undefined;
    });
    assert.match(tab.viewType, /dlaLens\.comparison$/);
    const render = await until('a layout from the webview', () => api.renders().slice(before).find((r) => r.what === 'layout'));
    assert.ok(render.nodes > 20, `only ${render.nodes} nodes laid out`);
  });

  it('exports the shown report as JSON', async () => {
    const api = await activeApi();
    api.clearLastError();
    await vscode.commands.executeCommand('dlaLens.openReport', workspaceFile('dla60-bn-eps.report.json'));
    const target = workspaceFile('exported.report.json');
    const saved = await vscode.commands.executeCommand<string | undefined>('dlaLens.exportReport', target);
    assert.strictEqual(saved, target.fsPath, api.lastError()?.message);
    const text = Buffer.from(await vscode.workspace.fs.readFile(target)).toString('utf8');
    const report = JSON.parse(text);
    assert.strictEqual(report.version, 1);
    assert.strictEqual(report.layers.length, 251);
  });

  it('exports the shown report as a self-contained HTML page', async () => {
    const api = await activeApi();
    api.clearLastError();
    await vscode.commands.executeCommand('dlaLens.openReport', workspaceFile('dla60-bn-eps.report.json'));
    const target = workspaceFile('exported.report.html');
    const saved = await vscode.commands.executeCommand<string | undefined>('dlaLens.exportReport', target);
    assert.strictEqual(saved, target.fsPath, api.lastError()?.message);
    const html = Buffer.from(await vscode.workspace.fs.readFile(target)).toString('utf8');
    assert.match(html, /<script type="application\/json" id="dla-report-data">/);
    assert.match(html, /Content-Security-Policy" content="default-src 'none'/);
    const report = api.activeReport();
    assert.ok(report?.firstDivergence && html.includes(`First divergence: <code class="mono">${report.firstDivergence}</code>`));
    assert.ok(html.length > 100_000, `only ${html.length} characters: the page script is missing?`);
  });

  it('Compare Checkpoints: the same weights as .pth and .pdparams agree at every layer', async () => {
    const api = await activeApi();
    api.clearLastError();
    await vscode.commands.executeCommand('dlaLens.compareCheckpoints', {
      reference: workspaceFile('dla46_c.pth').fsPath, candidate: workspaceFile('dla46_c.pdparams').fsPath, seed: 0,
    });
    assert.strictEqual(api.lastError(), undefined, api.lastError()?.message);
    const report = api.activeReport();
    assert.ok(report);
    assert.strictEqual(report.reference.variant, 'dla46_c');
    assert.strictEqual(report.firstDivergence, null);
    assert.ok(report.layers.length > 100);
    assert.ok(report.layers.every((l) => l.diff.pass));
  });

  it('Compare Checkpoints: a dump with a BatchNorm-epsilon mistake diverges at the first BatchNorm of level3', async () => {
    const api = await activeApi();
    api.clearLastError();
    await vscode.commands.executeCommand('dlaLens.compareCheckpoints', {
      reference: referenceFile('dla60.pth'), dump: workspaceFile('dla60_candidate_bn_eps_acts_64.npz').fsPath,
    });
    assert.strictEqual(api.lastError(), undefined, api.lastError()?.message);
    const report = api.activeReport();
    assert.ok(report);
    assert.strictEqual(report.firstDivergence, 'level3.tree1.project.1');
    assert.ok(report.layers.filter((l) => l.name.startsWith('level2')).every((l) => l.diff.pass), 'level2 passes');
    assert.strictEqual(report.diagnosis[0]?.cause, 'bn-eps', JSON.stringify(report.diagnosis[0]));
  });
  it('Compare Checkpoints on a folder of images: both models in one graph, the batch verdict and each image\'s', async () => {
    const api = await activeApi();
    api.clearLastError();
    const folder = workspaceFile('itest-batch');
    fs.mkdirSync(folder.fsPath, { recursive: true });
    for (const name of ['a.png', 'b.png', 'c.png']) fs.copyFileSync(workspaceFile('probe.png').fsPath, workspaceFile('itest-batch', name).fsPath);
    const before = api.renders().length;
    await vscode.commands.executeCommand('dlaLens.compareCheckpoints', {
      reference: workspaceFile('dla46_c.pth').fsPath, candidate: workspaceFile('dla46_c.pdparams').fsPath, input: folder.fsPath,
    });
    assert.strictEqual(api.lastError(), undefined, api.lastError()?.message);
    const report = api.activeReport();
    assert.ok(report?.batch, 'a report on many inputs');
    assert.deepStrictEqual(report.batch.images, ['a.png', 'b.png', 'c.png']);
    assert.strictEqual(report.batch.method, 'in-graph');
    assert.deepStrictEqual(report.batch.firstDivergence, [null, null, null]);
    assert.deepStrictEqual(report.input.shape, [3, 3, 224, 224]);
    assert.ok(report.layers.every((l) => l.batch?.images.length === 3 && l.diff.maxAbs === 0));
    assert.ok(api.progress().some((p) => /Comparing images 1-3 of 3 in one graph/.test(p)), api.progress().slice(-5).join(' | '));
    await until('a layout from the webview', () => api.renders().slice(before).find((r) => r.what === 'layout'));
  });

  it('Compare Checkpoints of a timm hub folder: its pretrained_cfg unless dlaLens.preprocessing is set', async () => {
    const api = await activeApi();
    const hub = workspaceFile('itest-hub');
    fs.mkdirSync(hub.fsPath, { recursive: true });
    fs.copyFileSync(workspaceFile('dla46_c.pth').fsPath, workspaceFile('itest-hub', 'pytorch_model.bin').fsPath);
    fs.writeFileSync(workspaceFile('itest-hub', 'config.json').fsPath, JSON.stringify({
      architecture: 'dla46_c', num_classes: 1000,
      pretrained_cfg: { input_size: [3, 224, 224], interpolation: 'bicubic', crop_pct: 0.95, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] },
    }));
    const settings = vscode.workspace.getConfiguration('dlaLens');
    const compareHub = async (): Promise<string | undefined> => {
      api.clearLastError();
      await vscode.commands.executeCommand('dlaLens.compareCheckpoints', {
        reference: hub.fsPath, candidate: workspaceFile('dla46_c.pdparams').fsPath, input: workspaceFile('probe.png').fsPath,
      });
      assert.strictEqual(api.lastError(), undefined, api.lastError()?.message);
      const spec = api.activeReport()?.inputSpec;
      assert.strictEqual(spec?.kind, 'image');
      return spec.kind === 'image' ? spec.presetConfig : undefined;
    };
    try {
      await settings.update('preprocessing', undefined, vscode.ConfigurationTarget.Workspace);
      assert.strictEqual(await compareHub(), workspaceFile('itest-hub', 'config.json').fsPath, 'the setting at its default: the folder\'s own cfg');
      await settings.update('preprocessing', 'timm', vscode.ConfigurationTarget.Workspace);
      assert.strictEqual(await compareHub(), undefined, 'the setting chosen: that preset');
    } finally {
      await settings.update('preprocessing', undefined, vscode.ConfigurationTarget.Workspace);
    }
  });
});
