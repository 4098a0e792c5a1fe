import * as assert from 'assert';
import * as vscode from 'vscode';
import { activeApi, closeAllEditors, until, workspaceFile } from './helpers';

describe('Checkpoint editor', () => {
  before(activeApi);
  afterEach(closeAllEditors);

  for (const file of ['dla46_c.safetensors', 'dla46_c.pth', 'dla46_c.pdparams']) {
    it(`opens ${file} read-only in the DLA Checkpoint editor`, async () => {
      const uri = workspaceFile(file);
      await vscode.commands.executeCommand('dlaLens.openCheckpoint', uri);
      const tab = await until('the checkpoint editor tab', () => {
        const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
        return input instanceof vscode.TabInputCustom ? input : undefined;
      });
      assert.strictEqual(tab.viewType, 'dlaLens.checkpointEditor');
      assert.strictEqual(tab.uri.fsPath, uri.fsPath);
    });
  }
});
