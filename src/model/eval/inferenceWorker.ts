/**
 * An evaluation's inference thread: one onnxruntime session per model (the fast graph, BatchNorm
 * folded) on one device, fed batches. onnxruntime-node's run() is synchronous on its calling
 * thread, so each device gets a thread of its own: batches on two GPUs (or two CPU sessions, as the
 * tests shard them) then really run at the same time, and the main thread stays free to decode,
 * score and see a Cancel.
 */
import { parentPort } from 'worker_threads';
import { createSession, describeSession, run, releaseSession, type RunnerSession } from '../run/session';
import type { InferenceJob, InferenceReply, InferenceSetup } from './workerMessages';

let sessions: RunnerSession[] = [];

function reply(m: InferenceReply, transfer: ArrayBuffer[] = []): void {
  parentPort!.postMessage(m, transfer);
}

async function setup(m: InferenceSetup): Promise<void> {
  try {
    for (const g of m.graphs) sessions.push(await createSession(g, { provider: m.provider, deviceId: m.deviceId, threads: m.threads }));
    reply({ kind: 'ready', provider: describeSession(sessions[0]) });
  } catch (err) {
    reply({ kind: 'ready', error: err instanceof Error ? err.message : String(err) });
  }
}

async function infer(m: InferenceJob): Promise<void> {
  const t0 = performance.now();
  try {
    const logits: Float32Array[] = [];
    for (const [model, input] of m.runs) {
      const out = await run(sessions[model], { input: { dtype: 'float32', shape: m.shapes[input], data: m.inputs[input] } }, ['logits']);
      logits.push(out.get('logits')!.data as Float32Array);
    }
    const classes = logits[0].length / m.shapes[0][0];
    reply({ kind: 'done', id: m.id, logits, classes, ms: performance.now() - t0 }, logits.map((l) => l.buffer as ArrayBuffer));
  } catch (err) {
    reply({ kind: 'done', id: m.id, error: err instanceof Error ? err.message : String(err) });
  }
}

parentPort!.on('message', (m: InferenceSetup | InferenceJob | { kind: 'close' }) => {
  if (m.kind === 'setup') void setup(m);
  else if (m.kind === 'run') void infer(m);
  else void Promise.all(sessions.map(releaseSession)).finally(() => {
    sessions = [];
    process.exit(0);
  });
});
