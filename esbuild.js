// One build script, several entries: the CLI, the extension host and its engine process (Node, CJS) and the webview
// (browser, IIFE). Native addons (onnxruntime-node, sharp) cannot be bundled and stay external.
// `--production` minifies and drops sourcemaps (packaging); `--watch` rebuilds on change.
const esbuild = require('esbuild');
const fs = require('fs');

const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');
// `--outdir DIR` (default dist): the packaging script builds its bundles once into a folder of its
// own, so packaging never rewrites the checkout's dist/ under a running test or watch build.
const outIndex = process.argv.indexOf('--outdir');
const outdir = outIndex >= 0 ? process.argv[outIndex + 1] : 'dist';
const external = ['vscode', 'onnxruntime-node', 'sharp'];

const common = { bundle: true, minify: production, sourcemap: !production, logLevel: 'warning' };
const entries = [
  { entryPoints: ['src/model/cli/main.ts'], outfile: `${outdir}/cli.js`, platform: 'node', format: 'cjs',
    target: 'node20', external, banner: { js: '#!/usr/bin/env node' } },
  { entryPoints: ['src/extension/extension.ts'], outfile: `${outdir}/extension.js`, platform: 'node',
    format: 'cjs', target: 'node20', external },
  // The engine process the extension forks: every model call runs there, off the extension host.
  { entryPoints: ['src/engine/worker.ts'], outfile: `${outdir}/engine.js`, platform: 'node',
    format: 'cjs', target: 'node20', external },
  // An evaluation's threads (src/model/eval/workerScript.ts finds them beside cli.js and engine.js).
  { entryPoints: ['src/model/eval/preprocessWorker.ts'], outfile: `${outdir}/preprocessWorker.js`, platform: 'node',
    format: 'cjs', target: 'node20', external },
  { entryPoints: ['src/model/eval/inferenceWorker.ts'], outfile: `${outdir}/inferenceWorker.js`, platform: 'node',
    format: 'cjs', target: 'node20', external },
  { entryPoints: ['src/webview/main.ts'], outfile: `${outdir}/webview.js`, platform: 'browser',
    format: 'iife', target: 'es2022' },
  // The HTML report's page (src/model/compare/htmlReport.ts inlines it into each report): always
  // minified and without a sourcemap, since it travels inside every report file.
  { entryPoints: ['src/webview/report/reportMain.ts'], outfile: `${outdir}/report.js`, platform: 'browser',
    format: 'iife', target: 'es2022', minify: true, sourcemap: false },
].filter((e) => fs.existsSync(e.entryPoints[0]));

// Integration suites run inside the real extension host (code-server or test-electron): one CJS
// file per suite under out/ (never packaged), mocha and vscode left to the host's require.
const suiteDir = 'test/integration/suite';
if (!production && fs.existsSync(suiteDir)) {
  entries.push({
    entryPoints: fs.readdirSync(suiteDir).filter((f) => f.endsWith('.ts')).map((f) => `${suiteDir}/${f}`),
    outdir: 'out/test/integration', platform: 'node', format: 'cjs', target: 'node20',
    external: [...external, 'mocha'],
  });
}

async function main() {
  for (const options of entries) {
    const ctx = await esbuild.context({ ...common, ...options });
    if (watch) await ctx.watch();
    else {
      await ctx.rebuild();
      await ctx.dispose();
    }
  }
  if (fs.existsSync(`${outdir}/cli.js`)) fs.chmodSync(`${outdir}/cli.js`, 0o755);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
