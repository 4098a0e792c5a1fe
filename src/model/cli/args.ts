import { parseArgs, type ParseArgsConfig } from 'util';
import { UsageError } from '../errors';

/**
 * util.parseArgs with its errors turned into UsageError (exit code 2). The messages do not name the
 * command: main() puts "dla-lens <command>: " in front of every error, once.
 */
export function parse<T extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: T) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

export function requireOption(value: string | undefined, flag: string): string {
  if (value === undefined || value === '') throw new UsageError(`${flag} is required.`);
  return value;
}

/** A flag's value as a positive integer (undefined when the flag is absent). */
export function positiveInt(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag} must be a positive integer; got '${v}'.`);
  return n;
}
