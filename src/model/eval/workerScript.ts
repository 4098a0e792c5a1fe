import * as fs from 'fs';
import * as path from 'path';
import { Worker } from 'worker_threads';

/**
 * Starts one of the evaluation's worker threads by its file name. Run from the sources (tests,
 * tsx), it is the .ts file here, loaded through tsx, never a build of older sources. Bundled
 * (dist/cli.js, dist/engine.js), the worker is its own bundle beside the caller (dist/<name>.js, an
 * esbuild entry); bundled elsewhere (a test bundle under out/), it is the package's dist/<name>.js.
 */
export function startWorker(name: string): Worker {
  const source = path.join(__dirname, `${name}.ts`);
  if (__filename.endsWith('.ts')) return new Worker(`require('tsx/cjs/api').register(); require(${JSON.stringify(source)});`, { eval: true });
  // Beside the caller first; a Set, as the two are the same file when the caller is in dist/.
  const candidates = [...new Set([path.join(__dirname, `${name}.js`), path.join(packageRoot(__dirname), 'dist', `${name}.js`)])];
  const bundled = candidates.find((f) => fs.existsSync(f));
  if (!bundled) throw new Error(`The worker script ${name} is missing: none of ${candidates.join(', ')} exists (npm run build makes the bundles).`);
  return new Worker(bundled);
}

function packageRoot(dir: string): string {
  for (let d = dir; ; d = path.dirname(d)) {
    if (fs.existsSync(path.join(d, 'package.json'))) return d;
    if (path.dirname(d) === d) return dir;
  }
}
