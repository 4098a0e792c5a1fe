import * as fs from 'fs';
import * as path from 'path';
import { UsageError } from '../errors';
import { readCheckpoint } from '../formats/registry';
import { DumpStream } from './dumpStream';
import { inputFromArrays, isImagePath, loadInput, type ModelInput } from '../run/inputSource';
import { loadPreset } from '../run/presetConfig';
import type { Preset } from '../run/preprocess';
import { float32Tensor, formatShape, numel, toFloat32, type Tensor } from '../tensor';

/**
 * Many inputs for one comparison: a folder of images, a list file naming images, or an .npz whose
 * `input` holds a batch (N x 3 x H x W). The set is resolved once into data (the image files, in
 * order; the array's file and count), kept in the report, so that a view re-runs exactly the image
 * it needs and a reopened report finds the same images again. Images are decoded chunk by chunk:
 * only one chunk of inputs is in memory at a time.
 */
export type InputSetSpec =
  | {
    readonly kind: 'images';
    /** The folder or the list file the images were named by. */
    readonly from: string;
    /** Absolute paths, in order. */
    readonly files: readonly string[];
    readonly preset: string;
    readonly presetConfig?: string;
  }
  /** The first `count` images of an .npz/.npy's `input` array (an input file, or the candidate's dump). */
  | { readonly kind: 'batch'; readonly file: string; readonly count: number };

const LIST_EXTENSIONS = new Set(['.txt', '.lst', '.list']);

export function isListPath(p: string): boolean {
  return LIST_EXTENSIONS.has(path.extname(p).toLowerCase());
}

/** Image files of a folder (not its subfolders), sorted by name so every machine takes the same order. */
function folderImages(dir: string): string[] {
  const files = fs.readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isFile() && isImagePath(e.name))
    .map((e) => e.name)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  if (files.length === 0) throw new UsageError(`${dir}: the folder holds no images (.png, .jpg, .jpeg, .webp) to compare on.`);
  return files.map((f) => path.resolve(dir, f));
}

/** A list file: one image path per line, relative to the list's folder; blank lines and '#' comments skipped. */
function listImages(file: string): string[] {
  const dir = path.dirname(path.resolve(file));
  const out: string[] = [];
  fs.readFileSync(file, 'utf8').split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const p = path.resolve(dir, line);
    if (!isImagePath(p)) throw new UsageError(`${file}, line ${i + 1}: expected an image (.png, .jpg, .jpeg, .webp), found '${line}'.`);
    if (!fs.existsSync(p)) throw new UsageError(`${file}, line ${i + 1}: '${line}' does not exist (looked for ${p}).`);
    out.push(p);
  });
  if (out.length === 0) throw new UsageError(`${file}: the list names no images (one path per line, relative to the list's folder).`);
  return out;
}

function limited<T>(xs: readonly T[], limit: number | undefined): T[] {
  return limit === undefined ? [...xs] : xs.slice(0, limit);
}

/**
 * An array file's `input` alone: from an .npz only that entry is read (the file may be a dump of
 * every record of every image), from anything else the whole file.
 */
export function readInputArray(file: string): ModelInput {
  if (!/\.npz$/i.test(file)) return inputFromArrays(file, readCheckpoint(file).tensors);
  const d = DumpStream.open(file);
  try {
    const t = d.get('input');
    return inputFromArrays(file, t ? new Map([['input', t]]) : new Map(d.keys().map((k) => [k, undefined as unknown as Tensor])));
  } finally {
    d.close();
  }
}

/**
 * The set an `--input` names: a folder, a list file, or an array file whose `input` has more than
 * one image; undefined for a single image or a one-image array (the single-input comparison).
 */
export function inputSetFor(input: string, preset: string, presetConfig: string | undefined, limit?: number): InputSetSpec | undefined {
  if (limit !== undefined && !(Number.isInteger(limit) && limit >= 1)) throw new UsageError(`--limit must be a positive integer; got ${limit}.`);
  const stat = fs.statSync(input, { throwIfNoEntry: false });
  if (!stat) throw new UsageError(`${input}: no such file or folder.`);
  const images = (files: string[]): InputSetSpec => ({ kind: 'images', from: input, files: limited(files, limit), preset, ...(presetConfig ? { presetConfig } : {}) });
  if (stat.isDirectory()) return images(folderImages(input));
  if (isListPath(input)) return images(listImages(input));
  if (isImagePath(input)) return undefined;
  const n = readInputArray(input).tensor.shape[0];
  const count = Math.min(n, limit ?? n);
  return n > 1 ? { kind: 'batch', file: input, count } : undefined;
}

/** The name an image goes by in reports: its path relative to the folder or list, or `input[i]`. */
export function imageNames(spec: InputSetSpec): string[] {
  if (spec.kind === 'batch') return Array.from({ length: spec.count }, (_, i) => `input[${i}]`);
  const base = fs.existsSync(spec.from) && fs.statSync(spec.from).isDirectory() ? spec.from : path.dirname(spec.from);
  return spec.files.map((f) => path.relative(path.resolve(base), f).split(path.sep).join('/'));
}

export function setSize(spec: InputSetSpec): number {
  return spec.kind === 'batch' ? spec.count : spec.files.length;
}

/**
 * Reads a set's inputs a chunk at a time. An array file's `input` is read once (a batch of inputs
 * is small next to its activations); images are decoded when their chunk is asked for.
 */
export class InputSet {
  readonly names: readonly string[];
  readonly size: number;
  private array: Float32Array | undefined;
  private arrayShape: readonly number[] | undefined;
  private preset: Preset | string | undefined;
  /** [3, H, W] of every image, fixed by the first one read. */
  private imageShape: readonly number[] | undefined;

  constructor(readonly spec: InputSetSpec) {
    this.names = imageNames(spec);
    this.size = setSize(spec);
  }

  /** What the report says of the input: "12 images from imgs/ (timm)", "input.npz:input[0:32]". */
  get source(): string {
    const s = this.spec;
    return s.kind === 'batch' ? `${s.file}:input[0:${s.count}]` : `${this.size} images from ${s.from} (${s.preset})`;
  }

  private adopt(file: string): void {
    const t = readInputArray(file).tensor;
    if (t.shape[0] < this.size) throw new UsageError(`${file}: 'input' holds ${t.shape[0]} images, fewer than the ${this.size} the comparison was made on.`);
    this.array = toFloat32(t);
    this.arrayShape = t.shape;
  }

  /** One image's input shape [1, 3, H, W] as read so far (undefined before the first read of an image set). */
  get shape(): readonly number[] | undefined {
    if (this.arrayShape) return [1, ...this.arrayShape.slice(1)];
    return this.imageShape ? [1, ...this.imageShape] : undefined;
  }

  /** Images [start, start + count) as one N x 3 x H x W tensor. */
  async chunk(start: number, count: number): Promise<Tensor> {
    const end = Math.min(this.size, start + count);
    if (this.spec.kind === 'batch') {
      if (!this.array) this.adopt(this.spec.file);
      const per = numel(this.arrayShape!.slice(1));
      return float32Tensor([end - start, ...this.arrayShape!.slice(1)], this.array!.subarray(start * per, end * per));
    }
    const spec = this.spec;
    this.preset ??= spec.presetConfig ? loadPreset(spec.preset, spec.presetConfig) : spec.preset;
    const parts: Tensor[] = [];
    for (let i = start; i < end; i++) {
      const t = (await loadInput(spec.files[i], this.preset)).tensor;
      const shape = t.shape.slice(1);
      if (!this.imageShape) this.imageShape = shape;
      else if (shape.join('x') !== this.imageShape.join('x')) {
        throw new UsageError(
          `${spec.files[i]}: comes out of preset '${spec.preset}' as ${formatShape(t.shape)}, but ${spec.files[0]} as ${formatShape([1, ...this.imageShape])}; ` +
            'the images of one comparison must have one size after preprocessing (choose a preset that crops to a fixed size).',
        );
      }
      parts.push(t);
    }
    const per = numel(this.imageShape ?? [0]);
    const data = new Float32Array(parts.length * per);
    parts.forEach((t, i) => data.set(toFloat32(t), i * per));
    return float32Tensor([parts.length, ...(this.imageShape ?? [3, 0, 0])], data);
  }

  /** Image `i` alone, as a model input (for re-running the one image a view asks about). */
  async image(i: number): Promise<ModelInput> {
    if (!(Number.isInteger(i) && i >= 0 && i < this.size)) throw new UsageError(`Image ${i} is not in the comparison's ${this.size} images.`);
    const tensor = await this.chunk(i, 1);
    return { tensor, source: this.spec.kind === 'batch' ? `${this.spec.file}:input[${i}]` : `${this.spec.files[i]} (${this.spec.preset})` };
  }
}
