import * as crypto from 'crypto';
import * as vscode from 'vscode';

export type WebviewPage = 'comparison' | 'checkpoint' | 'classification' | 'preprocessing' | 'evaluation';

/**
 * Folders a webview may load from: the bundle and the static media, nothing of the workspace.
 */
export function localResourceRoots(extensionUri: vscode.Uri): vscode.Uri[] {
  return [vscode.Uri.joinPath(extensionUri, 'dist'), vscode.Uri.joinPath(extensionUri, 'media')];
}

export function webviewOptions(extensionUri: vscode.Uri): vscode.WebviewOptions {
  return { enableScripts: true, localResourceRoots: localResourceRoots(extensionUri) };
}

/**
 * Static HTML for every page: the script (one bundle, told which page it is by data-page) builds
 * the DOM and then sends Ready. The CSP allows only our own files, the one nonce'd script, and
 * <style> elements carrying the same nonce: the toolkit's FAST library probes :focus-visible with
 * one, taking its nonce from <meta property="csp-nonce"> (without it, every page had one CSP
 * violation). Styles set through the CSSOM (d3's .style(), the toolkit's adopted stylesheets) are
 * not inline <style>/style="" and need no 'unsafe-inline'.
 */
export function webviewHtml(webview: vscode.Webview, extensionUri: vscode.Uri, page: WebviewPage, title: string): string {
  const nonce = crypto.randomBytes(16).toString('base64');
  const asset = (...p: string[]) => webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, ...p)).toString();
  const csp = [
    "default-src 'none'",
    `style-src ${webview.cspSource} 'nonce-${nonce}' 'report-sample'`,
    `img-src ${webview.cspSource} data:`,
    `font-src ${webview.cspSource}`,
    `script-src 'nonce-${nonce}'`,
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="UTF-8">
  <meta http-equiv="Content-Security-Policy" content="${csp}">
  <meta property="csp-nonce" content="${nonce}">
  <meta name="viewport" content="width=device-width, initial-scale=1.0">
  <link href="${asset('media', 'webview.css')}" rel="stylesheet">
  <title>${escapeHtml(title)}</title>
</head>
<body data-page="${page}">
  <div id="app" aria-busy="true">Loading…</div>
  <script nonce="${nonce}" src="${asset('dist', 'webview.js')}"></script>
</body>
</html>`;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
