import * as fs from 'fs';
import { UsageError } from '../errors';
import { compare, reportPasses } from '../compare/compare';
import { DEFAULT_TOLERANCE } from '../compare/metrics';
import { htmlReport } from '../compare/htmlReport';
import { reportToJson } from '../compare/reportJson';
import { textReport } from '../compare/textReport';
import type { ToleranceRule } from '../compare/types';
import { parseProvider } from './provider';
import { parse, positiveInt, requireOption } from './args';
import { PRESET_OPTIONS, PRESET_USAGE, presetFromOptions } from './presetOption';

export const COMPARE_USAGE =
  `dla-lens compare --reference REF [--candidate CAND.(pth|safetensors|pdparams|onnx)] [--reference-key KEY] [--candidate-key KEY] [--dump DUMP.npz|.npy] [--input IMAGE|IN.npz|DIR|LIST.txt|BATCH.npz] [--limit N] ${PRESET_USAGE} ` +
  '[--seed N] [--tol 1e-3 | --atol A --rtol R] [--no-local] [--no-diagnose] [--json] [--out REPORT.json] [--html REPORT.html] [--provider P]';

function number(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const x = Number(v);
  if (!Number.isFinite(x) || x < 0) throw new UsageError(`${flag} must be a non-negative number; got '${v}'.`);
  return x;
}

function toleranceFrom(values: { tol?: string; atol?: string; rtol?: string }): ToleranceRule {
  const tol = number('--tol', values.tol);
  const atol = number('--atol', values.atol);
  const rtol = number('--rtol', values.rtol);
  if (tol !== undefined && (atol !== undefined || rtol !== undefined)) throw new UsageError('Give either --tol or --atol/--rtol, not both.');
  if (atol !== undefined || rtol !== undefined) return { mode: 'allclose', atol: atol ?? 0, rtol: rtol ?? 0 };
  return tol !== undefined ? { mode: 'scaled-max', tol } : DEFAULT_TOLERANCE;
}

/** Exit 0 when everything passes, 1 when something diverges, 2 on bad input (thrown, mapped by main). */
export async function compareCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    reference: { type: 'string' }, candidate: { type: 'string' }, dump: { type: 'string' },
    'reference-key': { type: 'string' }, 'candidate-key': { type: 'string' },
    input: { type: 'string' }, limit: { type: 'string' }, ...PRESET_OPTIONS, seed: { type: 'string' },
    tol: { type: 'string' }, atol: { type: 'string' }, rtol: { type: 'string' },
    'no-local': { type: 'boolean' }, 'no-diagnose': { type: 'boolean' },
    json: { type: 'boolean' }, out: { type: 'string' }, html: { type: 'string' }, provider: { type: 'string', default: 'auto' },
  });
  if (positionals.length) throw new UsageError(`Unexpected argument '${positionals[0]}'. Usage: ${COMPARE_USAGE}`);
  // Resolved here so that a bad preset or config file fails before any weights are read.
  const preset = presetFromOptions(values);
  const { report } = await compare({
    reference: requireOption(values.reference, '--reference'),
    candidate: values.candidate,
    referenceKey: values['reference-key'],
    candidateKey: values['candidate-key'],
    dump: values.dump,
    input: values.input,
    limit: positiveInt('--limit', values.limit),
    // Neither given: compare's default (a hub folder's own pretrained_cfg, else timm).
    preset: values.preset === undefined && values['preset-config'] === undefined ? undefined : preset.name,
    presetConfig: values['preset-config'],
    seed: number('--seed', values.seed),
    tolerance: toleranceFrom(values),
    provider: parseProvider(values.provider!),
    local: !values['no-local'],
    diagnose: !values['no-diagnose'],
    onProgress: values.json ? undefined : (m) => process.stderr.write(`${m}\n`),
  });
  if (values.out) fs.writeFileSync(values.out, reportToJson(report));
  // A self-contained page with the extension's tree, the worst layers and the diagnosis.
  if (values.html) {
    fs.writeFileSync(values.html, htmlReport(report));
    if (!values.json) process.stderr.write(`HTML report: ${values.html}\n`);
  }
  console.log(values.json ? reportToJson(report) : textReport(report));
  return reportPasses(report) ? 0 : 1;
}
