import * as fs from 'fs';
import { UsageError } from '../errors';
import type { FailedImage, ImageRecord } from './scoring';

/**
 * The predictions file (`--out PREDICTIONS.jsonl`): a header line saying what was run, then one
 * JSON line per image as it is done (its top-5, loss, label; both sides in agreement runs), or per
 * image that failed. It is the run's complete record: `--resume` replays it into the totals and
 * evaluates only the images it lacks, so an interrupted 50,000-image run continues where it stopped
 * and memory stays flat (nothing per image is kept in memory but what is being batched).
 */

export interface RunHeader {
  readonly dlaLensEval: 1;
  readonly weights: string;
  readonly against?: string;
  readonly preset: string;
  readonly againstPreset?: string;
  readonly dataset: string;
  readonly count: number;
}

export type Line = ImageRecord | FailedImage;

function isFailed(l: Line): l is FailedImage {
  return 'error' in l;
}

/** Appends lines as they come; each batch is one write, so a kill leaves at most one partial line. */
export class PredictionsWriter {
  private readonly fd: number;

  constructor(readonly file: string, header: RunHeader | undefined) {
    this.fd = fs.openSync(file, header ? 'w' : 'a');
    if (header) fs.writeSync(this.fd, `${JSON.stringify(header)}\n`);
  }

  write(lines: readonly Line[]): void {
    if (lines.length > 0) fs.writeSync(this.fd, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}

export interface Resumed {
  readonly records: ImageRecord[];
  readonly failed: FailedImage[];
  /** Bytes of complete lines; a torn last line (the process was killed mid-write) is cut off. */
  readonly validBytes: number;
}

/**
 * Reads a predictions file for `--resume`, checking that it belongs to the same run (weights, the
 * other side, presets, dataset and its size): resuming someone else's run would mix two runs' totals.
 */
export function readPredictions(file: string, expected: RunHeader): Resumed {
  const text = fs.readFileSync(file, 'utf8');
  // The last element after the final newline is '' for a whole file, or a line torn by a kill: dropped either way.
  const complete = text.split('\n').slice(0, -1);
  const validBytes = Buffer.byteLength(complete.map((l) => `${l}\n`).join(''));
  if (complete.length === 0) throw new UsageError(`${file}: empty; there is nothing to resume (run without --resume).`);
  let header: RunHeader;
  try {
    header = JSON.parse(complete[0]) as RunHeader;
  } catch {
    throw new UsageError(`${file}:1: not a DLA Lens predictions file (its first line is not the run's JSON header).`);
  }
  if (header.dlaLensEval !== 1) throw new UsageError(`${file}:1: not a DLA Lens predictions file (no "dlaLensEval": 1 header).`);
  for (const key of ['weights', 'against', 'preset', 'againstPreset', 'dataset', 'count'] as const) {
    if (header[key] !== expected[key]) {
      throw new UsageError(
        `${file}: it records another run (${key} ${JSON.stringify(header[key])}, this run has ${JSON.stringify(expected[key])}); ` +
          'give another --out, or drop --resume to start over.',
      );
    }
  }
  const records: ImageRecord[] = [];
  const failed: FailedImage[] = [];
  const seen = new Set<number>();
  complete.slice(1).forEach((raw, k) => {
    let l: Line;
    try {
      l = JSON.parse(raw) as Line;
    } catch {
      throw new UsageError(`${file}:${k + 2}: not a JSON line; the file was edited or damaged.`);
    }
    if (!Number.isInteger(l.i) || l.i < 0 || l.i >= expected.count || seen.has(l.i)) {
      throw new UsageError(`${file}:${k + 2}: image index ${JSON.stringify(l.i)} is out of range or repeated.`);
    }
    seen.add(l.i);
    if (isFailed(l)) failed.push(l);
    else records.push(l);
  });
  return { records, failed, validBytes };
}
