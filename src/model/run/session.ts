import * as os from 'os';
import * as ort from 'onnxruntime-node';
import { formatShape, numel, type Tensor } from '../tensor';
import { candidates, executionProviders, shortError, skipUnderAuto, type ProviderId, type ProviderSetting } from './providers';

export type { ProviderId, ProviderSetting } from './providers';

/**
 * onnxruntime-node sessions for in-memory ONNX models, with a provider choice that degrades
 * visibly: every session states which provider actually runs it and which ones failed first.
 */

export interface ProviderAttempt {
  readonly provider: ProviderId;
  readonly ok: boolean;
  /** Why it failed, one short line (only when !ok). */
  readonly error?: string;
}

export interface SessionSettings {
  readonly provider?: ProviderSetting;
  /** Which GPU a GPU provider runs on (CUDA's device_id, WebGPU's deviceId); default 0. */
  readonly deviceId?: number;
  /** Intra-op threads; default os.availableParallelism(). */
  readonly threads?: number;
  readonly graphOptimization?: 'disabled' | 'basic' | 'extended' | 'layout' | 'all';
  /** ORT's profiler (JSON trace written to `profilePrefix`_<date>.json); for benchmarks. */
  readonly profilePrefix?: string;
}

export interface RunnerSession {
  readonly session: ort.InferenceSession;
  /** The provider that runs this session. */
  readonly provider: ProviderId;
  /** Every provider tried, in order, the last one being the one that loaded. */
  readonly attempts: readonly ProviderAttempt[];
}

/** A summary for display: "cpu (cuda failed: …; webgpu failed: …)". */
export function describeSession(s: Pick<RunnerSession, 'provider' | 'attempts'>): string {
  const failed = s.attempts.filter((a) => !a.ok).map((a) => `${a.provider} failed: ${a.error}`);
  return failed.length ? `${s.provider} (${failed.join('; ')})` : s.provider;
}

function sessionOptions(id: ProviderId, s: SessionSettings): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: executionProviders(id, s.deviceId),
    intraOpNumThreads: s.threads ?? os.availableParallelism(),
    graphOptimizationLevel: s.graphOptimization ?? 'all',
    // ORT's pool spin-waits between ops by default; on a shared 2-core machine another busy process
    // turns that into a slowdown worse than 1 thread (measured), so workers sleep instead. On an
    // idle machine spinning would save 1-2 ms of dla60's 52 (measured).
    extra: { session: { intra_op: { allow_spinning: '0' } } },
    ...(s.profilePrefix ? { enableProfiling: true, profileFilePrefix: s.profilePrefix } : {}),
  };
}

/** GPU providers that failed to create a session in this process, with the reason. */
const unavailable = new Map<ProviderId, string>();

/** Creates a session, trying providers in order; throws (listing every attempt) when none loads. */
export async function createSession(model: Uint8Array, settings: SessionSettings = {}): Promise<RunnerSession> {
  // A failed GPU probe is reported in `attempts`; ORT would also print it to stderr as an error, so
  // its default logger is limited to fatal messages (read once, when ORT starts).
  ort.env.logLevel = 'fatal';
  const attempts: ProviderAttempt[] = [];
  const setting = settings.provider ?? 'auto';
  for (const provider of candidates(setting)) {
    // Under 'auto', a GPU provider that failed to load once in this process (no library, no
    // adapter) fails again: probing it for every one of a comparison's many sessions cost seconds.
    const known = setting === 'auto' ? (unavailable.get(provider) ?? skipUnderAuto(provider)) : undefined;
    if (known !== undefined) {
      attempts.push({ provider, ok: false, error: known });
      continue;
    }
    try {
      const session = await ort.InferenceSession.create(model, sessionOptions(provider, settings));
      attempts.push({ provider, ok: true });
      return { session, provider, attempts };
    } catch (err) {
      const error = shortError(err);
      if (provider !== 'cpu') unavailable.set(provider, error);
      attempts.push({ provider, ok: false, error });
    }
  }
  throw new Error(`No execution provider could run the model: ${attempts.map((a) => `${a.provider}: ${a.error}`).join('; ')}.`);
}

function toOrt(name: string, t: Tensor): ort.Tensor {
  if (t.dtype !== 'float32' || !(t.data instanceof Float32Array)) {
    throw new Error(`Feed '${name}' is ${t.dtype}; the graph takes float32.`);
  }
  if (numel(t.shape) !== t.data.length) {
    throw new Error(`Feed '${name}' holds ${t.data.length} values for shape ${formatShape(t.shape)}.`);
  }
  return new ort.Tensor('float32', t.data, [...t.shape]);
}

function fromOrt(name: string, v: ort.OnnxValue): Tensor {
  const t = v as ort.Tensor;
  if (t.type !== 'float32') throw new Error(`Output '${name}' is ${t.type}; expected float32.`);
  // onnxruntime-node 1.30 already copies each CPU output into a fresh JS ArrayBuffer (it survives
  // dispose() and later runs), so it is kept as is: a second copy cost ~30 ms per tap-all run at
  // 224 (157 MB), where the handover is already the largest cost after the convolutions.
  return { dtype: 'float32', shape: t.dims.map(Number), data: t.data as Float32Array };
}

/** Runs the session; returns the named outputs (default: all) as our Tensors, in the order asked. */
export async function run(
  s: RunnerSession, feeds: Readonly<Record<string, Tensor>>, outputNames?: readonly string[],
): Promise<Map<string, Tensor>> {
  const ortFeeds: Record<string, ort.Tensor> = {};
  for (const [name, t] of Object.entries(feeds)) ortFeeds[name] = toOrt(name, t);
  const names = outputNames ?? s.session.outputNames;
  const result = await s.session.run(ortFeeds, [...names]);
  const out = new Map<string, Tensor>();
  for (const name of names) out.set(name, fromOrt(name, result[name]));
  return out;
}

/** Frees the native session (its weights and arena). */
export async function releaseSession(s: RunnerSession): Promise<void> {
  await s.session.release();
}
