/**
 * Where the real-VS-Code tooling lives. install.sh puts code-server under .tools/ (override with
 * DLA_TOOLS_DIR, as install.sh does) and Chromium comes from Debian.
 */
import * as fs from 'fs';
import * as path from 'path';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');
export const TOOLS_DIR = process.env.DLA_TOOLS_DIR ?? path.join(REPO_ROOT, '.tools');
export const CODE_SERVER_ENTRY = path.join(TOOLS_DIR, 'code-server', 'node_modules', 'code-server', 'out', 'node', 'entry.js');
export const CHROMIUM = process.env.DLA_CHROMIUM ?? '/usr/bin/chromium';
/** Scratch space of test runs (gitignored); each run gets its own subfolder. */
export const TEST_TMP = path.join(REPO_ROOT, '.test-tmp');

export const INSTALL_SCRIPT = path.join(REPO_ROOT, 'scripts', 'code-server', 'install.sh');

export function codeServerInstalled(): boolean {
  return fs.existsSync(CODE_SERVER_ENTRY);
}

/** Fails early, with the command that fixes it, when install.sh has not been run. */
export function assertToolsInstalled(what: { browser?: boolean } = {}): void {
  const missing: string[] = [];
  if (!codeServerInstalled()) missing.push(`code-server (expected ${CODE_SERVER_ENTRY})`);
  if (what.browser !== false && !fs.existsSync(CHROMIUM)) missing.push(`Chromium (expected ${CHROMIUM})`);
  if (missing.length > 0) {
    throw new Error(`Missing ${missing.join(' and ')}. Run \`bash scripts/code-server/install.sh\` (as root, once) first.`);
  }
}
