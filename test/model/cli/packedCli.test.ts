import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import { ROOT } from '../../helpers/cli';
import { referencePath } from '../../helpers/reference';

/**
 * The CLI as `npm pack` ships it (README, "The CLI alone"): exactly the files the tarball lists,
 * in a folder of their own (node_modules linked in, as npm would install them), must run every
 * command, eval's worker threads included: they are bundles of their own beside dist/cli.js.
 */
describe('the packed CLI', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dla-packed-'));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  const pack = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts', '--loglevel=error'], { cwd: ROOT, encoding: 'utf8' });
  const files: string[] = pack.status === 0 ? (JSON.parse(pack.stdout) as { files: { path: string }[] }[])[0].files.map((f) => f.path) : [];
  const installed = path.join(tmp, 'dla-lens');
  for (const f of files) {
    fs.mkdirSync(path.dirname(path.join(installed, f)), { recursive: true });
    fs.copyFileSync(path.join(ROOT, f), path.join(installed, f));
  }
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(installed, 'node_modules'));
  const run = (args: string[]) => spawnSync(process.execPath, [path.join(installed, 'dist', 'cli.js'), ...args], { cwd: tmp, encoding: 'utf8' });

  test('npm pack lists the CLI, its worker bundles and the report page', () => {
    assert.equal(pack.status, 0, pack.stderr);
    for (const f of ['dist/cli.js', 'dist/preprocessWorker.js', 'dist/inferenceWorker.js', 'dist/report.js', 'media/report.css']) {
      assert.ok(files.includes(f), `${f} is in the tarball: ${files.join(', ')}`);
    }
    assert.ok(!files.some((f) => f.startsWith('src/') || f.endsWith('.map')), 'no sources or sourcemaps');
  });

  test('eval runs from the packed files', () => {
    const folder = path.join(tmp, 'val', 'n01440764');
    fs.mkdirSync(folder, { recursive: true });
    fs.copyFileSync(referencePath('probe.png'), path.join(folder, 'probe.png'));
    const r = run(['eval', '--weights', referencePath('dla46_c.pth'), '--folder', path.dirname(folder), '--provider', 'cpu', '--json']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).count, 1);
  });
});
