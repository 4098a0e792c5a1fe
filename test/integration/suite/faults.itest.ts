import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { writeSafetensors } from '../../../src/model/formats/write/safetensorsWriter';
import { float32Tensor } from '../../../src/model/tensor';
import { activeApi, closeAllEditors, referenceFile, workspaceFile } from './helpers';

/**
 * Bad input in the real extension host: each gives one clear message (the file named, what it is,
 * what was expected) through the command's error path, and the extension keeps working after it.
 */
describe('Faults', function () {
  this.timeout(180_000);
  afterEach(closeAllEditors);

  async function failsWith(command: string, arg: unknown, ...patterns: RegExp[]): Promise<void> {
    const api = await activeApi();
    api.clearLastError();
    const r = await vscode.commands.executeCommand(command, arg);
    assert.strictEqual(r, undefined);
    const err = api.lastError();
    assert.strictEqual(err?.command, command, `${command} reported no error`);
    for (const p of patterns) assert.match(err!.message, p);
  }

  it('a checkpoint of another architecture: not a DLA checkpoint, what is missing, the closest variant', async () => {
    const file = workspaceFile('resnet-like.safetensors').fsPath;
    fs.writeFileSync(file, Buffer.concat(writeSafetensors(new Map([
      ['conv1.weight', float32Tensor([64, 3, 7, 7], new Float32Array(64 * 147))],
      ['fc.weight', float32Tensor([1000, 512], new Float32Array(512_000))],
    ]))));
    await failsWith('dlaLens.compareCheckpoints', { reference: file, candidate: workspaceFile('dla46_c.pth').fsPath },
      /resnet-like\.safetensors/, /Not a DLA checkpoint: missing 'base_layer\.0\.weight' and \d+ more; closest variant dla\w+/);
  });

  it('a dump of another variant: refused, naming the variant it is a dump of', async () => {
    await failsWith('dlaLens.compareCheckpoints', { reference: referenceFile('dla60.pth'), dump: referenceFile('dla46_c_acts_96.npz') },
      /dla46_c_acts_96\.npz: The dump's records do not have dla60's shapes/, /it is a dump of dla46_c/);
  });

  it('an image that does not decode: the file and what it is', async () => {
    const bad = workspaceFile('broken.jpg').fsPath;
    fs.writeFileSync(bad, Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(64)]));
    await vscode.workspace.getConfiguration('dlaLens').update('checkpoint', referenceFile('dla46_c.pth'), vscode.ConfigurationTarget.Workspace);
    await failsWith('dlaLens.classifyImage', vscode.Uri.file(bad), /broken\.jpg/);
    await vscode.workspace.getConfiguration('dlaLens').update('checkpoint', undefined, vscode.ConfigurationTarget.Workspace);
  });

  it('a batch too large for memory: how much it needs, how much there is, what to change', async () => {
    const folder = workspaceFile('tiny-set').fsPath;
    fs.mkdirSync(path.join(folder, 'n01440764'), { recursive: true });
    fs.copyFileSync(workspaceFile('probe.png').fsPath, path.join(folder, 'n01440764', 'probe.png'));
    await failsWith('dlaLens.evaluate', { folder, weights: referenceFile('dla46_c.pth'), batch: 10_000_000 },
      /A batch of 10000000 images .* needs about [\d.]+ GB of memory, more than half of the [\d.]+ (GB|MB) this machine has free; give a smaller --batch/);
  });

  it('and the extension still works after all of them', async () => {
    const api = await activeApi();
    api.clearLastError();
    await vscode.commands.executeCommand('dlaLens.compareCheckpoints', { reference: workspaceFile('dla46_c.pth').fsPath, candidate: workspaceFile('dla46_c.pdparams').fsPath, seed: 0 });
    assert.strictEqual(api.lastError(), undefined, api.lastError()?.message);
    assert.strictEqual(api.activeReport()?.firstDivergence, null);
  });
});
