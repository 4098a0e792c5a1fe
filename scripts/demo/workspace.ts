/**
 * The demo workspace `npm start` opens, written entirely by the project's own code (nothing is
 * downloaded or copied from elsewhere):
 *
 * - `dla60_reference.pth`: a deterministic dla60 (synthetic weights, timm's init, BatchNorm
 *   statistics calibrated; src/model/dla/syntheticWeights.ts) saved as torch.save would;
 * - `dla60_paddle_port.pdparams`: that checkpoint through `dla-lens convert` (Paddle names);
 * - `dla60_paddle_port_acts.npz`: what a Paddle port with one porting mistake computes, layer by
 *   layer: the reference weights run with BatchNorm epsilon 1e-3 (the Keras/TF default) instead of
 *   PyTorch's 1e-5 from level3 on, on a seeded 64x64 N(0,1) input stored under `input`;
 * - three images drawn with sharp, for Classify Image;
 * - `.vscode/settings.json` naming the reference as the classification checkpoint, and a README.
 *
 * A stamp file records the recipe; an up-to-date workspace is not rewritten.
 */
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import { encodeTensors, convertFile, writeParts } from '../../src/model/convert';
import { buildModuleTree } from '../../src/model/dla/moduleTree';
import { syntheticInput } from '../../src/model/dla/syntheticWeights';
import { calibratedSyntheticWeights } from '../../src/model/run/calibratedWeights';
import type { GraphVariation } from '../../src/model/dla/graphVariations';
import { variantByName } from '../../src/model/dla/variants';
import { writeNpz } from '../../src/model/formats/npzWriter';
import { forwardTaps } from '../../src/model/run/forward';
import { loadModel } from '../../src/model/run/loadModel';
import { REPO_ROOT } from '../code-server/paths';

export const DEMO_FILES = {
  reference: 'dla60_reference.pth',
  port: 'dla60_paddle_port.pdparams',
  portDump: 'dla60_paddle_port_acts.npz',
  images: ['gradient.png', 'checkerboard.jpg', 'rings.webp'],
} as const;

/** The porting mistake the demo's port carries. */
export const DEMO_MISTAKE: GraphVariation = { kind: 'bn-epsilon', epsilon: 1e-3, at: 'level3' };
/** Where compare must put the first divergence (the first BatchNorm of level3) and the cause it must name. */
export const DEMO_EXPECTED = { firstDivergence: 'level3.tree1.project.1', cause: 'bn-eps' } as const;

const RECIPE = 2;
const SEED = 0;
const DUMP_SIZE = 64;
const STAMP = '.dla-lens-demo.json';

export interface DemoWorkspace {
  readonly dir: string;
  /** False when an up-to-date workspace was found and left alone. */
  readonly written: boolean;
  readonly ms: number;
}

function upToDate(dir: string): boolean {
  try {
    const stamp = JSON.parse(fs.readFileSync(path.join(dir, STAMP), 'utf8')) as { recipe?: number };
    const all = [DEMO_FILES.reference, DEMO_FILES.port, DEMO_FILES.portDump, ...DEMO_FILES.images, 'README.md'];
    return stamp.recipe === RECIPE && all.every((f) => fs.existsSync(path.join(dir, f)));
  } catch {
    return false;
  }
}

export async function writeDemoWorkspace(
  dir: string, opts: { force?: boolean; log?: (line: string) => void } = {},
): Promise<DemoWorkspace> {
  const log = opts.log ?? (() => undefined);
  const t0 = Date.now();
  if (!opts.force && upToDate(dir)) return { dir, written: false, ms: Date.now() - t0 };
  fs.mkdirSync(dir, { recursive: true });
  fs.rmSync(path.join(dir, STAMP), { force: true });

  const tree = buildModuleTree(variantByName('dla60')!);
  log('Drawing synthetic dla60 weights and calibrating their BatchNorm statistics ...');
  const synthetic = await calibratedSyntheticWeights(tree, { seed: SEED });
  const refFile = path.join(dir, DEMO_FILES.reference);
  writeParts(refFile, encodeTensors(synthetic.weights, 'pth', { output: refFile }));
  log(`  ${DEMO_FILES.reference} (${mb(refFile)})`);

  const portFile = path.join(dir, DEMO_FILES.port);
  convertFile(refFile, portFile);
  log(`  ${DEMO_FILES.port} (${mb(portFile)}), converted from the reference by dla-lens convert`);

  // The port's activations: the same weights, one porting mistake, every layer recorded.
  const model = loadModel(refFile);
  const input = syntheticInput(1, DUMP_SIZE, 1234);
  const run = await forwardTaps(model, input, { provider: 'cpu', variations: [DEMO_MISTAKE] });
  const dumpFile = path.join(dir, DEMO_FILES.portDump);
  fs.writeFileSync(dumpFile, writeNpz(run.records));
  log(`  ${DEMO_FILES.portDump} (${mb(dumpFile)}), ${run.records.size} records of the port run on a ${DUMP_SIZE}x${DUMP_SIZE} input`);

  await writeImages(dir);
  log(`  ${DEMO_FILES.images.join(', ')}`);

  fs.mkdirSync(path.join(dir, '.vscode'), { recursive: true });
  fs.writeFileSync(path.join(dir, '.vscode', 'settings.json'), `${JSON.stringify({
    'dlaLens.checkpoint': DEMO_FILES.reference,
    'files.exclude': { [STAMP]: true },
  }, null, 2)}\n`);
  fs.writeFileSync(path.join(dir, 'README.md'), readme(synthetic.description, path.join(REPO_ROOT, 'dist', 'cli.js')));
  fs.writeFileSync(path.join(dir, STAMP), `${JSON.stringify({ recipe: RECIPE, seed: SEED })}\n`);
  return { dir, written: true, ms: Date.now() - t0 };
}

function mb(file: string): string {
  return `${(fs.statSync(file).size / 1e6).toFixed(1)} MB`;
}

/** Three 320x240 pictures from formulas (no photographs to license), one per format the classifier takes. */
async function writeImages(dir: string): Promise<void> {
  const w = 320, h = 240;
  const draw = (f: (x: number, y: number) => [number, number, number]): Buffer => {
    const px = Buffer.alloc(w * h * 3);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) px.set(f(x, y).map((v) => Math.max(0, Math.min(255, Math.round(v)))), (y * w + x) * 3);
    }
    return px;
  };
  const raw = { raw: { width: w, height: h, channels: 3 as const } };
  const gradient = draw((x, y) => [255 * x / w, 255 * y / h, 255 * (1 - x / w)]);
  const checker = draw((x, y) => (((x >> 5) + (y >> 5)) % 2 ? [235, 200, 40] : [30, 60, 160]));
  const rings = draw((x, y) => {
    const r = Math.hypot(x - w / 2, y - h / 2);
    const s = 0.5 + 0.5 * Math.cos(r / 6);
    return [255 * s, 120 + 100 * Math.sin(r / 20), 255 * (1 - s)];
  });
  await sharp(gradient, raw).png().toFile(path.join(dir, DEMO_FILES.images[0]));
  await sharp(checker, raw).jpeg({ quality: 90 }).toFile(path.join(dir, DEMO_FILES.images[1]));
  await sharp(rings, raw).webp({ quality: 90 }).toFile(path.join(dir, DEMO_FILES.images[2]));
}

function readme(weights: string, cli: string): string {
  return `# DLA Lens demo

This folder was written by \`npm start\` (scripts/demo/workspace.ts). Everything in it comes from
DLA Lens's own code; nothing is pretrained, so class names mean nothing here.

| file | what it is |
| --- | --- |
| \`${DEMO_FILES.reference}\` | the reference: a timm \`dla60\` state_dict saved as \`torch.save\` would. ${weights} |
| \`${DEMO_FILES.port}\` | the same weights converted to PaddlePaddle (\`dla-lens convert\`: \`_mean\`/\`_variance\` names, no \`num_batches_tracked\`) |
| \`${DEMO_FILES.portDump}\` | the activations a Paddle port of it computed, every layer, keyed by timm module path, on a ${DUMP_SIZE}x${DUMP_SIZE} N(0,1) input (\`input\`). The port has **one porting mistake** somewhere. |
| \`gradient.png\`, \`checkerboard.jpg\`, \`rings.webp\` | pictures for Classify Image |

## Things to try

1. **Find the porting mistake.** Command Palette (F1) → **DLA: Compare Checkpoints** → reference
   \`${DEMO_FILES.reference}\` → candidate *(none)* or \`${DEMO_FILES.port}\` → activation dump
   \`${DEMO_FILES.portDump}\`. The comparison view opens on the IDA/HDA tree of dla60: the stages
   \`base_layer → level0 … level5 → head\`, each level's tree below it. Nodes are coloured by error
   on a log scale; the **first divergence** is ringed and its path expanded, and the summary names
   the likely cause. (Spoiler: the first BatchNorm of level3, and the cause is a BatchNorm epsilon
   of 1e-3 instead of PyTorch's 1e-5.)
2. **Hover** any node for both sides' statistics and the error metrics; **click** one for
   per-channel errors and value histograms. Switch *Colour by* to *local error (block alone)*: only
   the blocks that add error of their own stay red, not every layer downstream of the mistake.
3. **Check the conversion.** Compare \`${DEMO_FILES.reference}\` with the candidate
   \`${DEMO_FILES.port}\` and no dump: every weight and every layer agree, so the weights were not
   the problem; the port's code was.
4. **Export Report** (palette → DLA: Export Report → HTML): a self-contained page with the same
   tree, the worst layers and the diagnosis, to attach to an issue.
5. **Open a checkpoint**: right-click \`${DEMO_FILES.port}\` → *Open With…* → *DLA Checkpoint*, or
   DLA: Open Checkpoint: variant, parameter count, the module tree, every tensor's statistics on hover.
6. **Classify an image**: right-click \`gradient.png\` → *Classify Image*. It uses
   \`${DEMO_FILES.reference}\` (set in .vscode/settings.json) and shows the top-5, the
   preprocessing, the execution provider and the time taken.

The same from a terminal:

\`\`\`
node ${cli} compare --reference ${DEMO_FILES.reference} --dump ${DEMO_FILES.portDump} --html report.html
\`\`\`
`;
}
