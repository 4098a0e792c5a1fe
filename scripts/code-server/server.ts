/**
 * Starts code-server isolated from the home folder (its own config, user data and extensions
 * folders under one run directory) on a free loopback port, in its own process group so that
 * stopping it also ends the extension host it spawned. Stopping is registered for every way this
 * process can end, because an orphaned code-server keeps its port and its extension host.
 */
import { spawn, spawnSync, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as net from 'net';
import * as path from 'path';
import { CODE_SERVER_ENTRY, assertToolsInstalled } from './paths';

export interface CodeServerOptions {
  /** Folder for config, user data, extensions and the log; created if missing. */
  readonly runDir: string;
  /** VS Code user settings written before start (theme, trust, ...). */
  readonly settings?: Record<string, unknown>;
  /** Extra environment for code-server and the extension host it spawns. */
  readonly env?: Record<string, string>;
  /** Fixed port (npm start); a free one otherwise. */
  readonly port?: number;
  /** Bind address; loopback unless the caller asks otherwise. */
  readonly host?: string;
  /** Folder the workbench opens when its URL names none (code-server's positional argument). */
  readonly folder?: string;
  /** Extra code-server arguments (`--install-extension file.vsix` for a one-shot install run). */
  readonly args?: readonly string[];
}

export interface CodeServer {
  readonly url: string;
  readonly port: number;
  readonly host: string;
  readonly logFile: string;
  readonly extensionsDir: string;
  /** Settles when code-server exits, with how it did ("code 0", "SIGTERM"). */
  readonly exited: Promise<string>;
  stop(): Promise<void>;
}

export const DEFAULT_SETTINGS: Record<string, unknown> = {
  'security.workspace.trust.enabled': false,
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'window.restoreWindows': 'none',
  'chat.commandCenter.enabled': false,
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
  // The test workspaces live inside this repository: no "open the parent git repository?" toasts.
  'git.openRepositoryInParentFolders': 'never',
  'git.enabled': false,
};

export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, host, () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

function healthy(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get(`${url}/healthz`, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.setTimeout(1000, () => req.destroy());
  });
}

const live = new Set<ChildProcess>();
let hooksInstalled = false;
let stopping = false;

/** SIGTERM to the whole group; the caller escalates. Synchronous, so it also works in 'exit'. */
function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}

/**
 * Every code-server this process started, stopped: SIGTERM to each group, SIGKILL to what is left
 * after `graceMs`. Also what Ctrl-C does (`npm start`), so the extension host gets its deactivate().
 */
export async function stopAll(graceMs = 3000): Promise<void> {
  const children = [...live];
  if (children.length === 0) return;
  const gone = Promise.all(children.map((c) => new Promise<void>((r) => (c.exitCode !== null || c.signalCode !== null ? r() : c.once('exit', () => r())))));
  for (const c of children) signalGroup(c, 'SIGTERM');
  await Promise.race([gone, new Promise((r) => setTimeout(r, graceMs))]);
  // The extension host may outlive its parent by a moment; make sure every group is empty.
  for (const c of children) signalGroup(c, 'SIGKILL');
}

function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', () => {
    for (const c of live) signalGroup(c, 'SIGKILL');
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      const code = 128 + (sig === 'SIGINT' ? 2 : sig === 'SIGTERM' ? 15 : 1);
      // A second Ctrl-C while stopping: no more waiting.
      if (stopping) process.exit(code);
      stopping = true;
      void stopAll().finally(() => process.exit(code));
    });
  }
}
export async function startCodeServer(opts: CodeServerOptions): Promise<CodeServer> {
  assertToolsInstalled({ browser: false });
  installExitHooks();
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port ?? (await freePort(host));
  const dirs = {
    userData: path.join(opts.runDir, 'user-data'),
    extensions: path.join(opts.runDir, 'extensions'),
  };
  for (const d of Object.values(dirs)) fs.mkdirSync(d, { recursive: true });
  fs.mkdirSync(path.join(dirs.userData, 'User'), { recursive: true });
  fs.writeFileSync(
    path.join(dirs.userData, 'User', 'settings.json'),
    JSON.stringify({ ...DEFAULT_SETTINGS, ...opts.settings }, null, 2),
  );
  const config = path.join(opts.runDir, 'config.yaml');
  // Passwordless, no TLS: it only ever listens on loopback unless the caller binds elsewhere.
  fs.writeFileSync(config, `bind-addr: ${host}:${port}\nauth: none\ncert: false\n`);
  const logFile = path.join(opts.runDir, 'code-server.log');
  const log = fs.openSync(logFile, 'a');
  const args = [
    CODE_SERVER_ENTRY,
    '--config', config,
    '--auth', 'none',
    '--bind-addr', `${host}:${port}`,
    '--disable-telemetry',
    '--disable-update-check',
    '--disable-workspace-trust',
    '--disable-getting-started-override',
    '--user-data-dir', dirs.userData,
    '--extensions-dir', dirs.extensions,
    ...(opts.args ?? []),
    ...(opts.folder ? [opts.folder] : []),
  ];
  // detached = setsid(): code-server leads a new process group that we can kill as a whole.
  const child = spawn(process.execPath, args, {
    detached: true,
    stdio: ['ignore', log, log],
    env: { ...process.env, ...opts.env },
  });
  fs.closeSync(log);
  live.add(child);
  let exited: string | null = null;
  const exitedPromise = new Promise<string>((resolve) => child.on('exit', (code, signal) => {
    exited = code !== null ? `code ${code}` : `${signal}`;
    live.delete(child);
    resolve(exited);
  }));

  const url = `http://${host}:${port}`;
  const deadline = Date.now() + 30_000;
  while (!(await healthy(url))) {
    if (exited !== null || Date.now() > deadline) {
      signalGroup(child, 'SIGKILL');
      const tail = fs.readFileSync(logFile, 'utf8').split('\n').slice(-20).join('\n');
      throw new Error(
        `code-server did not come up on ${url} (${exited ? `exited with ${exited}` : 'no answer on /healthz after 30 s'}). ` +
          `Last lines of ${logFile}:\n${tail}`,
      );
    }
    await new Promise((r) => setTimeout(r, 200));
  }

  return {
    url, port, host, logFile, extensionsDir: dirs.extensions, exited: exitedPromise,
    async stop() {
      if (!live.has(child)) return;
      const gone = new Promise<void>((r) => child.once('exit', () => r()));
      signalGroup(child, 'SIGTERM');
      const timer = setTimeout(() => signalGroup(child, 'SIGKILL'), 3000);
      await gone;
      clearTimeout(timer);
      // The extension host may outlive its parent by a moment; make sure the group is empty.
      signalGroup(child, 'SIGKILL');
    },
  };
}

/**
 * `code-server --install-extension FILE.vsix` into the extensions folder a later
 * startCodeServer({ runDir }) uses (a one-shot CLI run; no server). Returns its output and time.
 */
export function installVsix(runDir: string, vsix: string): { output: string; ms: number } {
  assertToolsInstalled({ browser: false });
  const extensions = path.join(runDir, 'extensions');
  const userData = path.join(runDir, 'user-data');
  fs.mkdirSync(extensions, { recursive: true });
  fs.mkdirSync(userData, { recursive: true });
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [
    CODE_SERVER_ENTRY, '--extensions-dir', extensions, '--user-data-dir', userData,
    '--disable-telemetry', '--install-extension', vsix, '--force',
  ], { encoding: 'utf8', timeout: 120_000 });
  const output = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim();
  if (r.status !== 0) throw new Error(`code-server --install-extension ${vsix} failed (${r.status ?? r.signal}):\n${output}`);
  return { output, ms: Date.now() - t0 };
}
