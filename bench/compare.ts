/**
 * End-to-end comparison benchmark (issue: "two dla60 checkpoints plus a dump at 224x224 in under
 * 3 s, peak memory under 1.5 GB"): the built CLI `dla-lens compare --reference dla60.pth
 * --candidate dla60.pdparams --dump dump.npz` as a fresh process, timed wall-clock with its peak
 * RSS (GNU time), against a PyTorch peer doing the same job in the same run
 * (bench/compare_torch_peer.py: torch.load x2, two hooked forwards, numpy diff of every record).
 *
 *   npm run build && node --import tsx bench/compare.ts [--runs 5] [--install]
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '..');
const REF = process.env.DLA_LENS_REFERENCE ?? path.resolve(ROOT, '..', 'shared', 'reference');
const CLI = path.join(ROOT, 'dist', 'cli.js');
const PYTHON = '/usr/bin/python3';
const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg >= 0 ? Number(process.argv[runsArg + 1]) : 5;

function sh(cmd: string, args: string[]): { out: string; err: string; status: number | null } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 256 << 20 });
  return { out: r.stdout, err: r.stderr, status: r.status };
}

/** Wall seconds and peak RSS (MB) of one process, from GNU time. */
function timed(cmd: string, args: string[]): { ms: number; peakMb: number; status: number | null } {
  const r = sh('/usr/bin/time', ['-f', 'TIME %e %M', cmd, ...args]);
  const m = /TIME ([\d.]+) (\d+)/.exec(r.err);
  if (!m) throw new Error(`GNU time printed no figures (is /usr/bin/time installed?): ${r.err.slice(-400)}`);
  return { ms: Number(m[1]) * 1000, peakMb: Number(m[2]) / 1024, status: r.status };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function hasTorch(): boolean {
  if (sh(PYTHON, ['-c', 'import torch, numpy']).status === 0) return true;
  if (!process.argv.includes('--install')) return false;
  sh('apt-get', ['update', '-qq']);
  sh('apt-get', ['install', '-y', '-qq', 'python3-torch', 'python3-numpy']);
  return sh(PYTHON, ['-c', 'import torch, numpy']).status === 0;
}

function main(): void {
  if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first.`);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dla-bench-compare-'));
  const ref = path.join(REF, 'dla60.pth');
  const cand = path.join(tmp, 'dla60.pdparams');
  const dump = path.join(tmp, 'dump224.npz');
  // Setup (not timed): the candidate as Paddle weights, and a full dump at 224 from the levels input.
  for (const args of [['convert', ref, cand], ['run', '--weights', ref, '--input', path.join(REF, 'dla60_levels_224.npz'), '--out', dump]]) {
    const r = sh(process.execPath, [CLI, ...args]);
    if (r.status !== 0) throw new Error(`dla-lens ${args[0]} failed: ${r.err}`);
  }
  const ours: { ms: number; peakMb: number }[] = [];
  const peer: number[] = [];
  const torch = hasTorch();
  for (let i = 0; i < RUNS; i++) {
    const r = timed(process.execPath, [CLI, 'compare', '--reference', ref, '--candidate', cand, '--dump', dump, '--json', '--provider', 'cpu']);
    if (r.status !== 0) throw new Error(`compare exited ${r.status}; the identical candidate must pass.`);
    ours.push(r);
    if (torch) {
      const p = sh(PYTHON, [path.join(ROOT, 'bench', 'compare_torch_peer.py'), ref, ref, dump]);
      if (p.status !== 0) throw new Error(`PyTorch peer failed: ${p.err}`);
      peer.push(JSON.parse(p.out).ms);
    }
  }
  const ms = median(ours.map((r) => r.ms));
  const peak = Math.max(...ours.map((r) => r.peakMb));
  console.log(`dla-lens compare, dla60 x2 + 224x224 dump, ${RUNS} runs (fresh process each, cpu, ${os.cpus().length} cores)`);
  console.log(`  wall median ${ms.toFixed(0)} ms (min ${Math.min(...ours.map((r) => r.ms)).toFixed(0)}), peak RSS ${peak.toFixed(0)} MB  [goals: < 3000 ms, < 1536 MB]`);
  if (torch) {
    const p = median(peer);
    console.log(`  PyTorch peer (load x2, hooked forwards x2, numpy diff): median ${p.toFixed(0)} ms; ratio ours/peer ${(ms / p).toFixed(2)}`);
  } else {
    console.log('  PyTorch peer not run: /usr/bin/python3 cannot import torch (pass --install)');
  }
  fs.rmSync(tmp, { recursive: true, force: true });
}

main();
