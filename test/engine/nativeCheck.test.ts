/**
 * checkNativeModules against a real package for another platform: darwin-arm64 staged by the
 * packaging script (scripts/package/stage.ts, the folder vsce packages), with sharp's darwin
 * packages fetched from the npm registry (or npm's cache), and against this checkout.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { after, before, describe, it } from 'node:test';
import { NativeModulesError, checkNativeModules } from '../../src/engine/nativeCheck';
import { stageTarget } from '../../scripts/package/stage';
import { REPO_ROOT } from '../../scripts/package/targets';

const version = (JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const stageDir = path.join(REPO_ROOT, '.test-tmp', 'nativeCheck', 'darwin-arm64');
const here = `${process.platform}-${process.arch}`;

function listing(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true }).map(String).sort();
}

function thrown(fn: () => unknown): NativeModulesError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof NativeModulesError, `expected a NativeModulesError, got ${(e as Error).message}`);
    return e;
  }
  assert.fail('checkNativeModules did not throw');
}

describe('checkNativeModules', { timeout: 180_000 }, () => {
  let checkoutImg: string[];
  let checkoutOrt: string[];

  before(() => {
    checkoutImg = listing(path.join(REPO_ROOT, 'node_modules', '@img'));
    checkoutOrt = listing(path.join(REPO_ROOT, 'node_modules', 'onnxruntime-node', 'bin'));
    // Without the bundles (only vsce needs them): the check reads package.json, dist/target.json and node_modules.
    stageTarget({ target: 'darwin-arm64', stageDir });
  });
  after(() => fs.rmSync(stageDir, { recursive: true, force: true }));

  it('staging another platform leaves the checkout\'s node_modules as it was', () => {
    assert.deepEqual(listing(path.join(REPO_ROOT, 'node_modules', '@img')), checkoutImg);
    assert.deepEqual(listing(path.join(REPO_ROOT, 'node_modules', 'onnxruntime-node', 'bin')), checkoutOrt);
    assert.ok(!checkoutImg.some((f) => f.includes('darwin')), 'the checkout has no darwin @img package');
  });

  it('passes a darwin-arm64 package on darwin-arm64 and says what it checked', () => {
    const r = checkNativeModules(stageDir, 'darwin', 'arm64');
    assert.equal(r.runtime, 'darwin-arm64');
    assert.equal(r.packaged?.target, 'darwin-arm64');
    assert.equal(r.packaged?.version, version);
    assert.ok(r.files.includes('node_modules/onnxruntime-node/bin/napi-v6/darwin/arm64/onnxruntime_binding.node'));
    assert.ok(r.files.includes('node_modules/@img/sharp-darwin-arm64/lib/sharp-darwin-arm64.node'));
  });

  it('names the installed package, the host platform and the .vsix to install instead', () => {
    for (const [os, arch] of [['linux', 'x64'], ['win32', 'x64'], ['linux', 'arm64'], ['win32', 'arm64']]) {
      const e = thrown(() => checkNativeModules(stageDir, os, arch, 'glibc'));
      assert.ok(
        e.message.startsWith(`This DLA Lens package holds the darwin-arm64 binaries, but VS Code runs its extension host on ${os}-${arch}: install dla-lens-${os}-${arch}-${version}.vsix instead`),
        e.message,
      );
      assert.match(e.message, /Remote-SSH, WSL, Dev Containers/);
      assert.ok(e.missing.includes(`node_modules/onnxruntime-node/bin/napi-v6/${os}/${arch}/onnxruntime_binding.node`), e.missing.join(', '));
      assert.equal(e.packaged?.target, 'darwin-arm64');
    }
  });

  it('explains platforms onnxruntime-node has no binaries for (an Intel VS Code on a Mac, 32-bit Windows)', () => {
    const intel = thrown(() => checkNativeModules(stageDir, 'darwin', 'x64'));
    assert.match(intel.message, /extension host on darwin-x64, for which onnxruntime-node ships no binaries/);
    assert.match(intel.message, /Rosetta: install the Apple Silicon \(arm64\) build of VS Code/);
    assert.match(thrown(() => checkNativeModules(stageDir, 'win32', 'ia32')).message, /win32-ia32, for which onnxruntime-node ships no binaries.*darwin-arm64, linux-x64, linux-arm64, win32-x64, win32-arm64/);
  });

  it('refuses musl Linux (Alpine containers), for which neither native module has a build', () => {
    assert.match(thrown(() => checkNativeModules(stageDir, 'linux', 'x64', 'musl')).message, /linux-x64 with musl libc.*glibc builds only/);
  });

  it('calls a package missing one of its own files incomplete, naming the file', () => {
    const lib = path.join(stageDir, 'node_modules', '@img', 'sharp-libvips-darwin-arm64', 'lib');
    const aside = `${lib}.aside`;
    fs.renameSync(lib, aside);
    try {
      const e = thrown(() => checkNativeModules(stageDir, 'darwin', 'arm64'));
      assert.equal(
        e.message,
        `This DLA Lens package (darwin-arm64) is incomplete: 'node_modules/@img/sharp-libvips-darwin-arm64/lib/libvips-cpp.*' are missing from ${stageDir}. Reinstall dla-lens-darwin-arm64-${version}.vsix.`,
      );
    } finally {
      fs.renameSync(aside, lib);
    }
  });

  it('without dist/target.json (a package unpacked by hand), says which platforms the folder holds', () => {
    const file = path.join(stageDir, 'dist', 'target.json');
    fs.renameSync(file, `${file}.aside`);
    try {
      const e = thrown(() => checkNativeModules(stageDir, 'linux', 'x64', 'glibc'));
      assert.match(e.message, /^DLA Lens finds no linux-x64 native modules under .* It holds onnxruntime-node binaries for darwin-arm64 only\. Install the package built for this machine, dla-lens-linux-x64-/);
      assert.equal(e.packaged, undefined);
    } finally {
      fs.renameSync(`${file}.aside`, file);
    }
  });

  it('names a damaged dist/target.json', () => {
    const file = path.join(stageDir, 'dist', 'target.json');
    const good = fs.readFileSync(file);
    try {
      fs.writeFileSync(file, '{"target": "darwin-x64"}');
      assert.throws(() => checkNativeModules(stageDir, 'darwin', 'arm64'), new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} names target "darwin-x64", expected one of`));
      fs.writeFileSync(file, '{"target": ');
      assert.throws(() => checkNativeModules(stageDir, 'darwin', 'arm64'), /target\.json is not valid JSON .*reinstall it/);
    } finally {
      fs.writeFileSync(file, good);
    }
  });

  it('passes this checkout on this machine, and names what a checkout lacks for another platform', (t) => {
    if (!['linux-x64', 'linux-arm64', 'darwin-arm64', 'win32-x64', 'win32-arm64'].includes(here)) return t.skip(`no binaries for ${here}`);
    const r = checkNativeModules(REPO_ROOT);
    assert.equal(r.runtime, here);
    assert.equal(r.packaged, undefined, 'a checkout has no dist/target.json');
    // The checkout has every platform's onnxruntime-node but only this platform's sharp.
    const other = here === 'linux-arm64' ? ['linux', 'x64'] : ['linux', 'arm64'];
    const e = thrown(() => checkNativeModules(REPO_ROOT, other[0], other[1], 'glibc'));
    assert.deepEqual(e.missing, [`node_modules/@img/sharp-${other.join('-')}/package.json`, `node_modules/@img/sharp-${other.join('-')}/lib/sharp-${other.join('-')}.node`, `node_modules/@img/sharp-libvips-${other.join('-')}/package.json`, `node_modules/@img/sharp-libvips-${other.join('-')}/lib/libvips-cpp.*`]);
    assert.match(e.message, new RegExp(`^DLA Lens finds no ${other.join('-')} native modules under .*/libvips-cpp\\.\\*' are missing\\. Install the package built for this machine, dla-lens-${other.join('-')}-${version}\\.vsix`));
  });
});
