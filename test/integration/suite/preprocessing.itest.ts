import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';
import * as vscode from 'vscode';
import { comparePreprocessing } from '../../../src/model/run/comparePreprocessing';
import { loadModel } from '../../../src/model/run/loadModel';
import { presetByName } from '../../../src/model/run/presets';
import type { PreprocessingData } from '../../../src/shared/preprocessingProtocol';
import { activeApi, closeAllEditors, note, referenceFile, until, workspaceFile } from './helpers';

const isView = (t: vscode.Tab) => t.input instanceof vscode.TabInputWebview && t.input.viewType.endsWith('dlaLens.preprocessing');
const views = () => vscode.window.tabGroups.all.flatMap((g) => g.tabs).filter(isView);

async function pngPixels(uri: string): Promise<Uint8Array> {
  return new Uint8Array(await sharp(Buffer.from(uri.replace(/^data:image\/png;base64,/, ''), 'base64')).raw().toBuffer());
}

describe('Compare Preprocessing', function () {
  this.timeout(120_000);
  afterEach(closeAllEditors);
  after(async () => {
    await vscode.workspace.getConfiguration('dlaLens').update('checkpoint', undefined, vscode.ConfigurationTarget.Workspace);
  });

  it('shows what comparePreprocessing() computes for probe.png, timm vs paddleclas, with dla60', async () => {
    const api = await activeApi();
    api.clearLastError();
    await vscode.workspace.getConfiguration('dlaLens').update('checkpoint', referenceFile('dla60.pth'), vscode.ConfigurationTarget.Workspace);
    const image = workspaceFile('probe.png');
    const d = await vscode.commands.executeCommand<PreprocessingData | undefined>('dlaLens.comparePreprocessing',
      { image, a: { preset: 'timm' }, b: { preset: 'paddleclas' } });
    assert.ok(d, `Compare Preprocessing returned nothing: ${api.lastError()?.message}`);

    // Ground truth: the same function, called here on the same file.
    const t0 = Date.now();
    const direct = await comparePreprocessing(new Uint8Array(fs.readFileSync(image.fsPath)), image.fsPath, presetByName('timm'), presetByName('paddleclas'),
      { model: loadModel(referenceFile('dla60.pth')), k: 5, provider: 'cpu' });
    note(`probe.png timm vs paddleclas: pixels max ${direct.pixels!.max}, ${(100 * direct.pixels!.differingShare).toFixed(1)}% differ; ` +
      `tensor max ${direct.tensor!.max.toFixed(4)}; engine ${d.ms.toFixed(0)} ms, direct ${Date.now() - t0} ms`);
    assert.deepStrictEqual(d.pixels, { ...direct.pixels });
    assert.deepStrictEqual(d.tensor, { ...direct.tensor });
    assert.ok(d.pixels!.differing > 0, 'the two pipelines differ on probe.png');
    assert.deepStrictEqual(await pngPixels(d.a.crop.uri), direct.a.result.cropped.rgb);
    assert.deepStrictEqual(await pngPixels(d.b.crop.uri), direct.b.result.cropped.rgb);
    assert.strictEqual(d.heatmap?.scaleMax, direct.pixels!.max);
    // The same graph on the same tensors: the classes are the same; probabilities within 1e-4 leave
    // room for another execution provider than the direct call's CPU (auto may pick CUDA in CI).
    assert.deepStrictEqual(d.a.top!.map((p) => p.index), direct.a.top!.map((p) => p.index));
    assert.deepStrictEqual(d.b.top!.map((p) => p.index), direct.b.top!.map((p) => p.index));
    d.a.top!.forEach((p, i) => assert.ok(Math.abs(p.prob - direct.a.top![i].prob) < 1e-4, `timm probability ${i}`));
    assert.deepStrictEqual(d.model?.rankDiffers, direct.a.top!.map((p, i) => p.index !== direct.b.top![i].index));
    assert.strictEqual(d.model?.variant, 'dla60');
    assert.match(api.statusText(), /DLA: (cpu|cuda|webgpu)/);

    // The view: one tab beside nothing else, named for the image and the presets, given exactly this.
    const tab = await until('the Compare Preprocessing tab', () => views()[0]);
    assert.strictEqual(tab.label, 'probe.png — timm vs paddleclas');
    const shown = await until('the page to load and ask for its data', () => api.lastPreprocessingShown());
    assert.deepStrictEqual(shown, d);
  });

  it('compares without a model and with a preset from a PaddleClas YAML, in the same tab', async () => {
    const api = await activeApi();
    api.clearLastError();
    const image = workspaceFile('probe.png');
    const first = await vscode.commands.executeCommand<PreprocessingData | undefined>('dlaLens.comparePreprocessing',
      { image, a: { preset: 'timm' }, b: { preset: 'paddle' }, checkpoint: null });
    assert.ok(first, api.lastError()?.message);
    await until('the timm vs paddle page', () => api.lastPreprocessingShown() === first);

    const yaml = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'dla-itest-')), 'cubic.yaml');
    fs.writeFileSync(yaml, ['- DecodeImage: {to_rgb: true, channel_first: false}', '- ResizeImage: {resize_short: 256, interpolation: bicubic}',
      '- CropImage: {size: 224}', '- NormalizeImage: {scale: 1.0/255.0, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], order: ""}', ''].join('\n'));
    const d = await vscode.commands.executeCommand<PreprocessingData | undefined>('dlaLens.comparePreprocessing',
      { image, a: { preset: 'paddleclas' }, b: { config: yaml }, checkpoint: null });
    assert.ok(d, api.lastError()?.message);
    assert.strictEqual(d.model, null);
    assert.strictEqual(d.b.config, yaml);
    const direct = await comparePreprocessing(new Uint8Array(fs.readFileSync(image.fsPath)), image.fsPath, presetByName('paddleclas'),
      { ...presetByName('paddleclas'), resize: { library: 'opencv', filter: 'cubic', size: { rule: 'shorter-side-round', size: 256 } } });
    assert.deepStrictEqual(d.pixels, { ...direct.pixels }, 'the YAML is PaddleClas eval with INTER_CUBIC');

    // The page was pushed the new comparison: one tab, retitled.
    await until('the page to show the YAML comparison', () => api.lastPreprocessingShown() === d);
    assert.strictEqual(views().length, 1);
    assert.strictEqual(views()[0].label, 'probe.png — paddleclas vs paddleclas (cubic.yaml)');
  });

  it('without dlaLens.checkpoint, asks for one or for going without a model', async () => {
    const api = await activeApi();
    api.clearLastError();
    await vscode.workspace.getConfiguration('dlaLens').update('checkpoint', undefined, vscode.ConfigurationTarget.Workspace);
    const running = vscode.commands.executeCommand<PreprocessingData | undefined>('dlaLens.comparePreprocessing',
      { image: workspaceFile('probe.png'), a: { preset: 'timm' }, b: { preset: 'paddleclas' } });
    // The quick pick offers "Choose a checkpoint…" first, then "Without a model": take the second.
    await new Promise((r) => setTimeout(r, 1500));
    await vscode.commands.executeCommand('workbench.action.quickOpenSelectNext');
    await vscode.commands.executeCommand('workbench.action.acceptSelectedQuickOpenItem');
    const d = await running;
    assert.ok(d, `nothing shown: ${api.lastError()?.message}`);
    assert.strictEqual(d.model, null);
    assert.deepStrictEqual([d.a.top, d.b.top], [null, null]);
    assert.strictEqual(vscode.workspace.getConfiguration('dlaLens').get('checkpoint'), '', 'going without a model remembers nothing');
  });

  it('says which file is wrong when a preset config cannot be read', async () => {
    const api = await activeApi();
    api.clearLastError();
    const bad = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'dla-itest-')), 'broken_cfg.json');
    fs.writeFileSync(bad, '{"crop_pct": "most"}');
    const r = await vscode.commands.executeCommand('dlaLens.comparePreprocessing', { image: workspaceFile('probe.png'), a: { preset: 'timm' }, b: { config: bad }, checkpoint: null });
    assert.strictEqual(r, undefined);
    assert.strictEqual(api.lastError()?.command, 'dlaLens.comparePreprocessing');
    assert.match(api.lastError()!.message, /broken_cfg\.json.*crop_pct/);
    assert.strictEqual(views().length, 0);
  });
});
