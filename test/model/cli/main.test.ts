import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { ROOT, cli } from '../../helpers/cli';

/** The CLI's own face: usage per command, errors that name the command once, and a quiet npx. */
describe('dla-lens', () => {
  const commands = [...cli(['--help']).stdout.matchAll(/^ {2}([a-z]+) {2,}/gm)].map((m) => m[1]);

  test('lists its commands', () => {
    for (const c of ['inspect', 'run', 'preprocess', 'compare', 'classify', 'convert']) assert.ok(commands.includes(c), `${c} in ${commands.join(', ')}`);
  });

  test('<command> --help prints that command\'s usage and exits 0', () => {
    for (const c of commands) {
      const r = cli([c, '--help']);
      assert.equal(r.status, 0, `${c}: ${r.stderr}`);
      assert.match(r.stdout, new RegExp(`^Usage: dla-lens ${c} `, 'm'), c);
      assert.doesNotMatch(r.stdout, /\$\{/, `${c}: an unexpanded template in the usage`);
      assert.equal(r.stderr, '');
    }
  });

  test('an error names the command once', () => {
    for (const [args, what] of [[['compare', '--bogus'], /Unknown option '--bogus'/], [['compare'], /--reference is required/], [['classify', 'x.png'], /--weights/]] as const) {
      const r = cli([...args]);
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, what);
      assert.equal(r.stderr.split(`dla-lens ${args[0]}:`).length - 1, 1, r.stderr);
    }
  });

  test('npx dla-lens prints no npm warning', () => {
    const r = spawnSync('npx', ['--no-install', 'dla-lens', '--help'], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /npm warn/i);
  });
});
