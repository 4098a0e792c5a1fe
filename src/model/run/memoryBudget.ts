import * as os from 'os';
import { UsageError } from '../errors';

/**
 * A check before an allocation that the input decides (a batch of images, every record of a tap
 * graph at a large input size): when it cannot fit in the memory this machine has free, the run
 * stops at once with a sentence saying how much it needs, how much there is and what to change,
 * instead of dying in the middle ("Array buffer allocation failed", or the OOM killer).
 * Free memory is what the OS reports as available; half of it is the budget, since onnxruntime's
 * arena and the copies in flight need room beside the buffers counted here.
 */
export function checkMemory(what: string, bytes: number, advice: string, available = os.freemem()): void {
  const budget = available / 2;
  if (bytes <= budget) return;
  throw new UsageError(`${what} needs about ${gb(bytes)} of memory, more than half of the ${gb(available)} this machine has free; ${advice}`);
}

export function gb(bytes: number): string {
  return bytes >= 2 ** 30 ? `${(bytes / 2 ** 30).toFixed(1)} GB` : `${Math.max(1, Math.round(bytes / 2 ** 20))} MB`;
}
