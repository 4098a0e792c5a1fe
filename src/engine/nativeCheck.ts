/**
 * Before anything requires onnxruntime-node or sharp: are this platform's binaries where those two
 * will look for them? A platform-specific .vsix holds one platform's binaries only, so a package
 * installed by hand on the wrong machine (or on the wrong side of a remote window) would otherwise
 * fail deep inside a require() with "Cannot find module .../darwin/arm64/onnxruntime_binding.node".
 * This says instead which package is installed, where the extension host runs, and which file to
 * install. Plain Node (no vscode import): the engine worker and activate() both call it.
 */
import * as fs from 'fs';
import * as path from 'path';
import { TARGET_FILE, TARGETS, isTarget, nativeLayout, vsixName, type PackagedTarget } from './nativeTargets';

export interface NativeCheckResult {
  /** `<platform>-<arch>` of the running extension host. */
  readonly runtime: string;
  /** What dist/target.json says was packaged; undefined in a checkout or an npm install. */
  readonly packaged?: PackagedTarget;
  /** The files found, relative to the extension root. */
  readonly files: readonly string[];
}

export class NativeModulesError extends Error {
  constructor(
    message: string,
    readonly runtime: string,
    readonly missing: readonly string[],
    readonly packaged?: PackagedTarget,
  ) {
    super(message);
    this.name = 'NativeModulesError';
  }
}

const REMOTE_HINT =
  'In a remote window (Remote-SSH, WSL, Dev Containers, code-server) the extension runs on the remote machine, so the package must be the one for that machine.';

/**
 * Throws a NativeModulesError naming the right package when the onnxruntime-node binding, its
 * library, or sharp's prebuilt packages for `platform`-`arch` are missing under `extensionRoot`.
 * `libc` matters on Linux only: both modules ship glibc builds, none for musl (Alpine).
 */
export function checkNativeModules(
  extensionRoot: string,
  platform: string = process.platform,
  arch: string = process.arch,
  libc: 'glibc' | 'musl' | undefined = platform === process.platform ? runtimeLibc() : undefined,
): NativeCheckResult {
  const runtime = `${platform}-${arch}`;
  const manifest = readManifest(extensionRoot);
  const packaged = readPackagedTarget(extensionRoot);
  const wanted = (target: string) => vsixName(manifest.name, target, packaged?.version ?? manifest.version);

  if (platform === 'linux' && libc === 'musl') {
    throw new NativeModulesError(
      `VS Code runs the DLA Lens extension host on ${runtime} with musl libc (Alpine Linux?), but onnxruntime-node and sharp ship ` +
        `glibc builds only, so DLA Lens cannot run there. Use a glibc Linux (Debian, Ubuntu, Fedora, ...) for the remote or container.`,
      runtime, [], packaged,
    );
  }
  if (!isTarget(runtime)) {
    const rosetta = runtime === 'darwin-x64'
      ? ` On an Apple Silicon Mac this means VS Code itself is the Intel build running under Rosetta: install the Apple Silicon (arm64) build of VS Code and ${wanted('darwin-arm64')}. ` +
        'On an Intel Mac, run DLA Lens on a supported machine through Remote-SSH.'
      : '';
    throw new NativeModulesError(
      `VS Code runs the DLA Lens extension host on ${runtime}, for which onnxruntime-node ships no binaries, so there is no DLA Lens ` +
        `package for it (there are packages for ${TARGETS.join(', ')}).${rosetta}`,
      runtime, [], packaged,
    );
  }

  const layout = nativeLayout(platform, arch);
  const required = [
    ...layout.onnxruntimeFiles,
    `node_modules/${layout.sharpPackage}/package.json`,
    layout.sharpBinding,
    ...(layout.libvipsPackage ? [`node_modules/${layout.libvipsPackage}/package.json`] : []),
  ];
  const missing = required.filter((f) => !fs.existsSync(path.join(extensionRoot, f)));
  if (layout.libvipsPackage && !hasLibvips(path.join(extensionRoot, 'node_modules', layout.libvipsPackage, 'lib'))) {
    missing.push(`node_modules/${layout.libvipsPackage}/lib/libvips-cpp.*`);
  }
  if (missing.length === 0) return { runtime, packaged, files: required };

  const missingList = missing.map((f) => `'${f}'`).join(', ');
  if (packaged && packaged.target !== runtime) {
    throw new NativeModulesError(
      `This DLA Lens package holds the ${packaged.target} binaries, but VS Code runs its extension host on ${runtime}: ` +
        `install ${wanted(runtime)} instead (this one has no ${runtime} binaries in ${path.join(extensionRoot, 'node_modules')}). ${REMOTE_HINT}`,
      runtime, missing, packaged,
    );
  }
  if (packaged) {
    throw new NativeModulesError(
      `This DLA Lens package (${packaged.target}) is incomplete: ${missingList} are missing from ${extensionRoot}. ` +
        `Reinstall ${wanted(runtime)}.`,
      runtime, missing, packaged,
    );
  }
  // No dist/target.json: a checkout, an npm install, or a package unpacked by hand.
  const present = platformsPresent(extensionRoot);
  const holds = present.length > 0 && missing.includes(layout.onnxruntimeFiles[0]) ? ` It holds onnxruntime-node binaries for ${present.join(', ')} only.` : '';
  throw new NativeModulesError(
    `DLA Lens finds no ${runtime} native modules under ${extensionRoot}: ${missingList} are missing.${holds} ` +
      `Install the package built for this machine, ${wanted(runtime)}, or in a checkout run \`npm install\` on this machine ` +
      `(sharp's prebuilt package is chosen for the platform npm runs on). ${REMOTE_HINT}`,
    runtime, missing,
  );
}

/** The C library of this Linux process: Node's own report names the glibc it runs on, musl has none. */
function runtimeLibc(): 'glibc' | 'musl' | undefined {
  if (process.platform !== 'linux') return undefined;
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
  return header?.glibcVersionRuntime ? 'glibc' : 'musl';
}

function readManifest(root: string): { name: string; version: string } {
  const file = path.join(root, 'package.json');
  try {
    const pkg = JSON.parse(fs.readFileSync(file, 'utf8')) as { name?: unknown; version?: unknown };
    return { name: typeof pkg.name === 'string' ? pkg.name : 'dla-lens', version: typeof pkg.version === 'string' ? pkg.version : '<version>' };
  } catch (e) {
    throw new Error(`Cannot read the DLA Lens manifest ${file}: ${(e as Error).message}`);
  }
}

function readPackagedTarget(root: string): PackagedTarget | undefined {
  const file = path.join(root, ...TARGET_FILE.split('/'));
  if (!fs.existsSync(file)) return undefined;
  let parsed: Partial<PackagedTarget>;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<PackagedTarget>;
  } catch (e) {
    throw new Error(`${file} is not valid JSON (${(e as Error).message}); the package is damaged: reinstall it.`);
  }
  if (typeof parsed.target !== 'string' || !isTarget(parsed.target)) {
    throw new Error(`${file} names target ${JSON.stringify(parsed.target)}, expected one of ${TARGETS.join(', ')}; the package is damaged: reinstall it.`);
  }
  return parsed as PackagedTarget;
}

function hasLibvips(libDir: string): boolean {
  try {
    return fs.readdirSync(libDir).some((f) => f.startsWith('libvips-cpp.'));
  } catch {
    return false;
  }
}

/** `<os>-<arch>` of every onnxruntime-node binding present (for the message only). */
function platformsPresent(root: string): string[] {
  const bin = path.join(root, 'node_modules', 'onnxruntime-node', 'bin', 'napi-v6');
  const found: string[] = [];
  for (const os of safeReaddir(bin)) {
    for (const arch of safeReaddir(path.join(bin, os))) {
      if (fs.existsSync(path.join(bin, os, arch, 'onnxruntime_binding.node'))) found.push(`${os}-${arch}`);
    }
  }
  return found.sort();
}

function safeReaddir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}
