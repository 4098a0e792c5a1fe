/**
 * Runs the real libraries for the preprocessing tests: scripts/fixtures/make_test_images.py writes
 * the images, scripts/fixtures/preprocess_reference.py puts them through OpenCV, Pillow,
 * torchvision and PaddleClas's ops (Debian's /usr/bin/python3, via test/helpers/python.ts).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { npzReader } from '../../../src/model/formats/npz';
import type { RgbImage } from '../../../src/model/run/decodeImage';
import type { Tensor } from '../../../src/model/tensor';
import { runPython } from '../../helpers/python';

const ROOT = path.resolve(__dirname, '..', '..', '..');

export interface TestImage {
  readonly file: string;
  readonly path: string;
  readonly note: string;
  /** Large enough to go through a whole preset. */
  readonly pipeline: boolean;
}

export function scratchDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function makeTestImages(dir: string): TestImage[] {
  const r = runPython([path.join(ROOT, 'scripts/fixtures/make_test_images.py'), dir]);
  if (r.status !== 0) throw new Error(`make_test_images.py failed (${r.status}):\n${r.stderr}`);
  const manifest: { file: string; note: string; pipeline: boolean }[] = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
  return manifest.map((m) => ({ ...m, path: path.join(dir, m.file) }));
}

export interface ReferenceCase {
  readonly id: string;
  readonly image?: string;
  readonly pipeline: Record<string, unknown>;
}

export interface ReferenceResult {
  readonly ok: boolean;
  readonly channels?: 'rgb' | 'bgr';
  readonly error?: string;
  readonly arrays: ReadonlyMap<string, Tensor>;
}

export interface Reference {
  readonly versions: Record<string, string>;
  readonly results: ReadonlyMap<string, ReferenceResult>;
}

export function runReference(cases: readonly ReferenceCase[], dir: string): Reference {
  fs.mkdirSync(dir, { recursive: true });
  const job = path.join(dir, 'job.json');
  fs.writeFileSync(job, JSON.stringify({ cases }));
  const out = path.join(dir, 'out');
  const r = runPython([path.join(ROOT, 'scripts/fixtures/preprocess_reference.py'), job, out]);
  if (r.status !== 0) throw new Error(`preprocess_reference.py failed (${r.status}):\n${r.stderr}`);
  const summary = JSON.parse(fs.readFileSync(path.join(out, 'results.json'), 'utf8'));
  const results = new Map<string, ReferenceResult>();
  for (const c of cases) {
    const file = path.join(out, `${c.id}.npz`);
    const arrays = npzReader.read(new Uint8Array(fs.readFileSync(file)), file).tensors;
    results.set(c.id, { ...summary.results[c.id], arrays });
  }
  return { versions: summary.versions, results };
}

/** An HxWx3 uint8 array as an image (`bgr`: reorder to RGB). */
export function asImage(t: Tensor, bgr = false): RgbImage {
  const [height, width] = t.shape;
  const data = t.data as Uint8Array;
  if (!bgr) return { width, height, rgb: data };
  const rgb = new Uint8Array(data.length);
  for (let i = 0; i < rgb.length; i += 3) {
    rgb[i] = data[i + 2];
    rgb[i + 1] = data[i + 1];
    rgb[i + 2] = data[i];
  }
  return { width, height, rgb };
}

export interface Difference {
  readonly count: number;
  readonly max: number;
  readonly first: number;
}

export function difference(actual: ArrayLike<number>, expected: ArrayLike<number>): Difference {
  let count = 0;
  let max = 0;
  let first = -1;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    if (d > 0) {
      if (first < 0) first = i;
      count++;
      if (d > max) max = d;
    }
  }
  return { count, max, first };
}
