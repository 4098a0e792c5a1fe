/**
 * Checkpoint-loading benchmark: dla60.pth (88 MB, 380 tensors) read into tensors by our pth reader,
 * file read included, against torch.load of the same file in the same run (Debian's /usr/bin/python3
 * with python3-torch). Prints the median of N runs and the ratio ours / torch. Goal: at most 0.5.
 *
 *   node --import tsx bench/pth-load.ts [--install] [--runs 11]
 *
 * --install: apt-get install python3-torch when `import torch` fails (needs root and a network).
 * Without torch the table holds our figures only.
 */
import { spawnSync } from 'child_process';
import * as path from 'path';
import * as v8 from 'v8';
import * as vm from 'vm';
import { readCheckpoint, readCheckpointAsync } from '../src/model/formats/registry';

const PYTHON = '/usr/bin/python3';
const REFERENCE_DIR = process.env.DLA_LENS_REFERENCE ?? path.resolve(__dirname, '..', '..', 'shared', 'reference');
const FILE = path.join(REFERENCE_DIR, 'dla60.pth');

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${name} expects a positive integer.`);
  return v;
}

const RUNS = option('runs', 11);

/** Collect garbage between runs (outside the timing), as Python frees the previous dict before the next load. */
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

async function timeOurs(load: () => unknown | Promise<unknown>): Promise<number[]> {
  await load(); // warm the page cache and the JIT
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    gc();
    const t0 = performance.now();
    const c = (await load()) as { tensors: Map<string, unknown> };
    times.push(performance.now() - t0);
    if (c.tensors.size !== 380) throw new Error(`Expected 380 tensors in dla60.pth, read ${c.tensors.size}.`);
  }
  return times;
}

const TORCH_SCRIPT = `
import gc, json, sys, time, torch
path, runs = sys.argv[1], int(sys.argv[2])
torch.set_num_threads(1)
sd = torch.load(path, map_location='cpu')
assert len(sd) == 380, len(sd)
times = []
for _ in range(runs):
    del sd
    gc.collect()
    t0 = time.perf_counter()
    sd = torch.load(path, map_location='cpu')
    times.append((time.perf_counter() - t0) * 1000)
print(json.dumps({'version': torch.__version__, 'times': times}))
`;

function torchAvailable(): boolean {
  return spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
}

function ensureTorch(): boolean {
  if (torchAvailable()) return true;
  if (!process.argv.includes('--install')) return false;
  console.log('torch is not importable; installing python3-torch (apt-get) ...');
  const r = spawnSync('sh', ['-c', 'apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y python3-torch'], { stdio: 'inherit' });
  if (r.status !== 0) console.log(`apt-get failed with status ${r.status}.`);
  return torchAvailable();
}

function timeTorch(): { version: string; times: number[] } | undefined {
  if (!ensureTorch()) return undefined;
  const r = spawnSync(PYTHON, ['-c', TORCH_SCRIPT, FILE, String(RUNS)], { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`torch.load benchmark failed:\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as { version: string; times: number[] };
}

function row(name: string, times: number[], reference?: number): string {
  const m = median(times);
  const ratio = reference ? (m / reference).toFixed(2) : '-';
  return `| ${name.padEnd(34)} | ${m.toFixed(1).padStart(9)} | ${Math.min(...times).toFixed(1).padStart(7)} | ${ratio.padStart(11)} |`;
}

async function main(): Promise<void> {
  console.log(`dla60.pth: ${FILE}, median of ${RUNS} runs, file read included, warm page cache.\n`);
  const sync = await timeOurs(() => readCheckpoint(FILE));
  const async_ = await timeOurs(() => readCheckpointAsync(FILE));
  const torch = timeTorch();
  const ref = torch ? median(torch.times) : undefined;
  console.log('| reader                             | median ms | min ms  | ours/torch  |');
  console.log('| ---------------------------------- | --------: | ------: | ----------: |');
  console.log(row('DLA Lens readCheckpoint (sync)', sync, ref));
  console.log(row('DLA Lens readCheckpointAsync', async_, ref));
  if (torch) {
    console.log(row(`torch.load ${torch.version} (1 thread)`, torch.times, ref));
    const best = Math.min(median(sync), median(async_)) / ref!;
    console.log(`\nratio ours/torch: ${best.toFixed(2)} (best of our two paths; goal <= 0.50: ${best <= 0.5 ? 'met' : 'NOT met'})`);
  } else {
    console.log('\ntorch.load: unavailable (python3-torch is not installed; rerun with --install).');
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
