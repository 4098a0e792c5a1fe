/**
 * Errors are the documentation: each one names the file, the key or byte offset, what was expected
 * and what was found, in a full sentence a porter can act on at 2 a.m.
 */
export class FormatError extends Error {
  constructor(
    readonly file: string,
    readonly detail: string,
    readonly offset?: number,
    readonly key?: string,
  ) {
    super(
      `${file}: ${detail}` +
        (key !== undefined ? ` (key '${key}')` : '') +
        (offset !== undefined ? ` (at byte offset ${offset})` : ''),
    );
    this.name = 'FormatError';
  }
}

/** Bad command-line or API input that is not a file-format problem (missing option, unknown variant). */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
