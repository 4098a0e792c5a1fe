/**
 * `npm start`: the README's "run it" command. Builds the extension, writes the demo workspace
 * (.demo/workspace, see workspace.ts), installs code-server once if it is missing, and serves a
 * real VS Code with DLA Lens installed and the demo folder open on http://127.0.0.1:$PORT (8080).
 * Ctrl-C stops code-server and its extension host.
 *
 *   npm start                      build, write the workspace if needed, serve
 *   npm start -- --no-serve        build and write the workspace only (tests, CI)
 *   npm start -- --fresh           rewrite the workspace even if it is up to date
 *   PORT=9000 npm start            another port
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { INSTALL_SCRIPT, REPO_ROOT, codeServerInstalled } from '../code-server/paths';
import { startCodeServer } from '../code-server/server';
import { writeDemoWorkspace } from './workspace';

export const DEMO_DIR = path.join(REPO_ROOT, '.demo');

export interface StartOptions {
  readonly serve: boolean;
  readonly fresh: boolean;
  readonly build: boolean;
  /** Workspace folder (default .demo/workspace). */
  readonly workspace: string;
  readonly port: number;
}

export function parseStartArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): StartOptions {
  const known = new Set(['--no-serve', '--fresh', '--no-build']);
  let workspace = path.join(DEMO_DIR, 'workspace');
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--workspace') {
      if (!argv[i + 1]) throw new Error('--workspace needs a folder.');
      workspace = path.resolve(argv[++i]);
    } else if (!known.has(a)) {
      throw new Error(`Unknown option '${a}'. Usage: npm start [-- --no-serve] [--fresh] [--no-build] [--workspace DIR]; PORT=8080 sets the port.`);
    }
  }
  const port = Number(env.PORT ?? 8080);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`PORT must be a port number (1-65535); got '${env.PORT}'.`);
  return { serve: !argv.includes('--no-serve'), fresh: argv.includes('--fresh'), build: !argv.includes('--no-build'), workspace, port };
}

const say = (line: string): void => console.log(`[dla-lens demo] ${line}`);

function build(): void {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, ['esbuild.js'], { cwd: REPO_ROOT, stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`The build failed (node esbuild.js exited with ${r.status ?? r.signal}).`);
  say(`Built dist/ in ${((Date.now() - t0) / 1000).toFixed(1)} s.`);
}

function ensureCodeServer(): void {
  if (codeServerInstalled()) return;
  say('code-server is not installed yet: running scripts/code-server/install.sh (once; about 70 s and 300 MB in .tools/, ' +
    'plus a few Debian packages, which needs root or sudo) ...');
  const r = spawnSync('bash', [INSTALL_SCRIPT, '--no-browser'], { cwd: REPO_ROOT, stdio: 'inherit' });
  if (r.status !== 0 || !codeServerInstalled()) {
    throw new Error('Installing code-server failed (see the lines above); run `bash scripts/code-server/install.sh` yourself and then `npm start` again.');
  }
}

/**
 * The extension, unpacked in the extensions folder as `publisher.name-version`: a link to this
 * checkout, so a rebuild (npm run build) shows after a window reload.
 */
function linkExtension(extensionsDir: string): void {
  const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { publisher: string; name: string; version: string };
  fs.mkdirSync(extensionsDir, { recursive: true });
  for (const e of fs.readdirSync(extensionsDir)) {
    if (e.startsWith(`${pkg.publisher}.${pkg.name}-`)) fs.rmSync(path.join(extensionsDir, e), { recursive: true, force: true });
  }
  fs.symlinkSync(REPO_ROOT, path.join(extensionsDir, `${pkg.publisher}.${pkg.name}-${pkg.version}`), 'dir');
}

async function main(): Promise<number> {
  const opts = parseStartArgs(process.argv.slice(2));
  if (opts.build) build();
  say(`Demo workspace: ${opts.workspace}`);
  const ws = await writeDemoWorkspace(opts.workspace, { force: opts.fresh, log: say });
  say(ws.written ? `Wrote the demo workspace in ${(ws.ms / 1000).toFixed(1)} s.` : 'The demo workspace is up to date (--fresh rewrites it).');
  if (!opts.serve) return 0;

  ensureCodeServer();
  const runDir = path.join(DEMO_DIR, 'code-server');
  const extensionsDir = path.join(runDir, 'extensions');
  linkExtension(extensionsDir);
  let server;
  try {
    server = await startCodeServer({
      runDir,
      port: opts.port,
      folder: opts.workspace,
      // The demo's README opens as the start page.
      settings: { 'workbench.colorTheme': 'Default Dark Modern', 'workbench.startupEditor': 'readme' },
    });
  } catch (err) {
    const msg = (err as Error).message;
    if (/EADDRINUSE|address already in use/i.test(msg)) throw new Error(`Port ${opts.port} is in use; choose another with PORT=9000 npm start.`);
    throw err;
  }
  const url = `${server.url}/?folder=${opts.workspace}`;
  console.log('');
  say(`DLA Lens is running in VS Code (code-server) at ${url}`);
  say(`Open it in a browser; ${path.relative(REPO_ROOT, path.join(opts.workspace, 'README.md'))} says what to try. Ctrl-C stops it.`);
  say(`(code-server's log: ${path.relative(REPO_ROOT, server.logFile)})`);
  let stopping = false;
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => {
      stopping = true;
      say('Stopping code-server ...');
    });
  }
  // Ctrl-C: server.ts's handler stops code-server's process group (SIGTERM, then SIGKILL after 3 s)
  // and exits; otherwise code-server died by itself.
  const how = await server.exited;
  if (stopping) {
    say('Stopped.');
    return 0;
  }
  say(`code-server exited by itself (${how}); see ${server.logFile}.`);
  return 1;
}

if (require.main === module) {
  main().then((code) => process.exit(code), (err) => {
    console.error(`[dla-lens demo] ${err instanceof Error ? err.message : err}`);
    process.exit(1);
  });
}
