import { spawnSync } from 'child_process';

/**
 * Debian's Python with torch, for the tests of the optional Python helper scripts (never needed by
 * the extension or the CLI). Locally a missing torch skips those tests with this reason; in CI
 * (CI=true, where .ci/run installs python3-torch) it fails them instead, so they cannot silently
 * stop running.
 */
export const PYTHON = process.env.DLA_LENS_PYTHON ?? '/usr/bin/python3';

let cached: boolean | undefined;
export function hasTorch(): boolean {
  cached ??= spawnSync(PYTHON, ['-c', 'import torch, numpy'], { stdio: 'ignore' }).status === 0;
  return cached;
}

/** `skip` option for node:test: false when torch is there or when running in CI. */
export function skipWithoutTorch(): string | false {
  if (hasTorch() || process.env.CI === 'true') return false;
  return `${PYTHON} cannot import torch and numpy (apt-get install python3-torch); CI installs them`;
}

/** The image libraries the preprocessing tests compare against (Debian python3-opencv, -pil, -torchvision). */
export const IMAGE_LIBRARIES = ['cv2', 'PIL', 'torchvision', 'numpy', 'yaml'] as const;

let imageLibraries: boolean | undefined;
/** `skip` option for node:test, as skipWithoutTorch, for the tests that run OpenCV, Pillow and torchvision. */
export function skipWithoutImageLibraries(): string | false {
  imageLibraries ??= spawnSync(PYTHON, ['-c', `import ${IMAGE_LIBRARIES.join(', ')}`], { stdio: 'ignore' }).status === 0;
  if (imageLibraries || process.env.CI === 'true') return false;
  return `${PYTHON} cannot import ${IMAGE_LIBRARIES.join(', ')} (apt-get install python3-opencv python3-pil python3-torchvision python3-yaml); CI installs them`;
}

export function runPython(args: string[], cwd?: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(PYTHON, args, { cwd, encoding: 'utf8', maxBuffer: 64 << 20 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * A timm-style training checkpoint written by real torch: {"epoch", "state_dict", "state_dict_ema",
 * ...extra} where the EMA copy is `weights` with the head (`fc.*`) scaled by `emaHeadScale`, so the
 * two dicts give different logits and a test can tell which one was read.
 */
export function writeTrainingCheckpoint(file: string, weights: string, emaHeadScale: number, extra = ''): void {
  const r = runPython(['-c', [
    'import sys, torch, collections',
    `sd = torch.load(${JSON.stringify(weights)})`,
    `ema = collections.OrderedDict((k, v * ${emaHeadScale} if v.is_floating_point() and k.startswith("fc.") else v) for k, v in sd.items())`,
    `torch.save({"epoch": 9, "state_dict": sd, "state_dict_ema": ema${extra}}, sys.argv[1])`,
  ].join('\n'), file]);
  if (r.status !== 0) throw new Error(`writing ${file} with torch failed: ${r.stderr}`);
}
