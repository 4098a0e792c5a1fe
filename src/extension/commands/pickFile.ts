import * as path from 'path';
import * as vscode from 'vscode';

export const CHECKPOINT_EXTENSIONS = ['pth', 'pt', 'bin', 'safetensors', 'pdparams', 'onnx'] as const;
export const DUMP_EXTENSIONS = ['npz', 'npy'] as const;
export const IMAGE_EXTENSIONS = ['png', 'jpg', 'jpeg', 'webp'] as const;
export const EDITOR_EXTENSIONS = ['pth', 'safetensors', 'pdparams', 'onnx', 'npz'] as const;
/** What a reference usually is (the PyTorch/timm original) and what a candidate usually is (the port). */
export const REFERENCE_FIRST = ['pth', 'pt', 'bin', 'safetensors'] as const;
export const CANDIDATE_FIRST = ['pdparams', 'onnx'] as const;

const BROWSE = '$(folder-opened) Browse…';

/**
 * A quick pick of the workspace's files with the given extensions (those in `prefer` first, in its
 * order; then nearest folders first), then "Browse…" for anything elsewhere. Resolves undefined
 * when the user cancels.
 */
export async function pickFile(opts: {
  readonly title: string;
  readonly placeHolder: string;
  readonly extensions: readonly string[];
  readonly filterName: string;
  /** Extensions to list first (a reference is usually a .pth, a candidate a .pdparams). */
  readonly prefer?: readonly string[];
  readonly extraItems?: readonly (vscode.QuickPickItem & { readonly value: string })[];
}): Promise<vscode.Uri | string | undefined> {
  const glob = `**/*.{${opts.extensions.join(',')}}`;
  const found = await vscode.workspace.findFiles(glob, '**/node_modules/**', 500);
  found.sort((a, b) => preference(a, opts.prefer) - preference(b, opts.prefer) ||
    a.path.split('/').length - b.path.split('/').length || a.path.localeCompare(b.path));
  type Item = vscode.QuickPickItem & { uri?: vscode.Uri; value?: string };
  const items: Item[] = [
    ...(opts.extraItems ?? []).map((i) => ({ ...i })),
    ...found.map((uri) => ({
      label: path.basename(uri.fsPath),
      description: vscode.workspace.asRelativePath(path.dirname(uri.fsPath)),
      uri,
    })),
    { label: BROWSE, alwaysShow: true },
  ];
  const picked = await vscode.window.showQuickPick(items, { title: opts.title, placeHolder: opts.placeHolder, matchOnDescription: true });
  if (!picked) return undefined;
  if (picked.value !== undefined) return picked.value;
  if (picked.uri) return picked.uri;
  const chosen = await vscode.window.showOpenDialog({
    title: opts.title,
    canSelectMany: false,
    filters: { [opts.filterName]: [...opts.extensions] },
  });
  return chosen?.[0];
}

function preference(uri: vscode.Uri, prefer: readonly string[] = []): number {
  const i = prefer.indexOf(path.extname(uri.path).slice(1).toLowerCase());
  return i < 0 ? prefer.length : i;
}

/** A URI of the local file system, or a sentence saying why not. */
export function fileOf(uri: vscode.Uri): string {
  if (uri.scheme !== 'file') {
    throw new Error(`DLA Lens reads files from the file system; '${uri.toString()}' is not a file on this machine.`);
  }
  return uri.fsPath;
}

/**
 * The image a command runs on: the explorer's or editor title's URI, else the image preview the
 * user is looking at, else a pick.
 */
export async function imageArgument(arg: unknown, title: string, placeHolder: string): Promise<string | undefined> {
  if (arg instanceof vscode.Uri) return fileOf(arg);
  // The image preview's title button passes nothing in some versions: use the active tab's file.
  const tab = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
  if (arg === undefined && tab instanceof vscode.TabInputCustom && tab.viewType === 'imagePreview.previewEditor') {
    return fileOf(tab.uri);
  }
  const picked = await pickFile({ title, placeHolder, extensions: IMAGE_EXTENSIONS, filterName: 'Images' });
  return picked instanceof vscode.Uri ? fileOf(picked) : picked;
}
