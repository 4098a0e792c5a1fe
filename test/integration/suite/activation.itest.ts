import * as assert from 'assert';
import * as vscode from 'vscode';
import { EXTENSION_ID, activeApi } from './helpers';

describe('Activation', () => {
  it('activates and registers every command that package.json contributes', async () => {
    const api = await activeApi();
    const ext = vscode.extensions.getExtension(EXTENSION_ID)!;
    assert.strictEqual(ext.isActive, true);
    const declared: { command: string }[] = ext.packageJSON.contributes.commands;
    assert.ok(declared.length >= 4, 'package.json declares the DLA commands');
    const registered = new Set(await vscode.commands.getCommands(true));
    const missing = declared.map((c) => c.command).filter((c) => !registered.has(c));
    assert.deepStrictEqual(missing, [], `Declared in package.json but not registered: ${missing.join(', ')}`);
    assert.match(api.statusText(), /DLA: (auto|cuda|webgpu|cpu)/);
  });

  it('puts every palette command in the DLA category', () => {
    const ext = vscode.extensions.getExtension(EXTENSION_ID)!;
    const commands: { command: string; category?: string }[] = ext.packageJSON.contributes.commands;
    assert.deepStrictEqual(commands.filter((c) => c.category !== 'DLA').map((c) => c.command), []);
  });

  it('declares the settings with their defaults', () => {
    const c = vscode.workspace.getConfiguration('dlaLens');
    assert.strictEqual(c.inspect('executionProvider')?.defaultValue, 'auto');
    assert.strictEqual(c.inspect('preprocessing')?.defaultValue, 'timm');
    assert.strictEqual(c.inspect('tolerance')?.defaultValue, 0.001);
    assert.strictEqual(c.inspect('checkpoint')?.defaultValue, '');
  });
});
