import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';

/**
 * The layer rules of the architecture, read off every import of src/:
 * - model never imports vscode, the engine, the extension or the webview; inside it, formats knows
 *   no architecture (dla, run, compare) and dla knows no runtime (run, onnxruntime);
 * - the engine never imports vscode, the extension or the webview;
 * - the extension reaches the model only through the engine (it imports engine/ and shared/);
 * - the webview depends only on its own code and the page protocols in shared/;
 * - shared/ imports only shared/ (both the host and a page run it).
 */
const SRC = path.resolve(__dirname, '..', 'src');

function files(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? files(p) : e.name.endsWith('.ts') ? [p] : [];
  });
}

interface Import { readonly file: string; readonly spec: string; readonly target: string }

/** Every import and require of a file: its specifier and, for relative ones, the src/-relative path it names. */
function importsOf(file: string): Import[] {
  const text = fs.readFileSync(file, 'utf8');
  const out: Import[] = [];
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)[^'";]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|require\(\s*['"]([^'"]+)['"]\s*\)/g)) {
    const spec = m[1] ?? m[2] ?? m[3];
    const target = spec.startsWith('.') ? path.relative(SRC, path.resolve(path.dirname(file), spec)).split(path.sep).join('/') : spec;
    out.push({ file: path.relative(SRC, file).split(path.sep).join('/'), spec, target });
  }
  return out;
}

const all = files(SRC).flatMap(importsOf);
const under = (prefix: string) => all.filter((i) => i.file.startsWith(prefix));
const violations = (list: Import[], bad: (i: Import) => boolean) => list.filter(bad).map((i) => `${i.file} imports '${i.spec}'`);

test('the import graph follows the layer rules', () => {
  assert.ok(all.length > 300, `only ${all.length} imports found: is the scan broken?`);
  const layer = (t: string) => t.split('/')[0];
  const problems = [
    ...violations(under('model/'), (i) => i.target === 'vscode' || ['engine', 'extension', 'webview'].includes(layer(i.target))),
    ...violations(under('model/formats/'), (i) => /^model\/(dla|run|compare|eval|cli)\//.test(i.target)),
    ...violations(under('model/dla/'), (i) => /^model\/(run|compare|eval|cli)\//.test(i.target) || i.target === 'onnxruntime-node' || i.target === 'sharp'),
    ...violations(under('engine/'), (i) => i.target === 'vscode' || ['extension', 'webview'].includes(layer(i.target))),
    ...violations(under('extension/'), (i) => layer(i.target) === 'model' || i.target === 'onnxruntime-node' || i.target === 'sharp'),
    ...violations(under('webview/'), (i) => i.spec.startsWith('.') && !['webview', 'shared'].includes(layer(i.target))),
    ...violations(under('webview/'), (i) => !i.spec.startsWith('.') && !['d3', '@vscode/webview-ui-toolkit'].includes(i.spec)),
    ...violations(under('shared/'), (i) => !(i.spec.startsWith('.') && layer(i.target) === 'shared')),
  ];
  assert.deepEqual(problems, []);
});
