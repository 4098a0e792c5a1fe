/**
 * The engine process (dist/engine.js), forked by the extension (src/engine/client.ts). Everything
 * that reads checkpoints, preprocesses images or runs onnxruntime runs here, off the extension
 * host's thread: onnxruntime-node's run() is a synchronous native call, and in the extension host
 * it would freeze every extension in the window. A separate process rather than a worker thread:
 * a native crash on a hostile file then ends this process, which the extension reports and
 * restarts, instead of the extension host.
 *
 * Calls are served concurrently as they arrive; a Cancel is seen at the work's next check, which
 * first yields to the event loop so that the Cancel message can be read at all.
 */
import * as fs from 'fs';
import * as path from 'path';
import { CancelledError } from '../model/cancel';
import { checkNativeModules } from './nativeCheck';
import type { CallContext, Engine } from './operations';
import { isMethod, type CallMessage, type FromEngine, type Method, type ToEngine } from './protocol';

/** The extension (or checkout) root: the folder above this file holding package.json. */
function packageRoot(dir: string): string {
  for (let d = dir; ; d = path.dirname(d)) {
    if (fs.existsSync(path.join(d, 'package.json'))) return d;
    if (path.dirname(d) === d) return dir;
  }
}

/**
 * The engine, once this platform's native binaries are known to be there: onnxruntime-node and
 * sharp load only then (operations.ts is required lazily), so a package for another platform
 * answers every call with a sentence naming the right package rather than a failed require().
 */
const engineReady: Promise<Engine> = (async () => {
  checkNativeModules(packageRoot(__dirname));
  const { Engine: EngineClass } = await import('./operations');
  return new EngineClass();
})();
engineReady.catch(() => undefined);
const active = new Set<number>();
const cancelled = new Set<number>();

function send(m: FromEngine): void {
  // A parent that went away cannot be told anything; the disconnect handler ends the process.
  if (process.connected) process.send!(m);
}

const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function serve(call: CallMessage): Promise<void> {
  const { id } = call;
  active.add(id);
  try {
    if (!isMethod(call.method)) throw new Error(`The engine has no method '${String(call.method)}'.`);
    const ctx: CallContext<Method> = {
      progress: (value) => send({ kind: 'progress', id, value }),
      isCancelled: async () => {
        await yieldToLoop();
        return cancelled.has(id);
      },
    };
    const engine = await engineReady;
    const method = engine[call.method] as (p: unknown, c: CallContext<Method>) => Promise<unknown>;
    const result = await method.call(engine, call.params, ctx);
    send({ kind: 'result', id, result });
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    send({ kind: 'error', id, error: { name: e instanceof CancelledError ? 'CancelledError' : e.name, message: e.message, stack: e.stack } });
  } finally {
    active.delete(id);
    cancelled.delete(id);
  }
}

process.on('message', (m: ToEngine) => {
  if (m.kind === 'cancel') {
    if (active.has(m.id)) cancelled.add(m.id);
  } else if (m.kind === 'call') void serve(m);
});

// The extension host went away (window closed, extension host restarted): nothing is left to serve.
process.on('disconnect', () => {
  void engineReady.then((e) => e.dispose(), () => undefined).finally(() => process.exit(0));
});

send({ kind: 'ready', pid: process.pid });
