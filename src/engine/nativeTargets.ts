/**
 * The platforms DLA Lens ships to, and where each platform's native code sits inside a package.
 * The two native modules the bundles leave external decide the list: onnxruntime-node 1.30 ships
 * binaries for exactly these five, and sharp 0.34 has a prebuilt `@img/sharp-<os>-<arch>` for each.
 * Shared by the packaging scripts (what to put in each .vsix), the package tests (what must be
 * there) and checkNativeModules (what the running extension host needs). No vscode import.
 */

export const TARGETS = ['darwin-arm64', 'linux-x64', 'linux-arm64', 'win32-x64', 'win32-arm64'] as const;
export type Target = (typeof TARGETS)[number];

export function isTarget(s: string): s is Target {
  return (TARGETS as readonly string[]).includes(s);
}

/** Paths relative to the package root (the folder holding package.json), '/'-separated. */
export interface NativeLayout {
  readonly target: string;
  readonly os: string;
  readonly arch: string;
  /** onnxruntime-node's folder for this platform; its binding.js requires `<dir>/onnxruntime_binding.node`. */
  readonly onnxruntimeDir: string;
  /** The binding and the ONNX Runtime library it loads by name (an ELF DT_NEEDED, a Mach-O @rpath load, a PE import). */
  readonly onnxruntimeFiles: readonly string[];
  /** `@img/sharp-<os>-<arch>`, the package sharp's lib/sharp.js requires as `@img/sharp-<os>-<arch>/sharp.node`. */
  readonly sharpPackage: string;
  readonly sharpBinding: string;
  /** `@img/sharp-libvips-<os>-<arch>`; none on Windows, where sharp's package carries libvips itself. */
  readonly libvipsPackage?: string;
}

/** The main ONNX Runtime library per OS, as onnxruntime-node 1.30 names it in its bin folders. */
const ORT_LIBRARY: Record<string, string> = {
  linux: 'libonnxruntime.so.1',
  darwin: 'libonnxruntime.1.dylib',
  win32: 'onnxruntime.dll',
};

export function nativeLayout(os: string, arch: string): NativeLayout {
  const onnxruntimeDir = `node_modules/onnxruntime-node/bin/napi-v6/${os}/${arch}`;
  const sharpPackage = `@img/sharp-${os}-${arch}`;
  const library = ORT_LIBRARY[os];
  return {
    target: `${os}-${arch}`,
    os,
    arch,
    onnxruntimeDir,
    onnxruntimeFiles: [`${onnxruntimeDir}/onnxruntime_binding.node`, ...(library ? [`${onnxruntimeDir}/${library}`] : [])],
    sharpPackage,
    sharpBinding: `node_modules/${sharpPackage}/lib/sharp-${os}-${arch}.node`,
    libvipsPackage: os === 'win32' ? undefined : `@img/sharp-libvips-${os}-${arch}`,
  };
}

/** The .vsix file name vsce gives a platform-specific package. */
export function vsixName(name: string, target: string, version: string): string {
  return `${name}-${target}-${version}.vsix`;
}

/** What the packaging script writes into each package as dist/target.json. */
export interface PackagedTarget {
  readonly target: Target;
  readonly name: string;
  readonly version: string;
  readonly onnxruntimeNode: string;
  readonly sharp: string;
}

export const TARGET_FILE = 'dist/target.json';
