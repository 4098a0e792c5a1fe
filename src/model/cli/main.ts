import { FormatError, UsageError } from '../errors';
import { classifyCommand, CLASSIFY_USAGE } from './classify';
import { compareCommand, COMPARE_USAGE } from './compare';
import { convertCommand, CONVERT_USAGE } from './convert';
import { evalCommand, EVAL_USAGE } from './eval';
import { inspectCommand, INSPECT_USAGE } from './inspect';
import { preprocessCommand, PREPROCESS_USAGE } from './preprocess';
import { runCommand, RUN_USAGE } from './run';

/**
 * `dla-lens`: the same engine as the extension, for terminals and CI gating.
 * Exit codes: 0 success / everything matches, 1 a comparison diverges, 2 bad input.
 */
type Command = { run: (argv: string[]) => Promise<number>; usage: string; summary: string };

const COMMANDS: Record<string, Command> = {
  inspect: { run: inspectCommand, usage: INSPECT_USAGE, summary: 'format, variant, parameters and key problems of a checkpoint' },
  run: { run: runCommand, usage: RUN_USAGE, summary: 'run a checkpoint with every layer tapped; write the records as .npz' },
  preprocess: { run: preprocessCommand, usage: PREPROCESS_USAGE, summary: 'an image through a preprocessing preset (timm, paddle, paddleclas, or a config file); with --against-preset, where two presets differ' },
  compare: { run: compareCommand, usage: COMPARE_USAGE, summary: 'where a port first diverges from the reference, and the likely cause' },
  classify: { run: classifyCommand, usage: CLASSIFY_USAGE, summary: 'top-k ImageNet classes of an image' },
  eval: { run: evalCommand, usage: EVAL_USAGE, summary: 'top-1/top-5 on labelled images; --against another checkpoint or preset: where they disagree' },
  convert: { run: convertCommand, usage: CONVERT_USAGE, summary: 'weights to .pth, .safetensors or .pdparams (Paddle names), by the output extension' },
};

function usage(): string {
  const lines = ['Usage: dla-lens <command> [options]', '', 'Commands:'];
  for (const [name, c] of Object.entries(COMMANDS)) lines.push(`  ${name.padEnd(11)} ${c.summary}`, `  ${''.padEnd(11)} ${c.usage}`);
  return lines.join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return name ? 0 : 2;
  }
  const command = COMMANDS[name];
  if (!command) {
    console.error(`dla-lens: unknown command '${name}'.\n\n${usage()}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(`${command.summary}\n\nUsage: ${command.usage}`);
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (e) {
    if (e instanceof FormatError || e instanceof UsageError) {
      console.error(`dla-lens ${name}: ${e.message}`);
      return 2;
    }
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'EISDIR') {
      console.error(`dla-lens ${name}: ${(e as Error).message}`);
      return 2;
    }
    throw e;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    console.error(`dla-lens: internal error: ${(e as Error).stack ?? e}`);
    process.exitCode = 3;
  },
);
