import * as fs from 'fs';
import * as path from 'path';
import { UsageError } from '../errors';
import { IMAGENET_CLASSES } from '../run/labels';

/**
 * Labelled image sets, in the two layouts porters have:
 * - a list file, the seed notebook's (and PaddleClas's) format: `relative/path label` per line, the
 *   label an integer class index, paths relative to a root folder;
 * - an ImageFolder tree (torchvision.datasets.ImageFolder): one folder per class under the root.
 *   Folder names that are all ImageNet WordNet ids (`n01440764`, …) map to the standard ImageNet-1k
 *   index (the wnids are in sorted order, so this is also what sorted folders give for the full
 *   set); any other names are indexed in sorted order as ImageFolder does (Python's sorted: by
 *   code point), so a subset of synset folders keeps the model's class indices.
 * The order of the images is the order torchvision and the seed notebook iterate: the list's lines;
 * for a folder, classes sorted, then os.walk of each class folder sorted, files sorted.
 */

export interface LabelledImage {
  /** The image file, absolute. */
  readonly file: string;
  /** As the dataset names it (the list's path, or class/file for a folder): for reports and the predictions file. */
  readonly name: string;
  readonly label: number;
}

export interface Dataset {
  /** How the set was given, for reports: "val_list.txt (root /data/val)", "/data/val (ImageFolder)". */
  readonly source: string;
  readonly images: readonly LabelledImage[];
  /** The class names by index where the layout gives them (a folder's class folders). */
  readonly classNames?: ReadonlyMap<number, string>;
  /** How folder names became class indices. */
  readonly labelling: 'list' | 'imagenet-synsets' | 'sorted-folders';
}

/** torchvision's IMG_EXTENSIONS: what ImageFolder counts as an image. */
const IMG_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.ppm', '.bmp', '.pgm', '.tif', '.tiff', '.webp'];
const WNID = /^n\d{8}$/;
const IMAGENET_INDEX = new Map(IMAGENET_CLASSES.map((c) => [c.wnid, c.index]));

/** Python's sorted() on str: by code point (JS's default sort compares UTF-16 units, which differs above U+FFFF). */
export function byCodePoint(a: string, b: string): number {
  const x = [...a], y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i].codePointAt(0)! - y[i].codePointAt(0)!;
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

/**
 * A list file: each non-empty line `path label`, the label the last whitespace-separated field (so
 * a path may hold spaces). Lines starting with '#' are comments. A bad line is an error naming the
 * file and the line, never skipped.
 */
export function listDataset(listFile: string, root: string): Dataset {
  if (!fs.existsSync(root) || !fs.statSync(root).isDirectory()) {
    throw new UsageError(`--root ${root}: not a folder; the paths in ${listFile} are relative to it.`);
  }
  const text = fs.readFileSync(listFile, 'utf8');
  const images: LabelledImage[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const m = /^(.*\S)\s+(-?\d+)$/.exec(line);
    if (!m) {
      throw new UsageError(`${listFile}:${i + 1}: expected 'relative/path label' (an integer label last), found '${truncate(line)}'.`);
    }
    const label = Number(m[2]);
    if (label < 0) throw new UsageError(`${listFile}:${i + 1}: the label ${label} is negative; class indices start at 0.`);
    const name = m[1];
    images.push({ file: path.resolve(root, name), name, label });
  });
  if (images.length === 0) throw new UsageError(`${listFile}: no 'path label' lines.`);
  return { source: `${listFile} (root ${root})`, images, labelling: 'list' };
}

/** An ImageFolder tree: class folders under `root`, images anywhere below each (symlinks followed). */
export function folderDataset(root: string): Dataset {
  if (!fs.existsSync(root) || !fs.statSync(root).isDirectory()) throw new UsageError(`--folder ${root}: not a folder.`);
  const classes = fs.readdirSync(root, { withFileTypes: true })
    .filter((e) => e.isDirectory() || (e.isSymbolicLink() && fs.statSync(path.join(root, e.name)).isDirectory()))
    .map((e) => e.name)
    .sort(byCodePoint);
  if (classes.length === 0) {
    throw new UsageError(`${root}: no class folders. An ImageFolder layout has one folder per class (n01440764/…, or any names), images inside.`);
  }
  const synsets = classes.every((c) => WNID.test(c) && IMAGENET_INDEX.has(c));
  const indexOf = new Map(classes.map((c, i) => [c, synsets ? IMAGENET_INDEX.get(c)! : i]));
  const images: LabelledImage[] = [];
  for (const c of classes) {
    for (const file of walkSorted(path.join(root, c))) {
      if (IMG_EXTENSIONS.includes(path.extname(file).toLowerCase())) {
        images.push({ file, name: path.relative(root, file).split(path.sep).join('/'), label: indexOf.get(c)! });
      }
    }
  }
  if (images.length === 0) throw new UsageError(`${root}: the class folders hold no images (${IMG_EXTENSIONS.join(' ')}).`);
  return {
    source: `${root} (ImageFolder, ${classes.length} classes)`,
    images,
    classNames: new Map(classes.map((c) => [indexOf.get(c)!, c])),
    labelling: synsets ? 'imagenet-synsets' : 'sorted-folders',
  };
}

/**
 * The files of `top` in torchvision's make_dataset order: `for root, _, fnames in
 * sorted(os.walk(top, followlinks=True)): for fname in sorted(fnames)`. sorted() orders the walk's
 * (root, dirs, files) tuples by their root path string, so 'x-y' comes before 'x/z'.
 */
function walkSorted(top: string): string[] {
  const roots: { root: string; files: string[] }[] = [];
  const seen = new Set<string>();
  const visit = (dir: string): void => {
    const real = fs.realpathSync(dir);
    if (seen.has(real)) return; // a symlink cycle (os.walk would loop; we stop)
    seen.add(real);
    const entries = fs.readdirSync(dir, { withFileTypes: true });
    const isDir = (e: fs.Dirent) => e.isDirectory() || (e.isSymbolicLink() && safeIsDir(path.join(dir, e.name)));
    roots.push({ root: dir, files: entries.filter((e) => !isDir(e)).map((e) => e.name) });
    for (const e of entries) if (isDir(e)) visit(path.join(dir, e.name));
  };
  visit(top);
  roots.sort((a, b) => byCodePoint(a.root, b.root));
  return roots.flatMap((r) => r.files.sort(byCodePoint).map((f) => path.join(r.root, f)));
}

function safeIsDir(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function truncate(s: string): string {
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/** The first `limit` images (in the dataset's order), or all. */
export function limited(d: Dataset, limit: number | undefined): Dataset {
  return limit === undefined || limit >= d.images.length ? d : { ...d, images: d.images.slice(0, limit) };
}
