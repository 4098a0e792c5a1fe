import { parseArgs, type ParseArgsConfig } from 'util';
import { UsageError } from '../errors';

/** util.parseArgs with its errors turned into UsageError (exit code 2) that name the command. */
export function parse<T extends NonNullable<ParseArgsConfig['options']>>(command: string, argv: string[], options: T) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError(`dla-lens ${command}: ${(e as Error).message}`);
  }
}

export function requireOption(command: string, value: string | undefined, flag: string): string {
  if (value === undefined || value === '') throw new UsageError(`dla-lens ${command}: ${flag} is required.`);
  return value;
}
