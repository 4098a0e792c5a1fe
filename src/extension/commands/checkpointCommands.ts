import * as vscode from 'vscode';
import { CheckpointEditorProvider } from '../checkpointEditor/checkpointEditor';
import { EDITOR_EXTENSIONS, pickFile } from './pickFile';

/** DLA: Open Checkpoint: the given file (explorer) or a picked one, in the checkpoint editor. */
export async function openCheckpoint(arg?: unknown): Promise<void> {
  let uri = arg instanceof vscode.Uri ? arg : undefined;
  if (!uri) {
    const picked = await pickFile({
      title: 'DLA: Open Checkpoint', placeHolder: 'A checkpoint or activation dump to inspect',
      extensions: EDITOR_EXTENSIONS, filterName: 'Checkpoints',
    });
    uri = typeof picked === 'string' ? vscode.Uri.file(picked) : picked;
  }
  if (uri) await vscode.commands.executeCommand('vscode.openWith', uri, CheckpointEditorProvider.viewType);
}
