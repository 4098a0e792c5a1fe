/**
 * End-to-end comparison benchmark: the built CLI as a fresh process, timed wall-clock with its
 * peak RSS (GNU time), against a PyTorch peer doing the same job in the same run, interleaved
 * round by round (a burst of other load then slows both, not one).
 *
 * 1. One input (issue: "two dla60 checkpoints plus a dump at 224x224 in under 3 s, peak memory
 *    under 1.5 GB"): `dla-lens compare --reference dla60.pth --candidate dla60.pdparams --dump
 *    dump.npz` against bench/compare_torch_peer.py (torch.load x2, two hooked forwards, numpy diff).
 * 2. Many inputs (issue 12: "32 images at 224²: wall <= 0.5x the PyTorch peer's, peak RSS at 32
 *    images <= 1.5x that at 1 image"): `dla-lens compare --reference dla60.pth --candidate
 *    dla60.pdparams --input list.txt` on 32 images (crops of probe.png), and on 1, against
 *    bench/compare_batch_torch_peer.py (both models hooked, the same images, per-record max/mean
 *    |a-b| in torch). dla60.pdparams holds dla60.pth's weights, so the pair graph computes the
 *    candidate's layers once (pairGraph.ts); the same 32 images against a candidate whose every
 *    weight differs (by 2^-20 relative) show the cost when nothing is shared.
 *
 * --baseline CLI.js also times another build of the CLI (e.g. the commit before) on case 1 and on
 * one image, checkpoint against checkpoint, in the same rounds: "the 1-input case no slower".
 *
 *   npm run build && node --import tsx bench/compare.ts [--runs 3] [--install] [--cli dist/cli.js] [--baseline old/dist/cli.js] [--only single|batch]
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { readCheckpoint } from '../src/model/formats/registry';
import { writeSafetensors } from '../src/model/formats/write/safetensorsWriter';
import { toFloat32 } from '../src/model/tensor';
import { probeCrops } from '../test/model/compare/probeCrops';

const ROOT = path.resolve(__dirname, '..');
const REF = process.env.DLA_LENS_REFERENCE ?? path.resolve(ROOT, '..', 'shared', 'reference');

const PYTHON = '/usr/bin/python3';
const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
/** The CLI under test: the checkout's build, or another (`--cli`, e.g. one built from a clean `git archive`). */
const CLI = path.resolve(arg('cli') ?? path.join(ROOT, 'dist', 'cli.js'));
const RUNS = Number(arg('runs') ?? 3);
const BASELINE = arg('baseline');
const ONLY = arg('only');
const IMAGES = 32;

function sh(cmd: string, args: string[]): { out: string; err: string; status: number | null } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 256 << 20 });
  return { out: r.stdout, err: r.stderr, status: r.status };
}

/** Wall milliseconds and peak RSS (MB) of one process, from GNU time. */
function timed(cmd: string, args: string[]): { ms: number; peakMb: number; status: number | null; out: string } {
  const r = sh('/usr/bin/time', ['-f', 'TIME %e %M', cmd, ...args]);
  const m = /TIME ([\d.]+) (\d+)/.exec(r.err);
  if (!m) throw new Error(`GNU time printed no figures (is /usr/bin/time installed?): ${r.err.slice(-400)}`);
  return { ms: Number(m[1]) * 1000, peakMb: Number(m[2]) / 1024, status: r.status, out: r.out };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const load = (): string => fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

function hasTorch(): boolean {
  const probe = (): boolean => sh(PYTHON, ['-c', 'import torch, numpy, torchvision, PIL']).status === 0;
  if (probe()) return true;
  if (!process.argv.includes('--install')) return false;
  sh('apt-get', ['update', '-qq']);
  sh('apt-get', ['install', '-y', '-qq', 'python3-torch', 'python3-numpy', 'python3-torchvision', 'python3-pil']);
  return probe();
}

/** A compare run that must pass (exit 0); its report's batch facts when it ran on many inputs. */
function ours(cli: string, args: string[]): { ms: number; peakMb: number; report: { timingsMs: Record<string, number>; batch?: { chunk: number } } } {
  const r = timed(process.execPath, [cli, 'compare', ...args, '--json', '--provider', 'cpu']);
  if (r.status !== 0) throw new Error(`compare ${args.join(' ')} exited ${r.status}; the candidate must pass.`);
  return { ...r, report: JSON.parse(r.out) };
}

interface Series { ms: number[]; peakMb: number[] }
const series = (): Series => ({ ms: [], peakMb: [] });
const add = (s: Series, r: { ms: number; peakMb: number }): void => { s.ms.push(r.ms); s.peakMb.push(r.peakMb); };
const show = (s: Series): string => `median ${median(s.ms).toFixed(0)} ms (min ${Math.min(...s.ms).toFixed(0)}), peak RSS ${Math.max(...s.peakMb).toFixed(0)} MB`;

async function main(): Promise<void> {
  if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first.`);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dla-bench-compare-'));
  const ref = path.join(REF, 'dla60.pth');
  const cand = path.join(tmp, 'dla60.pdparams');
  const dump = path.join(tmp, 'dump224.npz');
  // Setup (not timed): the candidate as Paddle weights, a full dump at 224 from the levels input,
  // 32 images, and a candidate whose every weight differs a little (nothing in common to share).
  for (const args of [['convert', ref, cand], ['run', '--weights', ref, '--input', path.join(REF, 'dla60_levels_224.npz'), '--out', dump]]) {
    const r = sh(process.execPath, [CLI, ...args]);
    if (r.status !== 0) throw new Error(`dla-lens ${args[0]} failed: ${r.err}`);
  }
  const files = await probeCrops(path.join(REF, 'probe.png'), path.join(tmp, 'images'), IMAGES, 12);
  const list = (n: number): string => {
    const f = path.join(tmp, 'images', `list${n}.txt`);
    fs.writeFileSync(f, files.slice(0, n).map((x) => path.basename(x)).join('\n') + '\n');
    return f;
  };
  const [list1, list32] = [list(1), list(IMAGES)];
  const differing = path.join(tmp, 'dla60-differing.safetensors');
  const weights = new Map([...readCheckpoint(ref).tensors].map(([k, t]) => [k, t.dtype === 'float32' ? { ...t, data: Float32Array.from(toFloat32(t), (x) => x * (1 + 2 ** -20)) } : t]));
  fs.writeFileSync(differing, Buffer.concat(writeSafetensors(weights)));
  const torch = hasTorch();
  const single = { ours: series(), peer: [] as number[], baseline: series(), oneImage: series(), oneImageBaseline: series() };
  const batch = { ours: series(), one: series(), differing: series(), noLocal: series(), peer: series() };
  const timings: Record<string, number>[] = [];
  let chunk = 0;

  for (let i = 0; i < RUNS; i++) {
    process.stderr.write(`round ${i + 1}/${RUNS} (load ${load()})\n`);
    if (ONLY !== 'batch') {
      add(single.ours, ours(CLI, ['--reference', ref, '--candidate', cand, '--dump', dump]));
      if (torch) {
        const p = sh(PYTHON, [path.join(ROOT, 'bench', 'compare_torch_peer.py'), ref, ref, dump]);
        if (p.status !== 0) throw new Error(`PyTorch peer failed: ${p.err}`);
        single.peer.push(JSON.parse(p.out).ms);
      }
      if (BASELINE) {
        add(single.baseline, ours(BASELINE, ['--reference', ref, '--candidate', cand, '--dump', dump]));
        add(single.oneImage, ours(CLI, ['--reference', ref, '--candidate', cand, '--input', files[0]]));
        add(single.oneImageBaseline, ours(BASELINE, ['--reference', ref, '--candidate', cand, '--input', files[0]]));
      }
    }
    if (ONLY !== 'single') {
      const r = ours(CLI, ['--reference', ref, '--candidate', cand, '--input', list32]);
      add(batch.ours, r);
      timings.push(r.report.timingsMs);
      chunk = r.report.batch?.chunk ?? 0;
      add(batch.one, ours(CLI, ['--reference', ref, '--candidate', cand, '--input', list1]));
      add(batch.differing, ours(CLI, ['--reference', ref, '--candidate', differing, '--input', list32]));
      // The peer's job only: no local error, no diagnosis.
      add(batch.noLocal, ours(CLI, ['--reference', ref, '--candidate', cand, '--input', list32, '--no-local', '--no-diagnose']));
      if (torch) {
        const p = timed(PYTHON, [path.join(ROOT, 'bench', 'compare_batch_torch_peer.py'), ref, ref, list32, '--chunk', String(chunk || 4)]);
        if (p.status !== 0) throw new Error('PyTorch batch peer failed.');
        add(batch.peer, p);
      }
    }
  }

  const cpus = `${os.cpus().length} cores, ${os.cpus()[0]?.model ?? '?'}, load now ${load()}`;
  if (ONLY !== 'batch') {
    console.log(`\n1. dla-lens compare, dla60 x2 + 224x224 dump, ${RUNS} runs (fresh process each, cpu; ${cpus})`);
    console.log(`  ours: ${show(single.ours)}  [goals: < 3000 ms, < 1536 MB]`);
    if (torch) console.log(`  PyTorch peer (load x2, hooked forwards x2, numpy diff): median ${median(single.peer).toFixed(0)} ms; ratio ours/peer ${(median(single.ours.ms) / median(single.peer)).toFixed(2)}`);
    if (BASELINE) {
      console.log(`  baseline ${BASELINE}: ${show(single.baseline)}; ratio ours/baseline ${(median(single.ours.ms) / median(single.baseline.ms)).toFixed(2)}`);
      console.log(`  one image, checkpoint vs checkpoint: ours ${show(single.oneImage)}; baseline ${show(single.oneImageBaseline)}; ratio ${(median(single.oneImage.ms) / median(single.oneImageBaseline.ms)).toFixed(2)}`);
    }
  }
  if (ONLY !== 'single') {
    console.log(`\n2. dla-lens compare --input LIST, dla60 vs its .pdparams, ${IMAGES} images at 224x224, ${chunk} per run, ${RUNS} runs (${cpus})`);
    console.log(`  ours, ${IMAGES} images: ${show(batch.ours)}`);
    console.log(`  ours, 1 image:    ${show(batch.one)}; peak RSS ${IMAGES} / 1 images: ${(Math.max(...batch.ours.peakMb) / Math.max(...batch.one.peakMb)).toFixed(2)}  [goal <= 1.5]`);
    console.log(`  ours, ${IMAGES} images, every weight differing (nothing shared): ${show(batch.differing)}`);
    console.log(`  ours, ${IMAGES} images, --no-local --no-diagnose (the peer's job only): ${show(batch.noLocal)}`);
    const t = timings[timings.length - 1] ?? {};
    console.log(`  where the time goes (last run, ms): ${Object.entries(t).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(', ')}`);
    if (torch) {
      const p = median(batch.peer.ms);
      console.log(`  PyTorch peer (both hooked, per-record max/mean |a-b| in torch): ${show(batch.peer)}`);
      console.log(`  ratio ours/peer: ${(median(batch.ours.ms) / p).toFixed(2)} [goal <= 0.5]; --no-local --no-diagnose: ${(median(batch.noLocal.ms) / p).toFixed(2)}; nothing shared: ${(median(batch.differing.ms) / p).toFixed(2)}`);
    } else {
      console.log('  PyTorch peer not run: /usr/bin/python3 cannot import torch, torchvision and PIL (pass --install)');
    }
  }
  fs.rmSync(tmp, { recursive: true, force: true });
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
