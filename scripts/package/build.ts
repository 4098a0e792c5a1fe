/**
 * Builds the platform-specific .vsix files: `npm run package` (this machine's platform) and
 * `npm run package:all` (every platform onnxruntime-node ships binaries for).
 *
 *   node --import tsx scripts/package/build.ts [--all | --target <t> ...] [--out <dir>] [--keep-stage]
 *
 * The production bundles are built once (esbuild.js --production --outdir out/package/bundle, so
 * the checkout's dist/ stays as it is), then each target is staged (stage.ts) and packaged there by
 * `vsce package --target <t>` into <out>/dla-lens-<t>-<version>.vsix (default out: the checkout).
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { isTarget, vsixName } from '../../src/engine/nativeTargets';
import { stageTarget } from './stage';
import { PACKAGE_WORK, REPO_ROOT, SIZE_BUDGET_MB, TARGETS, currentTarget, type Target } from './targets';

export interface BuiltPackage {
  readonly target: Target;
  readonly vsix: string;
  readonly bytes: number;
  readonly seconds: number;
}

export function buildBundles(outDir: string): void {
  fs.rmSync(outDir, { recursive: true, force: true });
  const r = spawnSync(process.execPath, ['esbuild.js', '--production', '--outdir', outDir], { cwd: REPO_ROOT, stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`esbuild.js --production failed (${r.status ?? r.signal}).`);
}

/** vsce package in the staging folder: the manifest there has no scripts, so no prepublish runs. */
export function vscePackage(stageDir: string, target: Target, out: string): void {
  const vsce = path.join(path.dirname(require.resolve('@vscode/vsce/package.json', { paths: [REPO_ROOT] })), 'vsce');
  // --no-rewrite-relative-links: the README's screenshots are packaged (media/screenshots) and
  // shown from the package; rewritten to the repository they would need the network.
  const r = spawnSync(process.execPath, [vsce, 'package', '--target', target, '--no-rewrite-relative-links', '--out', out], {
    cwd: stageDir, encoding: 'utf8',
  });
  const output = `${r.stdout}${r.stderr}`.trim();
  if (r.status !== 0) throw new Error(`vsce package --target ${target} failed in ${stageDir} (${r.status ?? r.signal}):\n${output}`);
  const warnings = output.split('\n').filter((l) => /WARNING/i.test(l));
  for (const w of warnings) console.log(`  ${target}: ${w.trim()}`);
}

export function buildPackages(targets: readonly Target[], outDir = REPO_ROOT, keepStage = false): BuiltPackage[] {
  const manifest = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { name: string; version: string };
  const bundleDir = path.join(PACKAGE_WORK, 'bundle');
  let t0 = Date.now();
  buildBundles(bundleDir);
  console.log(`bundles built once in ${((Date.now() - t0) / 1000).toFixed(1)} s (${bundleDir})`);
  const built: BuiltPackage[] = [];
  for (const target of targets) {
    t0 = Date.now();
    const stageDir = path.join(PACKAGE_WORK, target);
    stageTarget({ target, stageDir, bundleDir, log: console.log });
    const vsix = path.join(outDir, vsixName(manifest.name, target, manifest.version));
    vscePackage(stageDir, target, vsix);
    if (!keepStage) fs.rmSync(stageDir, { recursive: true, force: true });
    const pkg = { target, vsix, bytes: fs.statSync(vsix).size, seconds: (Date.now() - t0) / 1000 };
    built.push(pkg);
    const budget = SIZE_BUDGET_MB[target];
    const over = pkg.bytes > budget * 1e6 ? `  OVER the ${budget} MB budget` : ` (budget ${budget} MB)`;
    console.log(`${path.basename(vsix)}: ${(pkg.bytes / 1e6).toFixed(1)} MB in ${pkg.seconds.toFixed(1)} s${over}`);
  }
  return built;
}

function main(argv: string[]): void {
  const targets: Target[] = [];
  let outDir = REPO_ROOT;
  let keepStage = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--all') targets.push(...TARGETS);
    else if (a === '--target') {
      const t = argv[++i] ?? '';
      if (!isTarget(t)) throw new Error(`--target ${t || '(nothing)'}: expected one of ${TARGETS.join(', ')}.`);
      targets.push(t);
    } else if (a === '--out') outDir = path.resolve(argv[++i] ?? '.');
    else if (a === '--keep-stage') keepStage = true;
    else throw new Error(`Unknown argument ${a}. Usage: build.ts [--all | --target <${TARGETS.join('|')}> ...] [--out DIR] [--keep-stage]`);
  }
  const t0 = Date.now();
  const built = buildPackages(targets.length > 0 ? [...new Set(targets)] : [currentTarget()], outDir, keepStage);
  console.log(`${built.length} package(s) in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

if (require.main === module) {
  try {
    main(process.argv.slice(2));
  } catch (e) {
    console.error((e as Error).message);
    process.exit(1);
  }
}
