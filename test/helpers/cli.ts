import { spawnSync } from 'child_process';
import * as path from 'path';

export const ROOT = path.resolve(__dirname, '..', '..');

/** Runs `dla-lens` from source (tsx), or the built dist/cli.js when `built`. */
export function cli(args: string[], built = false): { status: number | null; stdout: string; stderr: string } {
  const argv = built ? [path.join(ROOT, 'dist', 'cli.js'), ...args] : ['--import', 'tsx', path.join(ROOT, 'src', 'model', 'cli', 'main.ts'), ...args];
  const r = spawnSync(process.execPath, argv, { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 << 20 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
