import * as assert from 'assert';
import * as vscode from 'vscode';
import { readCheckpoint } from '../../../src/model/formats/registry';
import { topK } from '../../../src/model/run/labels';
import type { Classification } from '../../../src/extension/classifier';
import { activeApi, closeAllEditors, referenceFile, until, workspaceFile } from './helpers';

describe('Classify Image', function () {
  this.timeout(120_000);
  afterEach(closeAllEditors);

  it('gives the top-5 that timm computed for probe.png (dla60, timm preset)', async () => {
    const api = await activeApi();
    api.clearLastError();
    await vscode.workspace.getConfiguration('dlaLens').update('checkpoint', referenceFile('dla60.pth'), vscode.ConfigurationTarget.Workspace);
    await vscode.workspace.getConfiguration('dlaLens').update('preprocessing', 'timm', vscode.ConfigurationTarget.Workspace);
    const result = await vscode.commands.executeCommand<Classification | undefined>('dlaLens.classifyImage', workspaceFile('probe.png'));
    assert.ok(result, `Classify Image returned nothing: ${api.lastError()?.message}`);

    // Ground truth: timm's dla60 logits for the same image through the same pipeline.
    const logits = readCheckpoint(referenceFile('probe_preprocessed.npz')).tensors.get('timm_bilinear_logits')!;
    const expected = topK(logits.data as Float32Array, 5);
    assert.deepStrictEqual(result.top.map((p) => p.index), expected.map((p) => p.index));
    for (let i = 0; i < 5; i++) assert.ok(Math.abs(result.top[i].prob - expected[i].prob) < 1e-3, `probability ${i}`);
    assert.strictEqual(result.preset, 'timm');
    assert.strictEqual(result.variant, 'dla60');
    assert.ok(['cpu', 'cuda', 'webgpu'].includes(result.provider));
    assert.match(api.statusText(), new RegExp(`DLA: ${result.provider}`));

    // The result document names the winner, the preset, the provider and the time.
    const doc = await until('the result document', () => vscode.workspace.textDocuments.find((d) => d.uri.scheme === 'dla-lens'));
    const text = doc.getText();
    assert.ok(text.includes(expected[0].label), text);
    assert.match(text, /preprocessing: timm/);
    assert.match(text, /provider: (cpu|cuda|webgpu)/);
    assert.match(text, /ms inference/);
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
