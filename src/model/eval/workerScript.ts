import * as fs from 'fs';
import * as path from 'path';
import { Worker } from 'worker_threads';

/**
 * Starts one of the evaluation's worker threads by its file name. Bundled (dist/cli.js,
 * dist/engine.js), the worker is its own bundle beside the caller (dist/<name>.js, an esbuild
 * entry); run from the sources (tests, tsx), it is the .ts file here, loaded through tsx.
 */
export function startWorker(name: string): Worker {
  const bundled = path.join(__dirname, `${name}.js`);
  if (fs.existsSync(bundled)) return new Worker(bundled);
  const source = path.join(__dirname, `${name}.ts`);
  if (!fs.existsSync(source)) throw new Error(`The worker script ${name} is missing: neither ${bundled} nor ${source} exists.`);
  return new Worker(`require('tsx/cjs/api').register(); require(${JSON.stringify(source)});`, { eval: true });
}
