import { fork, type ChildProcess } from 'child_process';
import { CancelledError } from '../model/cancel';
import type { CallMessage, FromEngine, Method, ParamsOf, ProgressOf, ResultOf, ToEngine } from './protocol';

export { CancelledError };

/**
 * The extension's end of the engine (src/engine/worker.ts): it starts the engine process on the
 * first call, sends calls and cancels, routes progress, and turns each reply into the settled
 * promise of its call. The extension host thread does nothing else: no file is read and no model
 * is run on it. Does not import vscode: the integration tests drive it as the extension does.
 *
 * - A crashed engine (a native fault, killed, out of memory) rejects every call in flight with an
 *   EngineCrashedError saying what it was running, is reported once through `onCrash`, and is
 *   started afresh by the next call.
 * - Cancel takes effect at the work's next check (between sessions and batches). If the engine
 *   does not answer within `cancelGraceMs` (a native call that will not return soon), the process
 *   is killed so that Cancel is never ignored, and the next call starts a new one.
 */
export interface EngineClientOptions {
  /** The engine entry: dist/engine.js (or src/engine/worker.ts with execArgv ['--import', 'tsx'] in tests). */
  readonly entry: string;
  readonly execArgv?: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
  readonly log?: (level: 'info' | 'error', message: string) => void;
  readonly onCrash?: (error: EngineCrashedError) => void;
  readonly cancelGraceMs?: number;
}

export interface CallOptions<M extends Method> {
  readonly onProgress?: (value: ProgressOf<M>) => void;
  readonly signal?: AbortSignal;
}

export class EngineCrashedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EngineCrashedError';
  }
}

/**
 * An error the engine raised, with its class name kept (FormatError, UsageError, …) and its stack
 * from the engine process, where it happened: the log shows that, not where the reply arrived.
 */
export class EngineError extends Error {
  constructor(name: string, message: string, engineStack?: string) {
    super(message);
    this.name = name;
    if (engineStack) this.stack = engineStack;
  }
}

interface Pending {
  readonly method: Method;
  readonly resolve: (v: unknown) => void;
  readonly reject: (e: Error) => void;
  readonly onProgress?: (v: never) => void;
  cancelTimer?: NodeJS.Timeout;
}

const DEFAULT_CANCEL_GRACE_MS = 15_000;

export class EngineClient {
  private child: ChildProcess | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private disposed = false;
  /** Increases with every engine process started: a handle from an earlier one means nothing to the current one. */
  generation = 0;

  constructor(private readonly options: EngineClientOptions) {}

  /** Whether an engine process runs now (a call would not have to start one). */
  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.connected;
  }

  /** The engine process id, while one runs (tests use it to kill the engine). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  call<M extends Method>(method: M, params: ParamsOf<M>, options: CallOptions<M> = {}): Promise<ResultOf<M>> {
    if (this.disposed) return Promise.reject(new Error('The DLA Lens engine has been shut down.'));
    if (options.signal?.aborted) return Promise.reject(new CancelledError());
    const child = this.ensureStarted();
    const id = this.nextId++;
    return new Promise<ResultOf<M>>((resolve, reject) => {
      const p: Pending = { method, resolve: resolve as (v: unknown) => void, reject, onProgress: options.onProgress as ((v: never) => void) | undefined };
      this.pending.set(id, p);
      options.signal?.addEventListener('abort', () => this.cancel(id), { once: true });
      const msg: CallMessage<M> = { kind: 'call', id, method, params };
      this.post(child, msg);
    });
  }

  /**
   * Lets the engine drop what it holds (a comparison, a checkpoint's tensors). Only a running engine
   * holds anything, so none is started for it; with `generation`, only the process that made it
   * (a handle means nothing to a later one). Failures are of no interest: resolves either way.
   */
  async release<M extends 'releaseComparison' | 'releaseCheckpoint'>(method: M, params: ParamsOf<M>, generation?: number): Promise<void> {
    if (this.disposed || !this.running || (generation !== undefined && generation !== this.generation)) return;
    await this.call(method, params).then(() => undefined, () => undefined);
  }

  /** Stops the engine; calls in flight are rejected. */
  async dispose(): Promise<void> {
    this.disposed = true;
    const child = this.child;
    this.child = undefined;
    this.rejectAll(new Error('The DLA Lens engine was shut down.'));
    if (!child || child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => { child.kill('SIGKILL'); resolve(); }, 2000);
      child.once('exit', () => { clearTimeout(timer); resolve(); });
      // Closing the channel lets the engine dispose its sessions and exit by itself.
      if (child.connected) child.disconnect();
      else child.kill();
    });
  }

  private ensureStarted(): ChildProcess {
    if (this.child && this.running) return this.child;
    const child = fork(this.options.entry, [], {
      serialization: 'advanced',
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      execArgv: [...(this.options.execArgv ?? [])],
      // In a desktop VS Code the extension host's execPath is Electron: run it as plain Node.
      env: { ...process.env, ...this.options.env, ELECTRON_RUN_AS_NODE: '1' },
    });
    this.generation++;
    this.child = child;
    const log = this.options.log ?? (() => {});
    child.stdout?.on('data', (b: Buffer) => log('info', `engine: ${b.toString().trimEnd()}`));
    child.stderr?.on('data', (b: Buffer) => log('error', `engine: ${b.toString().trimEnd()}`));
    child.on('message', (m: FromEngine) => this.receive(m));
    child.on('error', (err) => log('error', `engine process error: ${err.message}`));
    child.on('exit', (code, signal) => this.exited(child, code, signal));
    return child;
  }

  private post(child: ChildProcess, m: ToEngine): void {
    child.send(m, (err) => {
      if (err && 'id' in m && m.kind === 'call') this.settle(m.id, (p) => p.reject(new EngineCrashedError(`Could not reach the DLA Lens engine: ${err.message}`)));
    });
  }

  private cancel(id: number): void {
    const p = this.pending.get(id);
    const child = this.child;
    if (!p || !child) return;
    this.post(child, { kind: 'cancel', id });
    p.cancelTimer = setTimeout(() => {
      if (!this.pending.has(id)) return;
      this.options.log?.('error', `The engine did not stop '${p.method}' within ${this.options.cancelGraceMs ?? DEFAULT_CANCEL_GRACE_MS} ms of Cancel; it is restarted.`);
      // Settled as cancelled first, so the kill does not read as a crash; the next call starts afresh.
      this.settle(id, (q) => q.reject(new CancelledError()));
      if (this.child === child) this.child = undefined;
      child.kill('SIGKILL');
    }, this.options.cancelGraceMs ?? DEFAULT_CANCEL_GRACE_MS);
  }

  private receive(m: FromEngine): void {
    switch (m.kind) {
      case 'progress':
        this.pending.get(m.id)?.onProgress?.(m.value as never);
        break;
      case 'result':
        this.settle(m.id, (p) => p.resolve(m.result));
        break;
      case 'error':
        this.settle(m.id, (p) => p.reject(m.error.name === 'CancelledError' ? new CancelledError() : new EngineError(m.error.name, m.error.message, m.error.stack)));
        break;
      case 'log':
        this.options.log?.(m.level, `engine: ${m.message}`);
        break;
      case 'ready':
        this.options.log?.('info', `DLA Lens engine started (pid ${m.pid}).`);
        break;
    }
  }

  private settle(id: number, f: (p: Pending) => void): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    if (p.cancelTimer) clearTimeout(p.cancelTimer);
    f(p);
  }

  private exited(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.child === child) this.child = undefined;
    if (this.disposed || this.pending.size === 0) return;
    const running = [...new Set([...this.pending.values()].map((p) => p.method))].join(', ');
    const how = signal ? `was killed (${signal})` : `exited with code ${code}`;
    const err = new EngineCrashedError(
      `The DLA Lens engine process ${how} while running ${running}. It starts again with the next command; ` +
        'if this repeats with the same file, that file makes onnxruntime or the image decoder fail (see the DLA Lens output channel).',
    );
    this.rejectAll(err);
    this.options.onCrash?.(err);
  }

  private rejectAll(err: Error): void {
    for (const id of [...this.pending.keys()]) this.settle(id, (p) => p.reject(err));
  }
}
