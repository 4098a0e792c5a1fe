import type { Checkpoint, FormatId } from '../tensor';
import type { ReadOptions } from './stateDict';

/**
 * One reader per format (after Netron): a cheap `match` that sniffs the first bytes (never parses
 * a whole header), and a `read` that parses untrusted bytes into the shared Checkpoint vocabulary.
 */
export interface FormatReader {
  readonly id: FormatId;
  /** Lower-case file extensions, with the dot, that suggest this format (".pth"). */
  readonly extensions: readonly string[];
  /** `head` is the first min(64 KiB, size) bytes of the file. Must not throw. */
  match(head: Uint8Array, file: string): boolean;
  /**
   * Parse the whole file. Throws FormatError naming file and offset on bad input. `options` choose
   * among wrapped weights (torch.save); readers of formats without wrappers ignore them.
   */
  read(bytes: Uint8Array, file: string, options?: ReadOptions): Checkpoint;
}
