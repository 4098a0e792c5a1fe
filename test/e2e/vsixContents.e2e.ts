/**
 * Every platform's .vsix as `npm run package:all` leaves it (read with the project's own zip
 * reader): its manifest names its target, it holds exactly that platform's onnxruntime-node folder
 * (byte for byte the installed package's) and sharp's @img packages for it, no native binary of any
 * other OS or CPU (every file is sniffed, whatever its name), every library those binaries load is
 * in the package or the OS, it stays within the size budget the README states, and unpacked it
 * passes checkNativeModules for its own platform and names itself when checked for another one.
 * The binaries of other platforms cannot run here; their headers are what this machine can check.
 * Run with `npm run test:vsix` (packages first); DLA_VSIX_DIR names another folder of .vsix files.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';
import { after, before, describe, it } from 'node:test';
import { checkNativeModules } from '../../src/engine/nativeCheck';
import { nativeLayout, vsixName, type PackagedTarget } from '../../src/engine/nativeTargets';
import { readZip, type ZipArchive } from '../../src/model/formats/zip';
import { inspectBinary, resolveNeeded, type NativeBinary } from '../../scripts/package/binaries';
import { splitTarget } from '../../scripts/package/stage';
import { NATIVE_PACKAGES, REPO_ROOT, SIZE_BUDGET_MB, TARGETS, type Target } from '../../scripts/package/targets';

const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
  name: string; version: string; publisher: string; icon: string; repository: { url: string }; dependencies: Record<string, string>;
};
const sharpPins = (JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'node_modules', 'sharp', 'package.json'), 'utf8')) as {
  optionalDependencies: Record<string, string>;
}).optionalDependencies;
const vsixDir = process.env.DLA_VSIX_DIR ?? REPO_ROOT;
// Outside the checkout, so that nothing missing from a package can be found in the checkout's node_modules.
const unpackRoot = path.join(os.tmpdir(), `dla-lens-vsix-contents-${process.pid}`);
const PREFIX = 'extension/';
const bundles = new Map<string, Map<string, number>>();

/** The packaged files, without the `extension/` prefix vsce puts them under. */
function packagedFiles(zip: ZipArchive): Map<string, { crc32: number; size: number; name: string }> {
  const files = new Map<string, { crc32: number; size: number; name: string }>();
  for (const e of zip.entries) {
    if (e.name.startsWith(PREFIX)) files.set(e.name.slice(PREFIX.length), { crc32: e.crc32 >>> 0, size: e.uncompressedSize, name: e.name });
  }
  return files;
}

function crcOf(file: string): number {
  return zlib.crc32(fs.readFileSync(file)) >>> 0;
}

/** Top-level packages of node_modules/: `sharp`, `@img/colour`. */
function packagesIn(files: Iterable<string>): string[] {
  const names = new Set<string>();
  for (const f of files) {
    const m = /^node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(f);
    if (m) names.add(m[1]);
  }
  return [...names].sort();
}

for (const target of TARGETS) {
  const [platform, arch] = splitTarget(target);
  const layout = nativeLayout(platform, arch);
  const file = path.join(vsixDir, vsixName(pkg.name, target, pkg.version));

  describe(path.basename(file), () => {
    let zip: ZipArchive;
    let files: ReturnType<typeof packagedFiles>;
    const data = (p: string) => zip.entryData(zip.get(PREFIX + p)!);

    before(() => {
      assert.ok(fs.existsSync(file), `${file} is missing: run \`npm run package:all\` first (npm run test:vsix does).`);
      zip = readZip(new Uint8Array(fs.readFileSync(file)), file);
      files = packagedFiles(zip);
    });

    it(`names ${target} in extension.vsixmanifest and in dist/target.json`, () => {
      const manifest = new TextDecoder().decode(zip.entryData(zip.get('extension.vsixmanifest')!));
      const identity = /<Identity\b[^>]*\/>/.exec(manifest)?.[0] ?? '';
      assert.match(identity, new RegExp(`TargetPlatform="${target}"`), `extension.vsixmanifest's Identity: ${identity}`);
      assert.match(identity, new RegExp(`Id="${pkg.name}" Version="${pkg.version}" Publisher="${pkg.publisher}"`));
      const packaged = JSON.parse(new TextDecoder().decode(data('dist/target.json'))) as PackagedTarget;
      assert.equal(packaged.target, target);
      assert.equal(packaged.version, pkg.version);
    });

    it(`holds exactly ${layout.onnxruntimeDir}/, byte for byte the installed onnxruntime-node's`, () => {
      const prefix = `${layout.onnxruntimeDir}/`;
      const ortFiles = [...files.keys()].filter((f) => f.startsWith('node_modules/onnxruntime-node/bin/'));
      assert.deepEqual(ortFiles.filter((f) => !f.startsWith(prefix)), [], 'onnxruntime-node files of another platform');
      for (const required of layout.onnxruntimeFiles) assert.ok(files.has(required), `${required} is missing`);
      const installedDir = path.join(REPO_ROOT, ...layout.onnxruntimeDir.split('/'));
      const installed = fs.readdirSync(installedDir);
      for (const f of ortFiles) {
        const name = f.slice(prefix.length);
        assert.ok(installed.includes(name), `${f} is not in the installed onnxruntime-node`);
        assert.equal(files.get(f)!.crc32, crcOf(path.join(installedDir, name)), `${f} differs from the installed file`);
      }
      // A file of the installed folder may be left out only as an identical copy nothing loads by name.
      const loaded = new Set(ortFiles.flatMap((f) => (isBinary(data(f)) ? inspectBinary(data(f), f).needed : [])).map((n) => n.split('/').pop()!.toLowerCase()));
      for (const name of installed.filter((n) => !files.has(prefix + n))) {
        const crc = crcOf(path.join(installedDir, name));
        assert.ok(ortFiles.some((f) => files.get(f)!.crc32 === crc), `${name} was left out but has no identical copy in the package`);
        assert.ok(!loaded.has(name.toLowerCase()), `${name} was left out but a packaged binary loads it`);
      }
    });

    it(`holds sharp's prebuilt packages for ${target} at the versions sharp pins, and no other platform's`, () => {
      const img = [layout.sharpPackage, ...(layout.libvipsPackage ? [layout.libvipsPackage] : [])];
      assert.deepEqual(
        packagesIn(files.keys()),
        ['@img/colour', ...img, 'detect-libc', 'onnxruntime-common', 'onnxruntime-node', 'semver', 'sharp'].sort(),
        'node_modules holds the two native modules, their run-time dependencies and this platform\'s @img packages only',
      );
      for (const name of img) {
        const manifest = JSON.parse(new TextDecoder().decode(data(`node_modules/${name}/package.json`))) as { version: string; os: string[]; cpu: string[] };
        assert.equal(manifest.version, sharpPins[name], `${name}'s version`);
        assert.deepEqual([manifest.os, manifest.cpu], [[platform], [arch]], `${name}'s os/cpu`);
      }
      assert.ok(files.has(layout.sharpBinding), `${layout.sharpBinding} is missing`);
    });

    it(`holds no binary of another OS or CPU, and every library its binaries load is in the package or ${platform}'s`, () => {
      const lower = new Set([...files.keys()].map((f) => f.toLowerCase()));
      const exists = platform === 'win32' ? (p: string) => lower.has(p.toLowerCase()) : (p: string) => files.has(p);
      const binaries: [string, NativeBinary][] = [];
      for (const f of files.keys()) {
        const bytes = data(f);
        if (isBinary(bytes)) binaries.push([f, inspectBinary(bytes, f)]);
      }
      const vcRuntime = new Set<string>();
      for (const [f, b] of binaries) {
        assert.deepEqual([b.os, b.arch], [platform, arch], `${f} is a ${b.os}-${b.arch} ${b.format} binary`);
        for (const r of resolveNeeded(f, b, exists)) {
          assert.notEqual(r.kind, 'missing', `${f} loads ${r.name}, which is neither in the package nor a ${platform} system library`);
          if (r.kind === 'vc-runtime') vcRuntime.add(r.name.toLowerCase());
        }
      }
      // onnxruntime.dll needs the Visual C++ runtime, which the README tells Windows users to install.
      if (platform === 'win32') assert.ok(vcRuntime.has('msvcp140.dll') && vcRuntime.has('vcruntime140.dll'), [...vcRuntime].join(', '));
      // The two bindings, the ONNX Runtime library, libvips (inside sharp's package on Windows).
      assert.ok(binaries.length >= 4, `only ${binaries.map(([f]) => f).join(', ')}`);
      const names = binaries.map(([f]) => f.replace(/^.*\//, ''));
      assert.ok(names.includes('onnxruntime_binding.node') && names.some((n) => /^sharp-.*\.node$/.test(n)), names.join(', '));
    });

    it(`is within the ${SIZE_BUDGET_MB[target]} MB budget the README states`, () => {
      const mb = fs.statSync(file).size / 1e6;
      console.log(`  ${path.basename(file)}: ${mb.toFixed(1)} MB, ${files.size} files`);
      assert.ok(mb <= SIZE_BUDGET_MB[target], `${mb.toFixed(1)} MB is over the ${SIZE_BUDGET_MB[target]} MB budget`);
      const readme = fs.readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
      const row = new RegExp(`\\|\\s*\`${target}\`\\s*\\|[^\\n]*\\|\\s*${SIZE_BUDGET_MB[target]} MB\\s*\\|`);
      assert.ok(row.test(readme), `the README's package table has no row for \`${target}\` ending in its budget, ${SIZE_BUDGET_MB[target]} MB`);
    });

    it('carries the marketplace metadata: license, icon, changelog, repository, extensionKind workspace', () => {
      for (const f of ['LICENSE.txt', 'changelog.md', 'readme.md', pkg.icon]) assert.ok(files.has(f), `${f} is missing`);
      const icon = data(pkg.icon);
      // PNG, 128×128 (the IHDR's width and height, big-endian, at bytes 16 and 20).
      const view = new DataView(icon.buffer, icon.byteOffset, icon.byteLength);
      assert.deepEqual([view.getUint32(0), view.getUint32(16), view.getUint32(20)], [0x89504e47, 128, 128]);
      const manifest = JSON.parse(new TextDecoder().decode(data('package.json'))) as Record<string, unknown>;
      assert.deepEqual(manifest.extensionKind, ['workspace']);
      assert.equal((manifest.repository as { url: string }).url, pkg.repository.url);
      assert.equal(manifest.scripts, undefined, 'the packaged manifest carries no scripts');
      assert.deepEqual(Object.keys(manifest.dependencies as object).sort(), [...NATIVE_PACKAGES].sort());
      const vsixManifest = new TextDecoder().decode(zip.entryData(zip.get('extension.vsixmanifest')!));
      assert.match(vsixManifest, /<License>extension\/LICENSE\.txt<\/License>/);
      assert.match(vsixManifest, /Microsoft\.VisualStudio\.Code\.ExtensionKind" Value="workspace"/);
      assert.ok(!files.has('dist/cli.js') && ![...files.keys()].some((f) => f.endsWith('.map') || f.startsWith('src/')), 'no CLI, sourcemaps or sources');
      const js = [...files.keys()].filter((f) => /^dist\/[^/]+\.js$/.test(f)).sort();
      for (const b of ['dist/extension.js', 'dist/engine.js', 'dist/preprocessWorker.js', 'dist/inferenceWorker.js', 'dist/webview.js', 'dist/report.js']) assert.ok(js.includes(b), `${b} is missing`);
      bundles.set(target, new Map(js.map((b) => [b, files.get(b)!.crc32])));
    });

    describe('unpacked', () => {
      const dir = path.join(unpackRoot, target);
      before(() => {
        fs.rmSync(dir, { recursive: true, force: true });
        for (const [f, e] of files) {
          const out = path.join(dir, ...f.split('/'));
          fs.mkdirSync(path.dirname(out), { recursive: true });
          fs.writeFileSync(out, zip.entryData(zip.get(e.name)!));
        }
      });
      after(() => fs.rmSync(unpackRoot, { recursive: true, force: true }));

      it(`passes checkNativeModules on ${target}, and on any other platform names the package to install`, () => {
        assert.equal(checkNativeModules(dir, platform, arch, 'glibc').runtime, target);
        const other: Target = target === 'linux-x64' ? 'darwin-arm64' : 'linux-x64';
        assert.throws(() => checkNativeModules(dir, ...splitTarget(other), 'glibc'), (e: Error) => {
          assert.ok(e.message.startsWith(`This DLA Lens package holds the ${target} binaries, but VS Code runs its extension host on ${other}: install ${vsixName(pkg.name, other, pkg.version)}`), e.message);
          return true;
        });
      });

      // Only this machine's platform can be run; the others are checked by their headers above.
      if (target === `${process.platform}-${process.arch}`) it('loads onnxruntime-node and sharp from the unpacked package', () => {
        const probe = `const ort = require(${JSON.stringify(path.join(dir, 'node_modules', 'onnxruntime-node'))});` +
          `const sharp = require(${JSON.stringify(path.join(dir, 'node_modules', 'sharp'))});` +
          `sharp({ create: { width: 2, height: 2, channels: 3, background: '#102030' } }).raw().toBuffer().then((b) => ` +
          `console.log(JSON.stringify({ backends: ort.listSupportedBackends().map((x) => x.name), pixel: [...b.subarray(0, 3)], loaded: Object.keys(require.cache) })));`;
        const r = spawnSync(process.execPath, ['-e', probe], { encoding: 'utf8', cwd: dir });
        assert.equal(r.status, 0, r.stderr);
        const out = JSON.parse(r.stdout) as { backends: string[]; pixel: number[]; loaded: string[] };
        assert.deepEqual(out.loaded.filter((f) => !f.startsWith(dir + path.sep)), [], 'every module came from the package');
        assert.ok(out.loaded.some((f) => f.endsWith(`sharp-${target}.node`)) && out.loaded.some((f) => f.endsWith('onnxruntime_binding.node')), out.loaded.join('\n'));
        assert.ok(out.backends.includes('cpu'), r.stdout);
        assert.deepEqual(out.pixel, [0x10, 0x20, 0x30]);
      });
    });
  });
}

describe('all packages', () => {
  it('hold the same bundles (built once)', () => {
    const [first, ...rest] = [...bundles.entries()];
    assert.equal(bundles.size, TARGETS.length, 'every package was read');
    for (const [target, crcs] of rest) assert.deepEqual(crcs, first[1], `${target}'s bundles differ from ${first[0]}'s`);
  });
});

function isBinary(b: Uint8Array): boolean {
  return b.length >= 4 && (
    (b[0] === 0x7f && b[1] === 0x45 && b[2] === 0x4c && b[3] === 0x46) || // ELF
    (b[0] === 0xcf && b[1] === 0xfa && b[2] === 0xed && b[3] === 0xfe) || // Mach-O 64
    (b[0] === 0xca && b[1] === 0xfe && b[2] === 0xba && b[3] === 0xbe) || // Mach-O universal (inspectBinary refuses it)
    (b[0] === 0x4d && b[1] === 0x5a && b[2] === 0x90) // PE ("MZ" and the usual DOS stub byte)
  );
}
