import * as fs from 'fs';
import { FormatError } from '../errors';

/**
 * Random access to a file's bytes, so zip-based formats can read their directory and then each
 * entry on its own instead of the whole file at once. Reading a large checkpoint entry by entry
 * puts each storage in its own allocation: aligned for typed-array views, and memory the allocator
 * can hand back on the next load (faulting in 88 MB of fresh pages costs more than the copy).
 */
export interface ByteSource {
  readonly length: number;
  /** Bytes [offset, offset + length): a view for in-memory sources, a fresh buffer for files. */
  read(offset: number, length: number): Uint8Array;
}

export function memorySource(bytes: Uint8Array, file: string): ByteSource {
  return {
    length: bytes.length,
    read: (offset, length) => {
      if (offset < 0 || length < 0 || offset + length > bytes.length) {
        throw new FormatError(file, `A read of ${length} bytes would run past the end of the ${bytes.length}-byte data.`, offset);
      }
      return bytes.subarray(offset, offset + length);
    },
  };
}

/** A file read with positioned reads; close() it when done (readers keep no reference to it). */
export class FileSource implements ByteSource {
  private constructor(
    private readonly fd: number,
    readonly length: number,
    readonly file: string,
  ) {}

  static open(filePath: string): FileSource {
    const fd = fs.openSync(filePath, 'r');
    try {
      return new FileSource(fd, fs.fstatSync(fd).size, filePath);
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
  }

  read(offset: number, length: number): Uint8Array {
    if (offset < 0 || length < 0 || offset + length > this.length) {
      throw new FormatError(this.file, `A read of ${length} bytes would run past the end of the ${this.length}-byte file.`, offset);
    }
    // Its own allocation (not Node's shared pool), so byteOffset is 0 and typed views line up.
    const out = Buffer.allocUnsafeSlow(length);
    let done = 0;
    while (done < length) {
      const n = fs.readSync(this.fd, out, done, length - done, offset + done);
      if (n === 0) throw new FormatError(this.file, 'The file became shorter while it was being read.', offset + done);
      done += n;
    }
    return new Uint8Array(out.buffer, 0, length);
  }

  /** The same read on libuv's thread pool, so several can fault in their pages at once. */
  readAsync(offset: number, length: number): Promise<Uint8Array> {
    if (offset < 0 || length < 0 || offset + length > this.length) {
      return Promise.reject(new FormatError(this.file, `A read of ${length} bytes would run past the end of the ${this.length}-byte file.`, offset));
    }
    const out = Buffer.allocUnsafeSlow(length);
    return new Promise((resolve, reject) => {
      const step = (done: number): void => {
        if (done === length) return resolve(new Uint8Array(out.buffer, 0, length));
        fs.read(this.fd, out, done, length - done, offset + done, (err, n) => {
          if (err) return reject(err);
          if (n === 0) return reject(new FormatError(this.file, 'The file became shorter while it was being read.', offset + done));
          step(done + n);
        });
      };
      step(0);
    });
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}

/**
 * A file opened for each read: what a lazily read checkpoint keeps after the reader returns, so no
 * file stays open while the tensors wait to be used. A file that changed since the first read (its
 * size or modification time) is an error, not a mix of two files' bytes.
 */
export class ReopeningSource implements ByteSource {
  private constructor(readonly file: string, readonly length: number, private readonly mtimeMs: number) {}

  static open(filePath: string): ReopeningSource {
    const st = fs.statSync(filePath);
    return new ReopeningSource(filePath, st.size, st.mtimeMs);
  }

  read(offset: number, length: number): Uint8Array {
    let src: FileSource;
    try {
      src = FileSource.open(this.file);
    } catch (e) {
      throw new FormatError(this.file, `The file could not be opened again to read its tensors (${(e as Error).message}); it was moved or deleted after it was opened.`, offset);
    }
    try {
      const st = fs.statSync(this.file);
      if (src.length !== this.length || st.mtimeMs !== this.mtimeMs) {
        throw new FormatError(this.file, `The file changed on disk after it was opened (${this.length} bytes then, ${src.length} now); open it again.`, offset);
      }
      return src.read(offset, length);
    } finally {
      src.close();
    }
  }
}

/**
 * A source whose given ranges were read ahead, concurrently; a reader then finds them ready. Reads
 * of other ranges (directory, headers) go to the underlying source as usual.
 */
export async function prefetch(source: FileSource, ranges: readonly (readonly [number, number])[]): Promise<ByteSource> {
  const ready = new Map<number, Uint8Array>();
  await Promise.all(ranges.map(async ([offset, length]) => ready.set(offset, await source.readAsync(offset, length))));
  return {
    length: source.length,
    read: (offset, length) => {
      const hit = ready.get(offset);
      return hit && hit.length === length ? hit : source.read(offset, length);
    },
  };
}
