/**
 * What a native library is, read from its headers: the OS format (ELF, Mach-O, PE), the CPU it was
 * built for, and the libraries it loads by name. The package tests use it to check the binaries of
 * platforms this machine cannot run (a darwin-arm64 .vsix built on Linux): each one must be for its
 * package's OS and CPU, and every library it loads that is not the system's must be in the package.
 * Only the header fields that answer those questions are read, each checked against the file size.
 */
import { FormatError } from '../../src/model/errors';
import { BinaryReader, utf8 } from '../../src/model/formats/binaryReader';

export interface NativeBinary {
  readonly format: 'elf' | 'macho' | 'pe';
  readonly os: 'linux' | 'darwin' | 'win32';
  /** Node's process.arch spelling: 'x64', 'arm64', or the raw machine number when unknown. */
  readonly arch: string;
  /** Libraries loaded by name: ELF DT_NEEDED, Mach-O LC_LOAD_DYLIB (and weak/re-export), PE imports and delay imports. */
  readonly needed: readonly string[];
  /** ELF DT_RUNPATH/DT_RPATH entries or Mach-O LC_RPATH entries, unexpanded ($ORIGIN, @loader_path). */
  readonly rpaths: readonly string[];
}

export function inspectBinary(bytes: Uint8Array, file: string): NativeBinary {
  if (bytes.length >= 4 && bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46) return readElf(bytes, file);
  if (bytes.length >= 4 && bytes[0] === 0xcf && bytes[1] === 0xfa && bytes[2] === 0xed && bytes[3] === 0xfe) return readMachO(bytes, file);
  if (bytes.length >= 2 && bytes[0] === 0x4d && bytes[1] === 0x5a) return readPe(bytes, file);
  if (bytes.length >= 4 && bytes[0] === 0xca && bytes[1] === 0xfe && bytes[2] === 0xba && bytes[3] === 0xbe) {
    throw new FormatError(file, 'This is a universal (fat) Mach-O file; only thin 64-bit little-endian Mach-O files are read.', 0);
  }
  const head = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
  throw new FormatError(file, `Expected an ELF (7f 45 4c 46), 64-bit Mach-O (cf fa ed fe) or PE (4d 5a) header but found ${head || 'no bytes'}.`, 0);
}

// --- ELF ---------------------------------------------------------------------------------------
const ELF_MACHINE: Record<number, string> = { 62: 'x64', 183: 'arm64', 3: 'ia32', 40: 'arm' };
const PT_LOAD = 1;
const PT_DYNAMIC = 2;
const DT_NEEDED = 1n;
const DT_STRTAB = 5n;
const DT_RPATH = 15n;
const DT_RUNPATH = 29n;

function readElf(bytes: Uint8Array, file: string): NativeBinary {
  const r = new BinaryReader(bytes, file);
  if (bytes.length < 64) r.fail(`An ELF64 header needs 64 bytes; the file has ${bytes.length}.`, 0);
  if (bytes[4] !== 2 || bytes[5] !== 1) r.fail(`Expected a 64-bit little-endian ELF (class 2, data 1) but found class ${bytes[4]}, data ${bytes[5]}.`, 4);
  r.seek(18);
  const machine = r.u16();
  r.seek(32);
  const phoff = r.u64();
  r.seek(54);
  const phentsize = r.u16();
  const phnum = r.u16();
  if (phentsize < 56) r.fail(`Program header entries of ${phentsize} bytes; ELF64 needs 56.`, 54);
  const loads: { vaddr: number; offset: number; filesz: number }[] = [];
  let dynamic: { offset: number; size: number } | undefined;
  for (let i = 0; i < phnum; i++) {
    r.seek(phoff + i * phentsize);
    const type = r.u32();
    r.skip(4);
    const offset = r.u64();
    const vaddr = r.u64();
    r.skip(8);
    const filesz = r.u64();
    if (type === PT_LOAD) loads.push({ vaddr, offset, filesz });
    if (type === PT_DYNAMIC) dynamic = { offset, size: filesz };
  }
  const needed: bigint[] = [];
  const rpaths: bigint[] = [];
  let strtab: number | undefined;
  if (dynamic) {
    for (let at = dynamic.offset; at + 16 <= dynamic.offset + dynamic.size; at += 16) {
      r.seek(at);
      const tag = r.i64();
      const value = r.i64();
      if (tag === 0n) break;
      if (tag === DT_NEEDED) needed.push(value);
      else if (tag === DT_RPATH || tag === DT_RUNPATH) rpaths.push(value);
      else if (tag === DT_STRTAB) strtab = Number(value);
    }
  }
  const strings = (offsets: bigint[]): string[] => {
    if (offsets.length === 0) return [];
    if (strtab === undefined) r.fail('The dynamic section names libraries but has no DT_STRTAB.', dynamic?.offset);
    // DT_STRTAB is a virtual address: map it to the file through the PT_LOAD segment holding it.
    const seg = loads.find((s) => strtab! >= s.vaddr && strtab! < s.vaddr + s.filesz);
    if (!seg) return r.fail(`DT_STRTAB address 0x${strtab!.toString(16)} lies in no loaded segment.`, dynamic?.offset);
    const base = strtab! - seg.vaddr + seg.offset;
    return offsets.map((o) => cString(r, base + Number(o)));
  };
  return {
    format: 'elf', os: 'linux', arch: ELF_MACHINE[machine] ?? `elf-machine-${machine}`,
    needed: strings(needed),
    rpaths: strings(rpaths).flatMap((p) => p.split(':')).filter((p) => p.length > 0),
  };
}

// --- Mach-O ------------------------------------------------------------------------------------
const MACHO_CPU: Record<number, string> = { 0x0100000c: 'arm64', 0x01000007: 'x64' };
const LC_LOAD_DYLIB = 0xc;
const LC_LOAD_WEAK_DYLIB = 0x80000018;
const LC_REEXPORT_DYLIB = 0x8000001f;
const LC_RPATH = 0x8000001c;

function readMachO(bytes: Uint8Array, file: string): NativeBinary {
  const r = new BinaryReader(bytes, file);
  r.seek(4);
  const cpu = r.u32();
  r.seek(16);
  const ncmds = r.u32();
  const sizeofcmds = r.u32();
  const end = 32 + sizeofcmds;
  if (end > bytes.length) r.fail(`The load commands claim ${sizeofcmds} bytes but the file has ${bytes.length - 32} after the header.`, 20);
  const needed: string[] = [];
  const rpaths: string[] = [];
  let at = 32;
  for (let i = 0; i < ncmds; i++) {
    r.seek(at);
    const cmd = r.u32();
    const size = r.u32();
    if (size < 8 || at + size > end) r.fail(`Load command ${i} (0x${cmd.toString(16)}) has size ${size}, outside the load command area.`, at + 4);
    if (cmd === LC_LOAD_DYLIB || cmd === LC_LOAD_WEAK_DYLIB || cmd === LC_REEXPORT_DYLIB || cmd === LC_RPATH) {
      const nameOffset = r.u32();
      if (nameOffset >= size) r.fail(`Load command ${i} puts its name at ${nameOffset}, beyond its ${size} bytes.`, at + 8);
      (cmd === LC_RPATH ? rpaths : needed).push(cString(r, at + nameOffset, at + size));
    }
    at += size;
  }
  return { format: 'macho', os: 'darwin', arch: MACHO_CPU[cpu] ?? `macho-cpu-0x${cpu.toString(16)}`, needed, rpaths };
}

// --- PE ----------------------------------------------------------------------------------------
const PE_MACHINE: Record<number, string> = { 0x8664: 'x64', 0xaa64: 'arm64', 0x14c: 'ia32' };

function readPe(bytes: Uint8Array, file: string): NativeBinary {
  const r = new BinaryReader(bytes, file);
  r.seek(0x3c);
  const pe = r.u32();
  r.seek(pe);
  if (r.u32() !== 0x00004550) r.fail("Expected the 'PE\\0\\0' signature where the DOS header's e_lfanew points.", pe);
  const machine = r.u16();
  const sections = r.u16();
  r.skip(12);
  const optionalSize = r.u16();
  r.skip(2);
  const optional = r.position;
  const magic = r.u16();
  if (magic !== 0x20b) r.fail(`Expected a PE32+ optional header (magic 0x20b) but found 0x${magic.toString(16)}.`, optional);
  r.seek(optional + 108);
  const directories = r.u32();
  const directory = (index: number): { rva: number; size: number } => {
    if (index >= directories) return { rva: 0, size: 0 };
    r.seek(optional + 112 + index * 8);
    return { rva: r.u32(), size: r.u32() };
  };
  const table: { va: number; size: number; raw: number }[] = [];
  for (let i = 0; i < sections; i++) {
    r.seek(optional + optionalSize + i * 40 + 8);
    const virtualSize = r.u32();
    const va = r.u32();
    const rawSize = r.u32();
    const raw = r.u32();
    table.push({ va, size: Math.max(virtualSize, rawSize), raw });
  }
  const offsetOf = (rva: number): number => {
    const s = table.find((t) => rva >= t.va && rva < t.va + t.size);
    if (!s) return r.fail(`RVA 0x${rva.toString(16)} lies in no section.`, optional);
    return rva - s.va + s.raw;
  };
  const needed: string[] = [];
  // Import descriptors (20 bytes, the DLL name's RVA at +12) and delay-load descriptors (32 bytes,
  // the name's RVA at +4), each list ended by a zeroed entry.
  for (const [index, size, nameAt] of [[1, 20, 12], [13, 32, 4]] as const) {
    const dir = directory(index);
    if (dir.rva === 0) continue;
    for (let at = offsetOf(dir.rva); ; at += size) {
      r.seek(at + nameAt);
      const name = r.u32();
      if (name === 0) break;
      needed.push(cString(r, offsetOf(name)));
    }
  }
  return { format: 'pe', os: 'win32', arch: PE_MACHINE[machine] ?? `pe-machine-0x${machine.toString(16)}`, needed, rpaths: [] };
}

function cString(r: BinaryReader, at: number, limit = r.length): string {
  r.seek(at);
  const end = r.bytes.subarray(0, limit).indexOf(0, at);
  if (end < 0) r.fail('Expected a NUL-terminated name before the end of its table.', at);
  return utf8.decode(r.bytes.subarray(at, end));
}

// --- What a binary loads, resolved inside a package ---------------------------------------------
const LINUX_SYSTEM = new Set([
  'libc.so.6', 'libm.so.6', 'libstdc++.so.6', 'libgcc_s.so.1', 'libpthread.so.0', 'libdl.so.2', 'librt.so.1',
  'libresolv.so.2', 'ld-linux-x86-64.so.2', 'ld-linux-aarch64.so.1',
]);
/** Windows' own DLLs (and the host executable a Node addon links against). */
const WINDOWS_SYSTEM = new Set([
  'kernel32.dll', 'user32.dll', 'advapi32.dll', 'shell32.dll', 'ole32.dll', 'oleaut32.dll', 'setupapi.dll',
  'dbghelp.dll', 'd3d12.dll', 'dxgi.dll', 'ws2_32.dll', 'ntdll.dll', 'bcrypt.dll', 'bcryptprimitives.dll',
  'iphlpapi.dll', 'shlwapi.dll', 'dnsapi.dll', 'node.exe',
]);
/**
 * The Microsoft Visual C++ 2015-2022 runtime: onnxruntime.dll and its binding import these, and
 * neither Windows nor onnxruntime-node carries them; the user installs the VC++ Redistributable.
 */
export const WINDOWS_VC_RUNTIME = new Set(['msvcp140.dll', 'msvcp140_1.dll', 'msvcp140_atomic_wait.dll', 'vcruntime140.dll', 'vcruntime140_1.dll']);

export type Resolution = { name: string; kind: 'package'; path: string } | { name: string; kind: 'system' | 'vc-runtime' | 'missing' };

/**
 * Where each library `binary` (at `binaryPath`, '/'-separated inside the package) loads would come
 * from: a file of the package (`exists` answers for package paths), the OS, the VC++ runtime
 * (Windows), or nowhere. Follows each format's search rule for libraries shipped beside an addon:
 * ELF rpaths with $ORIGIN, Mach-O @rpath through LC_RPATH and @loader_path, and on Windows the
 * addon's own folder (Node loads addons with LOAD_WITH_ALTERED_SEARCH_PATH). For PE files `exists`
 * should ignore case, as Windows does.
 */
export function resolveNeeded(binaryPath: string, binary: NativeBinary, exists: (p: string) => boolean): Resolution[] {
  const dir = binaryPath.includes('/') ? binaryPath.slice(0, binaryPath.lastIndexOf('/')) : '.';
  const inPackage = (candidates: string[]) => candidates.map((c) => normalizePath(c)).find((c) => c !== undefined && exists(c));
  return binary.needed.map((name): Resolution => {
    if (binary.format === 'elf') {
      const found = inPackage(binary.rpaths.map((r) => `${r.replace(/\$\{?ORIGIN\}?/g, dir)}/${name}`));
      if (found) return { name, kind: 'package', path: found };
      return { name, kind: LINUX_SYSTEM.has(name) ? 'system' : 'missing' };
    }
    if (binary.format === 'macho') {
      if (name.startsWith('/usr/lib/') || name.startsWith('/System/Library/')) return { name, kind: 'system' };
      const rel = name.startsWith('@rpath/') ? binary.rpaths.map((r) => `${r}/${name.slice(7)}`) : [name];
      const found = inPackage(rel.filter((c) => c.startsWith('@loader_path')).map((c) => c.replace('@loader_path', dir)));
      return found ? { name, kind: 'package', path: found } : { name, kind: 'missing' };
    }
    const lower = name.toLowerCase();
    const found = inPackage([`${dir}/${name}`]);
    if (found) return { name, kind: 'package', path: found };
    if (WINDOWS_VC_RUNTIME.has(lower)) return { name, kind: 'vc-runtime' };
    return { name, kind: lower.startsWith('api-ms-win-') || WINDOWS_SYSTEM.has(lower) ? 'system' : 'missing' };
  });
}

/** `a/b/../c` → `a/c`; undefined when it climbs above the package root. */
function normalizePath(p: string): string | undefined {
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length === 0) return undefined;
      out.pop();
    } else out.push(part);
  }
  return out.join('/');
}
