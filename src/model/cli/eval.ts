import { UsageError } from '../errors';
import { folderDataset, limited, listDataset, type Dataset } from '../eval/dataset';
import { evaluate, type EvalProgress, type EvalResult } from '../eval/evaluate';
import { loadPreset } from '../run/presetConfig';
import { parse, positiveInt, requireOption } from './args';
import { PRESET_OPTIONS, PRESET_USAGE, presetFromOptions } from './presetOption';
import { parseProvider } from './provider';

export const EVAL_USAGE =
  `dla-lens eval --weights W [--weights-key KEY] (--list LIST --root DIR | --folder DIR) ${PRESET_USAGE} ` +
  '[--against B [--against-key KEY] | --against-preset Q [--against-preset-config FILE]] [--batch N] [--limit N] ' +
  '[--out PREDICTIONS.jsonl [--resume]] [--json] [--provider auto|cuda|webgpu|cpu] [--devices 0,1|cpu,cpu]';

/**
 * dla-lens eval: exit 0 when the run completed (whatever the accuracy), 130 when Ctrl-C stopped it
 * (the partial result is printed; --resume continues it), 2 on bad input.
 */
export async function evalCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    weights: { type: 'string' }, 'weights-key': { type: 'string' },
    list: { type: 'string' }, root: { type: 'string' }, folder: { type: 'string' },
    ...PRESET_OPTIONS,
    against: { type: 'string' }, 'against-key': { type: 'string' },
    'against-preset': { type: 'string' }, 'against-preset-config': { type: 'string' },
    batch: { type: 'string' }, limit: { type: 'string' }, out: { type: 'string' }, resume: { type: 'boolean' },
    json: { type: 'boolean' }, provider: { type: 'string', default: 'auto' }, devices: { type: 'string' },
  });
  if (positionals.length) throw new UsageError(`Unexpected argument '${positionals[0]}'. Usage: ${EVAL_USAGE}`);
  const weights = requireOption(values.weights, '--weights');
  const dataset = limited(datasetFrom(values), positiveInt('--limit', values.limit));
  const preset = presetFromOptions(values, weights);
  const againstPreset = values['against-preset'] !== undefined || values['against-preset-config'] !== undefined
    ? loadPreset(values['against-preset'], values['against-preset-config'])
    : undefined;

  // Ctrl-C: stop after the batch in flight and print what was done; a second Ctrl-C ends at once.
  let stop = false;
  const onSigint = (): void => {
    if (stop) process.exit(130);
    stop = true;
    process.stderr.write('\nStopping after the batches in flight (Ctrl-C again to quit at once)...\n');
  };
  process.on('SIGINT', onSigint);
  const progress = progressPrinter(values.json ?? false);
  let result: EvalResult;
  try {
    result = await evaluate({
      weights, weightsKey: values['weights-key'], dataset, preset,
      against: values.against, againstKey: values['against-key'], againstPreset,
      batch: positiveInt('--batch', values.batch), provider: parseProvider(values.provider!), devices: values.devices,
      out: values.out, resume: values.resume, onProgress: progress, isCancelled: () => stop,
    });
  } finally {
    process.off('SIGINT', onSigint);
  }
  process.stderr.write(process.stderr.isTTY ? '\n' : '');
  console.log(values.json ? JSON.stringify(result, null, 2) : textResult(result));
  return result.partial ? 130 : 0;
}

function datasetFrom(v: { list?: string; root?: string; folder?: string }): Dataset {
  if (v.folder !== undefined && (v.list !== undefined || v.root !== undefined)) {
    throw new UsageError('Give --folder DIR (an ImageFolder tree) or --list LIST --root DIR (a list file), not both.');
  }
  if (v.folder !== undefined) return folderDataset(v.folder);
  if (v.list !== undefined) return listDataset(v.list, requireOption(v.root, '--root (the folder the list\'s paths are relative to)'));
  throw new UsageError(`Give the labelled images: --folder DIR or --list LIST --root DIR. Usage: ${EVAL_USAGE}`);
}

/** Count, rate and ETA on stderr: one updating line on a terminal, a line per 10% otherwise. */
function progressPrinter(quiet: boolean): (p: EvalProgress) => void {
  let lastTenth = -1;
  return (p) => {
    const eta = p.etaSeconds === undefined ? '' : `, ETA ${formatSeconds(p.etaSeconds)}`;
    const line = `${p.done}/${p.total} images, ${p.imagesPerSecond.toFixed(1)} img/s${eta}, top-1 so far ${(100 * p.top1).toFixed(2)}%`;
    if (process.stderr.isTTY) {
      process.stderr.write(`\r${line}\x1b[K`);
      return;
    }
    const tenth = Math.floor((10 * p.done) / p.total);
    if (!quiet && tenth !== lastTenth) {
      lastTenth = tenth;
      process.stderr.write(`${line}\n`);
    }
  };
}

function formatSeconds(s: number): string {
  if (s < 90) return `${Math.round(s)} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

const pct = (x: number): string => `${(100 * x).toFixed(2)}%`;

export function textResult(r: EvalResult): string {
  const out: string[] = [];
  out.push(`${r.weights} on ${r.dataset}${r.partial ? ' (PARTIAL: stopped before the end)' : ''}`);
  out.push(`  images     ${r.count} of ${r.total}${r.resumed ? ` (${r.resumed} from the predictions file)` : ''}${r.failed.length ? `, ${r.failed.length} failed` : ''}`);
  out.push(`  top-1      ${pct(r.top1)} (${r.correct1})`);
  out.push(`  top-5      ${pct(r.top5)} (${r.correct5})`);
  out.push(`  loss       ${r.loss.toFixed(4)} (mean cross-entropy)`);
  out.push(`  preset     ${r.preset}: ${r.presetDescription}`);
  out.push(`  provider   ${r.provider}${r.devices.length > 1 ? ` on ${r.devices.join(', ')}` : ''}, batch ${r.batch}, ${r.imagesPerSecond.toFixed(1)} img/s`);
  if (r.against) {
    out.push('', `against ${r.against.kind === 'preset' ? 'preset ' : ''}${r.against.source}`);
    out.push(`  top-1      ${pct(r.against.top1)} (${r.against.correct1})   top-5 ${pct(r.against.top5)}   loss ${r.against.loss.toFixed(4)}`);
    out.push(`  agreement  ${pct(r.agreement ?? 0)} of images have the same top-1; mean |logit difference| ${(r.meanAbsLogitDiff ?? 0).toExponential(3)}`);
    for (const d of (r.disagreements ?? []).slice(0, 10)) {
      out.push(`    ${d.image}  label ${d.label}: ${d.a[0]?.[0]} vs ${d.b[0]?.[0]}`);
    }
    if ((r.disagreements?.length ?? 0) > 10) out.push(`    ... ${r.disagreements!.length - 10} more (--json lists all)`);
  }
  if (r.confusions.length) {
    out.push('', 'most confused (label -> predicted)');
    for (const c of r.confusions.slice(0, 10)) out.push(`  ${String(c.count).padStart(5)}  ${c.labelName} -> ${c.predictedName}`);
  }
  const worst = [...r.perClass].filter((c) => c.count > 0).sort((a, b) => a.top1 - b.top1 || a.index - b.index).slice(0, 5);
  if (worst.length && r.perClass.length > 1) {
    out.push('', 'worst classes (top-1)');
    for (const c of worst) out.push(`  ${pct(c.top1).padStart(8)}  ${c.correct1}/${c.count}  ${c.name}`);
  }
  for (const f of r.failed.slice(0, 10)) out.push(`  FAILED ${f.image}: ${f.error}`);
  if (r.out) out.push('', `predictions: ${r.out}`);
  return out.join('\n');
}
