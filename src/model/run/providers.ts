import * as fs from 'fs';
import type { InferenceSession } from 'onnxruntime-node';

/**
 * Execution providers as the user picks them, and what each means to onnxruntime-node. Creating a
 * session with a provider whose library or adapter is missing THROWS (it does not fall back), so
 * 'auto' is a list tried in order, not a list handed to ORT.
 */
export type ProviderSetting = 'auto' | 'cuda' | 'webgpu' | 'cpu';
export type ProviderId = 'cuda' | 'webgpu' | 'cpu';

export const PROVIDER_SETTINGS: readonly ProviderSetting[] = ['auto', 'cuda', 'webgpu', 'cpu'];

/** 'auto' prefers the fastest device that loads: CUDA, then WebGPU, then the CPU, which always loads. */
export function candidates(setting: ProviderSetting): ProviderId[] {
  return setting === 'auto' ? ['cuda', 'webgpu', 'cpu'] : [setting];
}

/**
 * The ORT list for one candidate. A GPU provider keeps 'cpu' second for the few nodes it cannot
 * take (ORT's usual partitioning); whether the GPU provider loads at all is decided at creation.
 */
export function executionProviders(id: ProviderId, deviceId?: number): InferenceSession.ExecutionProviderConfig[] {
  if (id === 'cpu') return ['cpu'];
  return [deviceId === undefined ? id : ({ name: id, deviceId } as InferenceSession.ExecutionProviderConfig), 'cpu'];
}

/** Plain words for the failures every machine without a GPU stack meets. */
const KNOWN: readonly (readonly [RegExp, string])[] = [
  [/Cuda: Failed to load shared library/i, 'CUDA provider library not installed (onnxruntime-node was installed without its CUDA download)'],
  [/Failed to get a WebGPU adapter:\s*(.*)/, 'no WebGPU adapter ($1)'],
];

/** One short line for display: a known failure in plain words, else the ORT message without its source-location noise. */
export function shortError(err: unknown, max = 140): string {
  const text = err instanceof Error ? err.message : String(err);
  for (const [re, words] of KNOWN) {
    const m = re.exec(text);
    if (m) return words.replace('$1', (m[1] ?? '').trim().replace(/\.$/, ''));
  }
  const line = (text.split('\n').find((l) => l.trim().length > 0) ?? text).trim()
    .replace(/^\[ONNXRuntimeError\]\s*:\s*\d+\s*:\s*\w+\s*:\s*/, '')
    // "/onnxruntime_src/.../file.cc:136 onnxruntime::...::<lambda()> cond was false. Reason" -> "Reason"
    .replace(/^\/\S+:\d+\s+.*?\bwas false\.\s*/, '')
    .replace(/^\/\S+:\d+\s+/, '');
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/**
 * Why 'auto' should not even try a provider on this machine, or undefined to try it. On Linux,
 * WebGPU needs a GPU device node; without one Dawn's probe can only fail, and it prints a Vulkan
 * loader warning to the process's stderr on the way (native output, which no JS can hold back).
 * macOS (Metal) and Windows (D3D12) are always tried. An explicit setting is always tried.
 */
export function skipUnderAuto(id: ProviderId, platform: string = process.platform, devDir = '/dev'): string | undefined {
  if (id !== 'webgpu' || platform !== 'linux') return undefined;
  let names: string[] = [];
  try {
    names = fs.readdirSync(devDir);
  } catch {
    return undefined;
  }
  const dri = names.includes('dri') ? safeList(`${devDir}/dri`) : [];
  if (dri.some((n) => n.startsWith('renderD')) || names.some((n) => /^nvidia\d+$/.test(n))) return undefined;
  return `no GPU device (no ${devDir}/dri/renderD* or ${devDir}/nvidia*)`;
}

function safeList(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}
