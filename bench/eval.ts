/**
 * The evaluation benchmark (issue: "dla-lens eval against a PyTorch peer doing the same work on the
 * same ~100 ImageNet-sized JPEGs"): the built CLI `dla-lens eval --folder DIR --weights dla60.pth`
 * as a fresh process, wall clock and peak RSS from GNU time, against bench/eval_torch_peer.py in
 * the same run (torchvision ImageFolder, timm's eval transforms, a DataLoader with workers, timm's
 * DLA in plain torch), both on the CPU. Then ours on 200 and 2,000 images for the memory goal.
 *
 * The images are drawn (scripts/fixtures/drawImage.ts): JPEGs of ImageNet's typical sizes
 * (500x375, 375x500, 500x333, 333x500), in synset folders labelled with dla60's own predictions.
 *
 *   npm run build && node --import tsx bench/eval.ts [--runs 3] [--images 100] [--batch 16]
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { drawImage } from '../scripts/fixtures/drawImage';
import { classify } from '../src/model/run/forward';
import { IMAGENET_CLASSES } from '../src/model/run/labels';
import { loadModel } from '../src/model/run/loadModel';
import { preprocessImage } from '../src/model/run/preprocess';

const ROOT = path.resolve(__dirname, '..');
const REF = process.env.DLA_LENS_REFERENCE ?? path.resolve(ROOT, '..', 'shared', 'reference');
const CLI = path.join(ROOT, 'dist', 'cli.js');
const PYTHON = '/usr/bin/python3';
const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const RUNS = arg('--runs', 3);
const IMAGES = arg('--images', 100);
const BATCH = arg('--batch', 16);
const SIZES = [[500, 375], [375, 500], [500, 333], [333, 500]] as const;

function timed(cmd: string, args: string[]): { ms: number; peakMb: number; out: string; err: string } {
  const r = spawnSync('/usr/bin/time', ['-f', 'TIME %e %M', cmd, ...args], { encoding: 'utf8', maxBuffer: 256 << 20 });
  const m = /TIME ([\d.]+) (\d+)\s*$/.exec(r.stderr);
  if (r.status !== 0 || !m) throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.status}): ${r.stderr.slice(-600)}`);
  return { ms: Number(m[1]) * 1000, peakMb: Number(m[2]) / 1024, out: r.stdout, err: r.stderr };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** `count` drawn JPEGs in synset folders (labelled with dla60's own top-1), and a 2,000-image set of links to them. */
async function makeSets(dir: string, count: number): Promise<{ folder: string; files: readonly string[]; large: (n: number) => string }> {
  const model = loadModel(path.join(REF, 'dla60.pth'));
  const folder = path.join(dir, 'val');
  const files: { file: string; wnid: string }[] = [];
  for (let s = 0; s < count; s++) {
    const [w, h] = SIZES[s % SIZES.length];
    const bytes = await drawImage(1000 + s, w, h, 'jpeg');
    const tmpFile = path.join(dir, `draw_${s}.jpg`);
    fs.writeFileSync(tmpFile, bytes);
    const x = (await preprocessImage(new Uint8Array(bytes), tmpFile, 'timm')).input;
    const wnid = IMAGENET_CLASSES[(await classify(model, x, 1, 'cpu')).top[0].index].wnid;
    fs.mkdirSync(path.join(folder, wnid), { recursive: true });
    const file = path.join(folder, wnid, `ILSVRC2012_val_${String(s).padStart(8, '0')}.JPEG`);
    fs.renameSync(tmpFile, file);
    files.push({ file, wnid });
  }
  const large = (n: number): string => {
    const out = path.join(dir, `val_${n}`);
    if (fs.existsSync(out)) return out;
    for (let k = 0; k < n; k++) {
      const { file, wnid } = files[k % files.length];
      fs.mkdirSync(path.join(out, wnid), { recursive: true });
      fs.linkSync(file, path.join(out, wnid, `copy_${String(k).padStart(6, '0')}.JPEG`));
    }
    return out;
  };
  return { folder, files: files.map((f) => f.file), large };
}

/**
 * Decoding + preprocessing the set on this thread with nothing else running (warmed by a first
 * pass): its cost without the cores it shares with onnxruntime during the run, where a worker's
 * own clock also counts the time it waits to be scheduled.
 */
async function preprocessAlone(files: readonly string[]): Promise<number> {
  const pass = async (): Promise<number> => {
    const t0 = performance.now();
    for (const f of files) await preprocessImage(new Uint8Array(fs.readFileSync(f)), f, 'timm');
    return performance.now() - t0;
  };
  await pass();
  return pass();
}

interface Ours { ms: number; peakMb: number; top1: number; correct1: number; count: number; ips: number; preprocess: number; wait: number; loop: number }

function runOurs(folder: string, limit?: number): Ours {
  const r = timed(process.execPath, [CLI, 'eval', '--weights', path.join(REF, 'dla60.pth'), '--folder', folder, '--json', '--provider', 'cpu',
    '--batch', String(BATCH), ...(limit ? ['--limit', String(limit)] : [])]);
  const j = JSON.parse(r.out);
  return {
    ms: r.ms, peakMb: r.peakMb, top1: j.top1, correct1: j.correct1, count: j.count, ips: j.imagesPerSecond,
    preprocess: j.timingsMs.preprocess, wait: j.timingsMs.waitForImages, loop: j.timingsMs.loop,
  };
}

async function main(): Promise<void> {
  if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first.`);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dla-bench-eval-'));
  try {
    const t0 = Date.now();
    const { folder, files, large } = await makeSets(tmp, IMAGES);
    console.log(`${IMAGES} JPEGs drawn and labelled in ${((Date.now() - t0) / 1000).toFixed(0)} s (not timed); ${os.cpus().length} cores, batch ${BATCH}`);
    const ours: Ours[] = [];
    const peer: { ms: number; peakMb: number; correct1: number; ips: number }[] = [];
    for (let i = 0; i < RUNS; i++) {
      ours.push(runOurs(folder));
      const p = timed(PYTHON, [path.join(ROOT, 'bench', 'eval_torch_peer.py'), folder, path.join(REF, 'dla60.pth'), '--batch', String(BATCH), '--workers', '2', '--threads', String(os.cpus().length)]);
      const j = JSON.parse(p.out);
      peer.push({ ms: p.ms, peakMb: p.peakMb, correct1: j.correct1, ips: j.imagesPerSecond });
    }
    const o = median(ours.map((r) => r.ms)), q = median(peer.map((r) => r.ms));
    const best = ours.find((r) => r.ms === o)!;
    console.log(`dla-lens eval, dla60, ${IMAGES} images, fresh process, ${RUNS} runs`);
    console.log(`  ours: wall median ${o.toFixed(0)} ms, ${median(ours.map((r) => r.ips)).toFixed(1)} img/s in the loop, peak RSS ${Math.max(...ours.map((r) => r.peakMb)).toFixed(0)} MB, top-1 ${best.correct1}/${best.count}`);
    console.log(`  PyTorch peer (ImageFolder + DataLoader(2 workers) + eager): wall median ${q.toFixed(0)} ms, ${median(peer.map((r) => r.ips)).toFixed(1)} img/s, top-1 ${peer[0].correct1}/${best.count}`);
    console.log(`  ratio ours/peer ${(o / q).toFixed(2)}  [goal <= 0.6]; same top-1: ${peer.every((p) => p.correct1 === best.correct1)}`);
    console.log(`  decode + preprocess: ${(best.preprocess / 1000).toFixed(2)} s of worker time (${(100 * best.preprocess / best.ms).toFixed(0)}% of the wall); ` +
      `the model waited ${(best.wait / 1000).toFixed(2)} s for images (${(100 * best.wait / best.ms).toFixed(0)}% of the wall)  [goal <= 20%]`);
    const alone = await preprocessAlone(files);
    console.log(`  decode + preprocess alone on one idle core: ${(alone / 1000).toFixed(2)} s, ${(alone / IMAGES).toFixed(1)} ms per image (${(100 * alone / o).toFixed(0)}% of our median wall)`);
    const small = runOurs(large(2000), 200);
    const big = runOurs(large(2000));
    console.log(`  peak RSS at 200 images ${small.peakMb.toFixed(0)} MB, at 2000 ${big.peakMb.toFixed(0)} MB: ${(100 * (big.peakMb / small.peakMb - 1)).toFixed(1)}%  [goal within 10%]`);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
