/**
 * `npm start -- --no-serve`: the demo workspace is written by the script itself (a child process,
 * as npm runs it), and the porting mistake planted in it is found where it was planted and named:
 * the first BatchNorm of level3, BatchNorm epsilon. The converted .pdparams agrees with the
 * reference everywhere. (Serving is covered by the code-server suites; this runs under
 * `node scripts/test.js demo`.)
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { describe, test } from 'node:test';
import { compare } from '../../src/model/compare/compare';
import { REPO_ROOT, TEST_TMP } from '../../scripts/code-server/paths';
import { parseStartArgs } from '../../scripts/demo/start';
import { DEMO_EXPECTED, DEMO_FILES } from '../../scripts/demo/workspace';

const dir = path.join(TEST_TMP, 'demo-workspace');

function start(...args: string[]): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/demo/start.ts', '--no-serve', '--no-build', '--workspace', dir, ...args], {
    cwd: REPO_ROOT, encoding: 'utf8',
  });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('npm start -- --no-serve: the demo workspace', () => {
  test('options: --no-serve, PORT, unknown flags refused', () => {
    assert.equal(parseStartArgs([], {}).port, 8080);
    assert.equal(parseStartArgs([], {}).serve, true);
    assert.equal(parseStartArgs(['--no-serve'], { PORT: '9001' }).port, 9001);
    assert.equal(parseStartArgs(['--no-serve'], {}).serve, false);
    assert.throws(() => parseStartArgs(['--serve'], {}), /Unknown option '--serve'/);
    assert.throws(() => parseStartArgs([], { PORT: 'http' }), /PORT must be a port number/);
  });

  test('is written by the script, then left alone while up to date', () => {
    fs.rmSync(dir, { recursive: true, force: true });
    const t0 = Date.now();
    const first = start();
    const ms = Date.now() - t0;
    assert.equal(first.status, 0, first.out);
    console.log(`  demo workspace written in ${(ms / 1000).toFixed(1)} s (process included)`);
    for (const f of [DEMO_FILES.reference, DEMO_FILES.port, DEMO_FILES.portDump, ...DEMO_FILES.images, 'README.md', '.vscode/settings.json']) {
      assert.ok(fs.existsSync(path.join(dir, f)), `${f} missing`);
    }
    const readme = fs.readFileSync(path.join(dir, 'README.md'), 'utf8');
    assert.match(readme, /DLA: Compare Checkpoints/);
    const second = start();
    assert.equal(second.status, 0, second.out);
    assert.match(second.out, /up to date/);
  });

  test('compare finds the planted mistake at the first BatchNorm of level3 and names it bn-eps', async () => {
    const { report } = await compare({
      reference: path.join(dir, DEMO_FILES.reference), dump: path.join(dir, DEMO_FILES.portDump), provider: 'cpu',
    });
    assert.equal(report.reference.variant, 'dla60');
    assert.equal(report.firstDivergence, DEMO_EXPECTED.firstDivergence);
    assert.ok(report.layers.filter((l) => l.name.startsWith('level2')).every((l) => l.diff.pass), 'level2 passes');
    assert.equal(report.diagnosis[0]?.cause, DEMO_EXPECTED.cause, JSON.stringify(report.diagnosis));
  });

  test('the converted .pdparams agrees with the reference: every weight identical, every layer within tolerance', async () => {
    const { report } = await compare({
      reference: path.join(dir, DEMO_FILES.reference), candidate: path.join(dir, DEMO_FILES.port), provider: 'cpu', seed: 0, local: false,
    });
    assert.equal(report.firstDivergence, null);
    assert.ok(report.weights);
    assert.equal(report.weights.missing.length, 0);
    assert.ok(report.weights.compared.every((w) => w.identical));
  });
});
