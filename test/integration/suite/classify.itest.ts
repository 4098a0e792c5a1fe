import * as assert from 'assert';
import * as vscode from 'vscode';
import { readCheckpoint } from '../../../src/model/formats/registry';
import { topK } from '../../../src/model/run/labels';
import type { ClassificationData as Classification } from '../../../src/shared/classificationProtocol';
import { activeApi, closeAllEditors, referenceFile, until, workspaceFile } from './helpers';

function tabOf(match: (t: vscode.Tab) => boolean): { tab: vscode.Tab; group: vscode.TabGroup } | undefined {
  for (const group of vscode.window.tabGroups.all) {
    const tab = group.tabs.find(match);
    if (tab) return { tab, group };
  }
  return undefined;
}

const isResult = (t: vscode.Tab) => t.input instanceof vscode.TabInputWebview && t.input.viewType.endsWith('dlaLens.classification');

describe('Classify Image', function () {
  this.timeout(120_000);
  afterEach(closeAllEditors);

  it('gives the top-5 that timm computed for probe.png (dla60, timm preset)', async () => {
    const api = await activeApi();
    api.clearLastError();
    await vscode.workspace.getConfiguration('dlaLens').update('checkpoint', referenceFile('dla60.pth'), vscode.ConfigurationTarget.Workspace);
    await vscode.workspace.getConfiguration('dlaLens').update('preprocessing', 'timm', vscode.ConfigurationTarget.Workspace);
    const c = await vscode.commands.executeCommand<Classification | undefined>('dlaLens.classifyImage', workspaceFile('probe.png'));
    assert.ok(c, `Classify Image returned nothing: ${api.lastError()?.message}`);

    // Ground truth: timm's dla60 logits for the same image through the same pipeline.
    const logits = readCheckpoint(referenceFile('probe_preprocessed.npz')).tensors.get('timm_bilinear_logits')!;
    const expected = topK(logits.data as Float32Array, 5);
    assert.deepStrictEqual(c.top.map((p) => p.index), expected.map((p) => p.index));
    for (let i = 0; i < 5; i++) assert.ok(Math.abs(c.top[i].prob - expected[i].prob) < 1e-3, `probability ${i}`);
    assert.strictEqual(c.preset, 'timm');
    assert.strictEqual(c.variant, 'dla60');
    assert.ok(['cpu', 'cuda', 'webgpu'].includes(c.provider));
    assert.match(api.statusText(), new RegExp(`DLA: ${c.provider}`));

    // The result is rendered in a webview (not shown as Markdown source), the image inside it.
    const result = await until('the result tab', () => tabOf(isResult));
    assert.strictEqual(result.tab.label, 'probe.png — top-5');
    assert.ok(!vscode.workspace.textDocuments.some((d) => d.uri.scheme === 'dla-lens'), 'no Markdown source document any more');
    const webviews = vscode.window.tabGroups.all.flatMap((g) => g.tabs).filter((t) => t.input instanceof vscode.TabInputWebview || t.input instanceof vscode.TabInputCustom);
    assert.strictEqual(webviews.length, 1, 'one webview: the result page shows the image itself');

    // What the page asked for once loaded names the winner, the preset, the provider and the time.
    const shown = await until('the result page to load and ask for its data', () => api.lastClassificationShown());
    assert.strictEqual(shown.image, workspaceFile('probe.png').fsPath);
    assert.deepStrictEqual(shown.top.map((p) => p.label), expected.map((p) => p.label));
    assert.strictEqual(shown.preset, 'timm');
    assert.match(shown.providerDetail, /^(cpu|cuda|webgpu)/);
    assert.ok(shown.timingsMs.inference > 0 && shown.timingsMs.preprocess > 0);
    assert.match(shown.thumbnail?.uri ?? '', /^data:image\/png;base64,/);
    assert.ok((shown.thumbnail?.width ?? 0) > 0 && (shown.thumbnail?.height ?? 0) > 0);
  });

  it('run from the image preview, opens the result beside it', async () => {
    const api = await activeApi();
    api.clearLastError();
    await vscode.workspace.getConfiguration('dlaLens').update('checkpoint', referenceFile('dla60.pth'), vscode.ConfigurationTarget.Workspace);
    const png = workspaceFile('probe.png');
    await vscode.commands.executeCommand('vscode.open', png);
    const image = await until('the image preview', () => tabOf((t) => t.input instanceof vscode.TabInputCustom && t.input.uri.fsPath === png.fsPath && t.isActive));
    // No argument: the image preview's title button passes none in some versions (the active tab is used).
    const c = await vscode.commands.executeCommand<Classification | undefined>('dlaLens.classifyImage');
    assert.ok(c, api.lastError()?.message);
    const result = await until('the result tab', () => tabOf(isResult));
    assert.notStrictEqual(result.group.viewColumn, image.group.viewColumn, 'the result opens beside the image, not over it');
  });

  it('classifying the same image again reuses its result tab', async () => {
    const api = await activeApi();
    await vscode.workspace.getConfiguration('dlaLens').update('checkpoint', referenceFile('dla60.pth'), vscode.ConfigurationTarget.Workspace);
    for (const preset of ['timm', 'paddle']) {
      await vscode.workspace.getConfiguration('dlaLens').update('preprocessing', preset, vscode.ConfigurationTarget.Workspace);
      const r = await vscode.commands.executeCommand<Classification | undefined>('dlaLens.classifyImage', workspaceFile('probe.png'));
      assert.ok(r, api.lastError()?.message);
      await until(`the page showing the ${preset} result`, () => api.lastClassificationShown()?.preset === preset);
    }
    const results = vscode.window.tabGroups.all.flatMap((g) => g.tabs).filter(isResult);
    assert.strictEqual(results.length, 1);
    await vscode.workspace.getConfiguration('dlaLens').update('preprocessing', undefined, vscode.ConfigurationTarget.Workspace);
  });

  it('says what is wrong when the checkpoint is not a DLA checkpoint', async () => {
    const api = await activeApi();
    api.clearLastError();
    await vscode.workspace.getConfiguration('dlaLens').update('checkpoint', workspaceFile('truncated.pth').fsPath, vscode.ConfigurationTarget.Workspace);
    const result = await vscode.commands.executeCommand('dlaLens.classifyImage', workspaceFile('probe.png'));
    assert.strictEqual(result, undefined);
    assert.strictEqual(api.lastError()?.command, 'dlaLens.classifyImage');
    assert.match(api.lastError()!.message, /truncated\.pth/);
    await vscode.workspace.getConfiguration('dlaLens').update('checkpoint', undefined, vscode.ConfigurationTarget.Workspace);
  });
});
