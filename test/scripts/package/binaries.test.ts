/**
 * The header reader the package tests rely on, against real binaries of every format: the
 * installed onnxruntime-node carries all five platforms' (ELF, Mach-O, PE; x64 and arm64), and the
 * checkout's own sharp. Where `file` is installed it is asked too, as an independent reading.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { describe, it } from 'node:test';
import { FormatError } from '../../../src/model/errors';
import { inspectBinary, resolveNeeded } from '../../../scripts/package/binaries';
import { REPO_ROOT, TARGETS } from '../../../scripts/package/targets';
import { splitTarget } from '../../../scripts/package/stage';
import { nativeLayout } from '../../../src/engine/nativeTargets';

const FORMAT = { linux: 'elf', darwin: 'macho', win32: 'pe' } as const;
const FILE_SAYS = { x64: /x86-64/, arm64: /aarch64|arm64/i } as const;
const hasFile = spawnSync('file', ['--version']).status === 0;

function read(rel: string): Uint8Array {
  return new Uint8Array(fs.readFileSync(path.join(REPO_ROOT, ...rel.split('/'))));
}

describe('inspectBinary', () => {
  for (const target of TARGETS) {
    const [os, arch] = splitTarget(target);
    const layout = nativeLayout(os, arch);
    it(`reads onnxruntime-node's ${target} binding and library as ${FORMAT[os as keyof typeof FORMAT]} ${arch}, the binding loading the library`, () => {
      const [binding, library] = layout.onnxruntimeFiles;
      const b = inspectBinary(read(binding), binding);
      const l = inspectBinary(read(library), library);
      for (const [f, x] of [[binding, b], [library, l]] as const) {
        assert.deepEqual([x.format, x.os, x.arch], [FORMAT[os as keyof typeof FORMAT], os, arch], f);
        if (hasFile) {
          const said = spawnSync('file', ['-b', path.join(REPO_ROOT, f)], { encoding: 'utf8' }).stdout;
          assert.match(said, FILE_SAYS[arch as keyof typeof FILE_SAYS], `file(1) on ${f}: ${said}`);
        }
      }
      // The binding finds the library beside it by that format's rule.
      const files = new Set(fs.readdirSync(path.join(REPO_ROOT, ...layout.onnxruntimeDir.split('/'))).map((n) => `${layout.onnxruntimeDir}/${n}`));
      const lower = new Set([...files].map((f) => f.toLowerCase()));
      const resolved = resolveNeeded(binding, b, (p) => (os === 'win32' ? lower.has(p.toLowerCase()) : files.has(p)));
      assert.deepEqual(resolved.filter((r) => r.kind === 'package').map((r) => r.kind === 'package' && r.path), [library]);
      assert.deepEqual(resolved.filter((r) => r.kind === 'missing'), []);
    });
  }

  it('reads rpaths: sharp finds libvips two folders up ($ORIGIN/../../sharp-libvips-<os>-<arch>/lib)', (t) => {
    const here = `${process.platform}-${process.arch}`;
    if (process.platform !== 'linux') return t.skip('the checkout holds only its own platform\'s sharp; the ELF case is checked on Linux');
    const layout = nativeLayout(process.platform, process.arch);
    const b = inspectBinary(read(layout.sharpBinding), layout.sharpBinding);
    assert.equal(b.arch, process.arch);
    assert.ok(b.rpaths.includes(`$ORIGIN/../../sharp-libvips-${here}/lib`), b.rpaths.join(' '));
    const libvips = b.needed.find((n) => n.startsWith('libvips-cpp.so'));
    assert.ok(libvips, b.needed.join(' '));
    const expected = `node_modules/${layout.libvipsPackage}/lib/${libvips}`;
    const r = resolveNeeded(layout.sharpBinding, b, (p) => fs.existsSync(path.join(REPO_ROOT, p)));
    assert.deepEqual(r.find((x) => x.name === libvips), { name: libvips, kind: 'package', path: expected });
    // Without libvips in the package, the same lookup is reported missing, not passed as a system library.
    assert.equal(resolveNeeded(layout.sharpBinding, b, () => false).find((x) => x.name === libvips)?.kind, 'missing');
  });

  it('fails with the file and offset on a truncated or foreign file', () => {
    const binding = nativeLayout('linux', 'x64').onnxruntimeFiles[0];
    const elf = read(binding);
    assert.throws(() => inspectBinary(elf.subarray(0, 40), 'cut.node'), (e: Error) => e instanceof FormatError && /cut\.node: An ELF64 header needs 64 bytes; the file has 40/.test(e.message));
    // Program headers cut off: the offset of the read that ran out is named.
    assert.throws(() => inspectBinary(elf.subarray(0, 100), 'short.node'), /short\.node: Expected \d+ more bytes but only \d+ remain.*\(at byte offset \d+\)/);
    const macho = read(nativeLayout('darwin', 'arm64').onnxruntimeFiles[0]).slice(0, 4096);
    new DataView(macho.buffer).setUint32(20, 1 << 30, true); // sizeofcmds beyond the file
    assert.throws(() => inspectBinary(macho, 'big.node'), /big\.node: The load commands claim 1073741824 bytes.*\(at byte offset 20\)/);
    assert.throws(() => inspectBinary(new TextEncoder().encode('#!/bin/sh\n'), 'script.sh'), /script\.sh: Expected an ELF.*but found 23 21 2f 62/);
    const pe = read(nativeLayout('win32', 'x64').onnxruntimeFiles[0]).slice(0, 512);
    new DataView(pe.buffer).setUint32(0x3c, 0x100000, true); // e_lfanew past the end
    assert.throws(() => inspectBinary(pe, 'bad.dll'), /bad\.dll: Offset 1048576 is outside the 512-byte data/);
  });
});
