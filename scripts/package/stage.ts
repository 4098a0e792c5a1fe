/**
 * A staging folder per target: what vsce packages for that platform and nothing else. It holds the
 * manifest, README, LICENSE, CHANGELOG, media/, the bundles (built once, shared by every target),
 * dist/target.json naming the target, and a node_modules with the two native modules and their
 * dependencies, onnxruntime-node cut down to the target's bin folder, and sharp's prebuilt
 * @img packages for that target: copied from the checkout's node_modules when npm installed them
 * there (the machine's own platform), otherwise fetched with `npm pack` from the npm registry into a
 * temporary folder and unpacked into the staging copy. The checkout's node_modules is only read.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { TARGET_FILE, nativeLayout, type PackagedTarget, type Target } from '../../src/engine/nativeTargets';
import { inspectBinary } from './binaries';
import { NATIVE_PACKAGES, PACKAGE_FILES, REPO_ROOT } from './targets';

export interface StageOptions {
  readonly target: Target;
  /** Emptied and filled. */
  readonly stageDir: string;
  /**
   * The production bundles (esbuild.js --production --outdir DIR), copied into dist/. Without it
   * the folder has no bundles: enough for what checkNativeModules reads, not for vsce.
   */
  readonly bundleDir?: string;
  /** The checkout to package; its node_modules is read, never written. */
  readonly root?: string;
  readonly log?: (line: string) => void;
}

export interface StagedPackage {
  readonly dir: string;
  readonly target: Target;
  /** Packages copied from the checkout's node_modules, by path relative to the staging folder. */
  readonly copied: readonly string[];
  /** `name@version` fetched from the npm registry. */
  readonly fetched: readonly string[];
  /** Files of onnxruntime-node's target folder left out as byte-identical unreferenced copies. */
  readonly dropped: readonly string[];
}

interface Manifest {
  name: string;
  version: string;
  scripts?: Record<string, string>;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  [key: string]: unknown;
}

export function stageTarget(opts: StageOptions): StagedPackage {
  const root = opts.root ?? REPO_ROOT;
  const log = opts.log ?? (() => {});
  const stage = opts.stageDir;
  fs.rmSync(stage, { recursive: true, force: true });
  fs.mkdirSync(stage, { recursive: true });

  const manifest = readJson<Manifest>(path.join(root, 'package.json'));
  // The packaged manifest: no scripts (vsce would run vscode:prepublish in the staging folder, and
  // an installed extension runs none), no devDependencies, and as dependencies only what ships in
  // node_modules: the rest (d3, the toolkit, onnx-proto) is inside the bundles. vsce checks this
  // list against node_modules with `npm list`, so it has to be true.
  const dependencies: Record<string, string> = {};
  for (const name of NATIVE_PACKAGES) {
    const range = manifest.dependencies?.[name];
    if (!range) throw new Error(`package.json has no dependency '${name}', which the bundles leave external and every package ships.`);
    dependencies[name] = range;
  }
  const { scripts: _scripts, devDependencies: _dev, ...rest } = manifest;
  writeJson(path.join(stage, 'package.json'), { ...rest, dependencies });

  for (const f of PACKAGE_FILES) {
    if (!fs.existsSync(path.join(root, f))) throw new Error(`${path.join(root, f)} is missing; every package holds it.`);
    fs.copyFileSync(path.join(root, f), path.join(stage, f));
  }
  fs.cpSync(path.join(root, 'media'), path.join(stage, 'media'), { recursive: true });
  if (opts.bundleDir) {
    fs.cpSync(opts.bundleDir, path.join(stage, 'dist'), { recursive: true, filter: (src) => !src.endsWith('.map') });
    for (const bundle of ['extension.js', 'engine.js', 'preprocessWorker.js', 'inferenceWorker.js', 'webview.js', 'report.js']) {
      if (!fs.existsSync(path.join(stage, 'dist', bundle))) throw new Error(`The bundle ${bundle} is missing from ${opts.bundleDir}; build it with esbuild.js --production --outdir.`);
    }
  }

  const layout = nativeLayout(...splitTarget(opts.target));
  // The target's folder inside the onnxruntime-node package: bin/napi-v6/<os>/<arch>.
  const ortInPackage = layout.onnxruntimeDir.split('/').slice(2).join('/');
  const copied: string[] = [];
  for (const pkg of dependencyClosure(root, NATIVE_PACKAGES)) {
    const dest = path.join(stage, pkg.rel);
    const ortBin = pkg.name === 'onnxruntime-node' ? path.join(pkg.dir, 'bin') : undefined;
    fs.cpSync(pkg.dir, dest, {
      recursive: true,
      filter: (src) => {
        // Nested node_modules come as packages of their own (the closure lists them).
        if (src === path.join(pkg.dir, 'node_modules')) return false;
        // Of onnxruntime-node's bin/napi-v6/<os>/<arch> folders, only the target's.
        if (ortBin && src.startsWith(ortBin + path.sep)) {
          const within = path.relative(pkg.dir, src).split(path.sep).join('/');
          return within === ortInPackage || ortInPackage.startsWith(within + '/') || within.startsWith(ortInPackage + '/');
        }
        return true;
      },
    });
    copied.push(pkg.rel.split(path.sep).join('/'));
  }
  const ortDir = path.join(stage, ...layout.onnxruntimeDir.split('/'));
  if (!fs.existsSync(path.join(ortDir, 'onnxruntime_binding.node'))) {
    throw new Error(`onnxruntime-node in ${root}/node_modules has no ${opts.target} binding (${layout.onnxruntimeDir}/onnxruntime_binding.node).`);
  }
  const dropped = dropUnreferencedCopies(ortDir);
  for (const f of dropped) log(`  ${opts.target}: left out ${f} (a byte-identical copy no binary loads by that name)`);

  // sharp's prebuilt packages for the target, at the versions sharp itself pins.
  const sharp = readJson<Manifest>(path.join(root, 'node_modules', 'sharp', 'package.json'));
  const wanted = [layout.sharpPackage, ...(layout.libvipsPackage ? [layout.libvipsPackage] : [])];
  const toFetch: string[] = [];
  for (const name of wanted) {
    const version = sharp.optionalDependencies?.[name];
    if (!version) throw new Error(`sharp ${sharp.version} lists no optional dependency ${name}; it has no prebuilt package for ${opts.target}.`);
    const local = path.join(root, 'node_modules', ...name.split('/'));
    if (fs.existsSync(path.join(local, 'package.json')) && readJson<Manifest>(path.join(local, 'package.json')).version === version) {
      fs.cpSync(local, path.join(stage, 'node_modules', ...name.split('/')), { recursive: true });
      copied.push(`node_modules/${name}`);
    } else {
      toFetch.push(`${name}@${version}`);
    }
  }
  const fetched = toFetch.length > 0 ? fetchPackages(toFetch, path.join(stage, 'node_modules')) : [];
  for (const spec of fetched) log(`  ${opts.target}: ${spec} from the npm registry`);

  const packaged: PackagedTarget = {
    target: opts.target,
    name: manifest.name,
    version: manifest.version,
    onnxruntimeNode: readJson<Manifest>(path.join(root, 'node_modules', 'onnxruntime-node', 'package.json')).version,
    sharp: sharp.version,
  };
  writeJson(path.join(stage, ...TARGET_FILE.split('/')), packaged);
  return { dir: stage, target: opts.target, copied, fetched, dropped };
}

export function splitTarget(target: string): [string, string] {
  const i = target.indexOf('-');
  return [target.slice(0, i), target.slice(i + 1)];
}

interface ResolvedPackage {
  readonly name: string;
  readonly dir: string;
  /** Relative to the checkout root, e.g. node_modules/sharp or node_modules/a/node_modules/b. */
  readonly rel: string;
}

/**
 * Every package `names` need at run time or for `npm list` to be satisfied, found the way Node
 * resolves them (the nearest node_modules upwards from the requiring package). Optional
 * dependencies are left out: the only ones are sharp's per-platform packages, staged separately.
 */
export function dependencyClosure(root: string, names: readonly string[]): ResolvedPackage[] {
  const found = new Map<string, ResolvedPackage>();
  const visit = (name: string, from: string, requiredBy: string) => {
    const dir = resolvePackage(root, from, name);
    if (!dir) throw new Error(`${requiredBy} needs '${name}', which is not installed under ${root}/node_modules; run npm install.`);
    const rel = path.relative(root, dir);
    if (found.has(rel)) return;
    found.set(rel, { name, dir, rel });
    const pkg = readJson<Manifest>(path.join(dir, 'package.json'));
    for (const dep of Object.keys(pkg.dependencies ?? {})) visit(dep, dir, `${name}@${pkg.version}`);
  };
  for (const name of names) visit(name, root, 'package.json');
  return [...found.values()].sort((a, b) => a.rel.localeCompare(b.rel));
}

function resolvePackage(root: string, from: string, name: string): string | undefined {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (path.basename(dir) !== 'node_modules') {
      const candidate = path.join(dir, 'node_modules', ...name.split('/'));
      if (fs.existsSync(path.join(candidate, 'package.json'))) return candidate;
    }
    if (dir === root || path.dirname(dir) === dir) return undefined;
  }
}

/**
 * npm tarballs cannot hold symlinks, so onnxruntime-node's macOS folder carries its library twice
 * (libonnxruntime.1.dylib and libonnxruntime.1.30.0.dylib, 45 MB each). A file is left out when it
 * is byte-identical to another file here and no binary in the folder loads it by its name.
 */
function dropUnreferencedCopies(dir: string): string[] {
  const files = fs.readdirSync(dir).filter((f) => fs.statSync(path.join(dir, f)).isFile());
  const referenced = new Set<string>(['onnxruntime_binding.node']);
  for (const f of files) {
    try {
      for (const n of inspectBinary(new Uint8Array(fs.readFileSync(path.join(dir, f))), f).needed) referenced.add(n.split('/').pop()!.toLowerCase());
    } catch {
      // Not a binary we read: it stays, and names nothing.
    }
  }
  const dropped: string[] = [];
  for (const f of files) {
    if (referenced.has(f.toLowerCase())) continue;
    const bytes = fs.readFileSync(path.join(dir, f));
    const twin = files.find((g) => g !== f && referenced.has(g.toLowerCase()) && fs.statSync(path.join(dir, g)).size === bytes.length && bytes.equals(fs.readFileSync(path.join(dir, g))));
    if (twin) {
      fs.rmSync(path.join(dir, f));
      dropped.push(f);
    }
  }
  return dropped;
}

/**
 * `npm pack` each spec into a temporary folder (npm checks each tarball's integrity against the
 * registry and keeps it in its own cache, so a second run needs no network), then unpack it as
 * node_modules/<name>. Returns the specs as fetched.
 */
export function fetchPackages(specs: readonly string[], nodeModules: string): string[] {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dla-lens-pack-'));
  try {
    const r = spawnSync('npm', ['pack', ...specs, '--json', '--prefer-offline', '--pack-destination', tmp, '--loglevel=error'], {
      cwd: tmp, encoding: 'utf8', shell: process.platform === 'win32', timeout: 300_000,
    });
    if (r.status !== 0) {
      throw new Error(`npm pack ${specs.join(' ')} failed (${r.status ?? r.signal}); the npm registry must be reachable:\n${r.stderr}`);
    }
    const packed = JSON.parse(r.stdout) as { name: string; version: string; filename: string }[];
    for (const p of packed) {
      const dest = path.join(nodeModules, ...p.name.split('/'));
      fs.rmSync(dest, { recursive: true, force: true });
      fs.mkdirSync(dest, { recursive: true });
      // Every npm tarball keeps its files under package/.
      const t = spawnSync('tar', ['-xzf', path.join(tmp, p.filename), '-C', dest, '--strip-components=1'], { encoding: 'utf8' });
      if (t.status !== 0) throw new Error(`Unpacking ${p.filename} into ${dest} failed: ${t.stderr}`);
    }
    return packed.map((p) => `${p.name}@${p.version}`);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

function readJson<T>(file: string): T {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch (e) {
    throw new Error(`Cannot read ${file}: ${(e as Error).message}`);
  }
}

function writeJson(file: string, value: unknown): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(value, null, 2) + '\n');
}
