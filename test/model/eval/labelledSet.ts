import * as fs from 'fs';
import * as path from 'path';
import { classify } from '../../../src/model/run/forward';
import { IMAGENET_CLASSES } from '../../../src/model/run/labels';
import type { LoadedModel } from '../../../src/model/run/loadModel';
import { preprocessImage } from '../../../src/model/run/preprocess';
import type { PreprocessPreset } from '../../../src/model/run/presets';
import { drawImage } from '../../../scripts/fixtures/drawImage';

/**
 * Labelled sets the evaluation tests make: images drawn here (gradients, rectangles, noise, of
 * varied sizes, PNG and JPEG), labelled with the reference model's own top-1 as the per-image
 * classify() computes it (so the expected accuracy is exact), then relabelled on purpose: `second`
 * images get their second-ranked class (a top-1 miss, a top-5 hit), `outside` images a class
 * outside their top-5 (a miss for both). Only images whose top-1 leads the second by a clear
 * margin are kept, so batching (which moves logits in the last float32 bits) cannot flip a top-1.
 */

export interface DrawnImage {
  readonly file: string;
  /** Relative to the set's folder (the list's path, the ImageFolder path). */
  readonly name: string;
  readonly label: number;
  /** The model's own top-5 (per-image classify). */
  readonly top5: readonly number[];
}

const MARGIN = 0.05; // in logits; batched and unbatched logits differ by ~1e-5

/** Whether a top-1 leads its second by the margin, so that batching (or another CPU's kernels) cannot change it. */
export function clearTop1(logits: Float32Array): boolean {
  const sorted = [...logits].sort((a, b) => b - a);
  return sorted[0] - sorted[1] >= MARGIN;
}

/** Draws images until `count` are kept, in `dir/flat/`; returns them labelled with the model's top-1. */
export async function drawLabelledImages(dir: string, count: number, model: LoadedModel, preset: PreprocessPreset, seed = 1): Promise<DrawnImage[]> {
  const flat = path.join(dir, 'flat');
  fs.mkdirSync(flat, { recursive: true });
  const out: DrawnImage[] = [];
  for (let s = seed; out.length < count && s < seed + count * 20; s++) {
    const format = s % 3 === 0 ? 'png' : 'jpeg';
    const name = `img_${String(s).padStart(4, '0')}.${format === 'png' ? 'png' : 'jpg'}`;
    const file = path.join(flat, name);
    const bytes = await drawImage(s, 160 + (s * 37) % 340, 120 + (s * 53) % 260, format);
    fs.writeFileSync(file, bytes);
    const c = await classify(model, (await preprocessImage(new Uint8Array(bytes), file, preset)).input, 5, 'cpu');
    if (!clearTop1(c.logits)) {
      fs.rmSync(file);
      continue;
    }
    out.push({ file, name: `flat/${name}`, label: c.top[0].index, top5: c.top.map((p) => p.index) });
  }
  if (out.length < count) throw new Error(`Only ${out.length} of ${count} drawn images had a clear top-1.`);
  return out;
}

/** The same images with `second` of them labelled with their second class and `outside` with a class outside their top-5. */
export function relabel(images: readonly DrawnImage[], second: readonly number[], outside: readonly number[]): DrawnImage[] {
  return images.map((im, i) => {
    if (second.includes(i)) return { ...im, label: im.top5[1] };
    if (outside.includes(i)) return { ...im, label: [...Array(IMAGENET_CLASSES.length).keys()].find((k) => !im.top5.includes(k))! };
    return im;
  });
}

/** A list file (`path label` lines) over images under `root`. */
export function writeList(file: string, images: readonly DrawnImage[]): void {
  fs.writeFileSync(file, images.map((im) => `${im.name} ${im.label}`).join('\n') + '\n');
}

/** An ImageFolder tree of synset folders (hard links to the drawn files); returns its images in torchvision's order. */
export function writeImageFolder(root: string, images: readonly DrawnImage[]): DrawnImage[] {
  const placed = images.map((im) => {
    const wnid = IMAGENET_CLASSES[im.label].wnid;
    const name = `${wnid}/${path.basename(im.file)}`;
    fs.mkdirSync(path.join(root, wnid), { recursive: true });
    fs.linkSync(im.file, path.join(root, name));
    return { ...im, file: path.join(root, name), name };
  });
  return placed.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
