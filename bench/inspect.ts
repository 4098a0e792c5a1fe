/**
 * How fast the checkpoint editor opens a large checkpoint (issue: "a 215 MB dla169 opens in well
 * under a second"): inspectCheckpoint, which reads the index lazily, against a full read of the same
 * file, on dla169-shaped synthetic weights written as .pth and .safetensors (the same bytes a
 * timm dla169 checkpoint has; no real one may be shipped).
 *
 *   node --import tsx bench/inspect.ts [--runs 5]
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { buildModuleTree } from '../src/model/dla/moduleTree';
import { syntheticWeights } from '../src/model/dla/syntheticWeights';
import { variantByName } from '../src/model/dla/variants';
import { readCheckpoint } from '../src/model/formats/registry';
import { writePth } from '../src/model/formats/write/pthWriter';
import { writeSafetensors } from '../src/model/formats/write/safetensorsWriter';
import { inspectCheckpoint } from '../src/model/inspect';

const i = process.argv.indexOf('--runs');
const RUNS = i >= 0 ? Number(process.argv[i + 1]) : 5;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dla-bench-inspect-'));
try {
  const weights = syntheticWeights(buildModuleTree(variantByName('dla169')!));
  for (const [ext, parts] of [['pth', writePth(weights)], ['safetensors', writeSafetensors(weights)]] as const) {
    const file = path.join(tmp, `dla169.${ext}`);
    fs.writeFileSync(file, Buffer.concat(parts));
    const mb = fs.statSync(file).size / 1e6;
    const lazy: number[] = [];
    const full: number[] = [];
    for (let r = 0; r < RUNS; r++) {
      let t = performance.now();
      const result = inspectCheckpoint(file);
      lazy.push(performance.now() - t);
      if (result.variant !== 'dla169') throw new Error(`inspect says ${result.variant}`);
      t = performance.now();
      readCheckpoint(file);
      full.push(performance.now() - t);
    }
    console.log(`dla169.${ext} (${mb.toFixed(0)} MB): inspect (lazy) median ${median(lazy).toFixed(0)} ms; full read ${median(full).toFixed(0)} ms`);
  }
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}
