/**
 * An evaluation's decode-and-preprocess thread: reads an image file, decodes it once per decoder
 * its presets need, and returns each preset's float32 tensor (transferred, not copied). The main
 * thread keeps several of these busy while onnxruntime runs batches in the inference threads.
 */
import * as fs from 'fs';
import { parentPort } from 'worker_threads';
import { decodeFor, preprocessDecoded } from '../run/preprocess';
import type { PreprocessPreset } from '../run/presets';
import type { RgbImage } from '../run/decodeImage';
import type { PreprocessJob, PreprocessReply } from './workerMessages';

let presets: readonly PreprocessPreset[] = [];

async function run(job: PreprocessJob): Promise<PreprocessReply> {
  const t0 = performance.now();
  try {
    const bytes = new Uint8Array(fs.readFileSync(job.file));
    const decoded = new Map<string, RgbImage>();
    const tensors: Float32Array[] = [];
    const shapes: number[][] = [];
    for (const p of presets) {
      let image = decoded.get(p.decoder);
      if (!image) decoded.set(p.decoder, (image = await decodeFor(p, bytes, job.file)));
      const t = preprocessDecoded(image, p, job.file).input;
      tensors.push(t.data as Float32Array);
      shapes.push([...t.shape]);
    }
    return { id: job.id, tensors, shapes, ms: performance.now() - t0 };
  } catch (err) {
    return { id: job.id, error: err instanceof Error ? err.message : String(err), ms: performance.now() - t0 };
  }
}

parentPort!.on('message', (m: { presets: readonly PreprocessPreset[] } | PreprocessJob) => {
  if ('presets' in m) {
    presets = m.presets;
    return;
  }
  void run(m).then((reply) => parentPort!.postMessage(reply, 'tensors' in reply && reply.tensors ? reply.tensors.map((t) => t.buffer as ArrayBuffer) : []));
});
