import * as os from 'os';
import type { Worker } from 'worker_threads';
import { UsageError } from '../errors';
import type { PreprocessPreset } from '../run/presets';
import type { ProviderSetting } from '../run/session';
import { startWorker } from './workerScript';
import type { InferenceReply, InferenceSetup, PreprocessReply } from './workerMessages';

/**
 * The evaluation's threads: a pool that decodes and preprocesses images, and one inference thread
 * per device. Both hand out promises; both are closed by `close()` (also on error and on Cancel),
 * so an evaluation never leaves a thread behind.
 */

export interface Preprocessed {
  /** One tensor per preset, as the pool was set up. */
  readonly tensors: Float32Array[];
  readonly shapes: number[][];
  /** Decode + preprocess time in the worker. */
  readonly ms: number;
}

export class PreprocessPool {
  private readonly workers: Worker[] = [];
  private readonly idle: Worker[] = [];
  private readonly queue: { id: number; file: string }[] = [];
  private readonly pending = new Map<number, { resolve: (p: Preprocessed) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private closing = false;
  /** Why no thread is left, once none is: every later image is refused with it instead of waiting forever. */
  private gone: Error | undefined;

  constructor(presets: readonly PreprocessPreset[], size: number) {
    for (let i = 0; i < size; i++) {
      const w = startWorker('preprocessWorker');
      w.postMessage({ presets });
      w.on('message', (r: PreprocessReply) => this.done(w, r));
      w.on('error', (err) => this.lost(w, err));
      w.on('exit', (code) => this.lost(w, new Error(`A preprocessing thread stopped (exit code ${code}).`)));
      this.workers.push(w);
      this.idle.push(w);
    }
  }

  get size(): number {
    return this.workers.length;
  }

  /** The image's tensors; rejects with the decoder's sentence for an image that does not decode. */
  submit(file: string): Promise<Preprocessed> {
    if (this.gone) return Promise.reject(this.gone);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.queue.push({ id, file });
      this.pump();
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    this.failAll(new Error('The preprocessing threads were closed.'));
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  private pump(): void {
    while (this.idle.length > 0 && this.queue.length > 0) this.idle.pop()!.postMessage(this.queue.shift()!);
  }

  private done(w: Worker, r: PreprocessReply): void {
    this.idle.push(w);
    const p = this.pending.get(r.id);
    this.pending.delete(r.id);
    if (p) {
      if (r.tensors) p.resolve({ tensors: r.tensors, shapes: r.shapes, ms: r.ms });
      else p.reject(Object.assign(new Error(r.error), { ms: r.ms }));
    }
    this.pump();
  }

  /** A thread that died: what it held fails with its error, and the others carry on. */
  private lost(w: Worker, err: Error): void {
    if (this.closing || !this.workers.includes(w)) return;
    this.workers.splice(this.workers.indexOf(w), 1);
    if (this.idle.includes(w)) this.idle.splice(this.idle.indexOf(w), 1);
    this.failAll(err);
    if (this.workers.length === 0) this.gone = err;
  }

  private failAll(err: Error): void {
    this.queue.length = 0;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }
}

/** Where batches run: a provider, and for GPUs which device; `--devices 0,1` shards over two. */
export interface Device {
  readonly provider: ProviderSetting;
  readonly deviceId?: number;
}

export interface BatchLogits {
  /** One [N * classes] array per run, in the order of `runs`. */
  readonly logits: Float32Array[];
  readonly classes: number;
  readonly ms: number;
}

interface InferenceThread {
  readonly worker: Worker;
  readonly device: Device;
  busy: number;
  done: number;
  provider: string;
  /** Why the thread died, once it has: it takes no more batches. */
  dead?: Error;
}

/** One inference thread per device, each with a session per model; a batch goes to the least busy. */
export class InferencePool {
  private readonly threads: InferenceThread[] = [];
  private readonly pending = new Map<number, { resolve: (l: BatchLogits) => void; reject: (e: Error) => void; thread: InferenceThread }>();
  private nextId = 1;
  private closing = false;

  private constructor() {}

  /** Starts the threads and their sessions; rejects (closing them) when a device cannot run the models. */
  static async start(graphs: readonly Uint8Array[], devices: readonly Device[]): Promise<InferencePool> {
    const pool = new InferencePool();
    // CPU sessions share the cores; GPU sessions each get the default.
    const cpuSessions = devices.filter((d) => d.provider === 'cpu').length;
    const cpuThreads = Math.max(1, Math.floor(os.availableParallelism() / Math.max(1, cpuSessions)));
    try {
      await Promise.all(devices.map((device) => new Promise<void>((resolve, reject) => {
        const worker = startWorker('inferenceWorker');
        const thread: InferenceThread = { worker, device, busy: 0, done: 0, provider: '' };
        pool.threads.push(thread);
        worker.once('message', (r: InferenceReply) => {
          if (r.kind === 'ready' && r.error === undefined) {
            thread.provider = r.provider;
            worker.on('message', (m: InferenceReply) => pool.done(m));
            resolve();
          } else {
            reject(new Error(`${describeDevice(device)}: ${r.kind === 'ready' ? r.error : 'no ready message'}`));
          }
        });
        worker.on('error', (err) => {
          reject(err);
          pool.failThread(thread, err);
        });
        worker.on('exit', (code) => {
          const err = new Error(`${describeDevice(device)}: the inference thread stopped (exit code ${code}).`);
          reject(err);
          pool.failThread(thread, err);
        });
        const setup: InferenceSetup = {
          kind: 'setup', graphs, provider: device.provider, deviceId: device.deviceId,
          threads: device.provider === 'cpu' ? cpuThreads : os.availableParallelism(),
        };
        worker.postMessage(setup);
      })));
    } catch (err) {
      await pool.close();
      throw err;
    }
    return pool;
  }

  /** The provider each thread runs on, as the sessions report it ("cpu (cuda failed: ...)"). */
  get providers(): string[] {
    return this.threads.map((t) => t.provider);
  }

  get size(): number {
    return this.threads.length;
  }

  /** Batches each thread has run, in device order. */
  get batchesDone(): number[] {
    return this.threads.map((t) => t.done);
  }

  /** Batches queued or running, over all threads. */
  get inFlight(): number {
    return this.pending.size;
  }

  /** Runs the batch: `runs` pairs a model with an input (see InferenceJob); the inputs are transferred. */
  run(inputs: Float32Array[], shapes: readonly (readonly number[])[], runs: readonly (readonly [number, number])[]): Promise<BatchLogits> {
    const live = this.threads.filter((t) => !t.dead);
    if (live.length === 0) return Promise.reject(this.threads[0]?.dead ?? new Error('No inference thread is running.'));
    const thread = live.reduce((a, b) => (b.busy < a.busy ? b : a));
    const id = this.nextId++;
    thread.busy++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, thread });
      thread.worker.postMessage({ kind: 'run', id, inputs, shapes, runs }, [...new Set(inputs.map((i) => i.buffer as ArrayBuffer))]);
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    for (const [id, p] of this.pending) {
      p.reject(new Error('The inference threads were closed.'));
      this.pending.delete(id);
    }
    await Promise.all(this.threads.map((t) => t.worker.terminate()));
  }

  private done(m: InferenceReply): void {
    if (m.kind !== 'done') return;
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    p.thread.busy--;
    p.thread.done++;
    if (m.error === undefined) p.resolve({ logits: m.logits, classes: m.classes, ms: m.ms });
    else p.reject(new Error(`${describeDevice(p.thread.device)}: ${m.error}`));
  }

  private failThread(thread: InferenceThread, err: Error): void {
    if (this.closing || thread.dead) return;
    thread.dead = err;
    for (const [id, p] of this.pending) {
      if (p.thread !== thread) continue;
      p.reject(err);
      this.pending.delete(id);
    }
  }
}

export function describeDevice(d: Device): string {
  return d.deviceId === undefined ? d.provider : `${d.provider}:${d.deviceId}`;
}

/**
 * `--devices`: a comma-separated list, each `cpu`, `cuda`, `webgpu`, `auto`, a GPU index (`0`: the
 * default GPU provider on that device), or `provider:index`. Absent: one device with `provider`.
 */
export function parseDevices(spec: string | undefined, provider: ProviderSetting): Device[] {
  if (spec === undefined || spec.trim() === '') return [{ provider }];
  const gpu: ProviderSetting = provider === 'cpu' || provider === 'auto' ? 'cuda' : provider;
  return spec.split(',').map((raw) => {
    const s = raw.trim();
    const m = /^(?:(auto|cuda|webgpu|cpu)(?::(\d+))?|(\d+))$/.exec(s);
    if (!m) throw new UsageError(`--devices: '${s}' is not a device; give cpu, cuda, webgpu, a GPU index (0, 1, ...) or provider:index (cuda:1).`);
    if (m[3] !== undefined) return { provider: gpu, deviceId: Number(m[3]) };
    const p = m[1] as ProviderSetting;
    return m[2] !== undefined ? { provider: p, deviceId: Number(m[2]) } : { provider: p };
  });
}
