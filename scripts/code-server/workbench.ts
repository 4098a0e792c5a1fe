/**
 * The workbench URL that opens a folder and, through the `payload` query parameter, loads an
 * extension in development mode and optionally runs its tests in the real extension host
 * (code-server's CLI rejects --extensionDevelopmentPath; the web workbench accepts it here).
 * Paths are on the server, so they are given as vscode-remote URIs of that server.
 */
export interface WorkbenchTarget {
  readonly folder: string;
  readonly extensionDevelopmentPath?: string;
  readonly extensionTestsPath?: string;
}

export function workbenchUrl(server: { url: string; host: string; port: number }, t: WorkbenchTarget): string {
  const remote = (p: string) => `vscode-remote://${server.host}:${server.port}${p}`;
  const payload: [string, string][] = [];
  if (t.extensionDevelopmentPath) payload.push(['extensionDevelopmentPath', remote(t.extensionDevelopmentPath)]);
  if (t.extensionTestsPath) payload.push(['extensionTestsPath', remote(t.extensionTestsPath)]);
  const q = new URLSearchParams({ folder: t.folder });
  if (payload.length > 0) q.set('payload', JSON.stringify(payload));
  return `${server.url}/?${q.toString()}`;
}
