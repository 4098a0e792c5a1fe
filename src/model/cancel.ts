/**
 * Cancellation for long model work (a comparison, an evaluation). The work checks between its
 * steps (sessions, batches), never inside a native call. The check may be asynchronous: in the
 * engine process a Cancel arrives as a message, which can only be read once the event loop turns,
 * so its check yields to the loop first.
 */
export type CancelCheck = () => boolean | Promise<boolean>;

export class CancelledError extends Error {
  constructor(what = 'The work') {
    super(`${what} was cancelled.`);
    this.name = 'CancelledError';
  }
}

export async function throwIfCancelled(check: CancelCheck | undefined, what?: string): Promise<void> {
  if (check && (await check())) throw new CancelledError(what);
}
