import * as assert from 'assert';
import * as vscode from 'vscode';
import { activeApi, closeAllEditors } from './helpers';

describe('Commands without their prerequisites', () => {
  afterEach(closeAllEditors);

  it('Export Report explains that there is no comparison yet', async () => {
    const api = await activeApi();
    api.clearLastError();
    await vscode.commands.executeCommand('dlaLens.exportReport');
    assert.strictEqual(api.lastError()?.command, 'dlaLens.exportReport');
    assert.match(api.lastError()!.message, /no comparison to export.*Compare Checkpoints/);
  });
});
