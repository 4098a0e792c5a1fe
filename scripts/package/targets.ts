/**
 * What packaging needs to know per target beyond where the binaries sit (src/engine/nativeTargets):
 * the size budget each .vsix must stay within, and the folders the scripts work in.
 * The budgets are stated in the README's table too; test/e2e/vsixContents.e2e.ts checks both.
 */
import * as path from 'path';
import { TARGETS, isTarget, type Target } from '../../src/engine/nativeTargets';

export { TARGETS, type Target };

/**
 * Largest .vsix per target, in MB (10^6 bytes): what the bundles and that platform's binaries
 * measured at onnxruntime-node 1.30 / sharp 0.34.5, plus about 20% for growth. A package over its
 * budget means something of another platform, or a whole dependency, came along.
 */
export const SIZE_BUDGET_MB: Record<Target, number> = {
  'darwin-arm64': 28, // measured 22.8
  'linux-x64': 33, // 27.6
  'linux-arm64': 25, // 20.4
  'win32-x64': 48, // 39.5 (DirectML.dll and the D3D shader compiler WebGPU uses ship with onnxruntime)
  'win32-arm64': 48, // 39.9
};

/** The two modules the bundles leave external (esbuild.js `external`), shipped in node_modules. */
export const NATIVE_PACKAGES = ['onnxruntime-node', 'sharp'] as const;

/** Files of the checkout every package holds besides dist/, media/ and node_modules/. */
export const PACKAGE_FILES = ['README.md', 'LICENSE', 'CHANGELOG.md', '.vscodeignore'] as const;

export const REPO_ROOT = path.resolve(__dirname, '..', '..');
/** Scratch space of packaging (gitignored out/): the bundles, one staging folder per target. */
export const PACKAGE_WORK = path.join(REPO_ROOT, 'out', 'package');

/** The target of the machine running this: what `npm run package` builds. */
export function currentTarget(): Target {
  const t = `${process.platform}-${process.arch}`;
  if (!isTarget(t)) {
    throw new Error(`There is no DLA Lens package for ${t} (onnxruntime-node ships binaries for ${TARGETS.join(', ')}); pass --target or --all.`);
  }
  return t;
}
