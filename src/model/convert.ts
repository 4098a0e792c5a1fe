import * as fs from 'fs';
import * as path from 'path';
import { detectVariant } from './dla/detect';
import { isIgnoredForComparison, paddleName, toTimmNames } from './dla/keymap';
import { buildModuleTree, expectedWeights } from './dla/moduleTree';
import { UsageError } from './errors';
import { readCheckpoint } from './formats/registry';
import { writePdparams } from './formats/write/pdparamsWriter';
import { archiveNameFor, writePth } from './formats/write/pthWriter';
import { writeSafetensors } from './formats/write/safetensorsWriter';
import type { Checkpoint, FormatId, Tensor } from './tensor';

/**
 * `dla-lens convert IN OUT`: weights from any format the registry reads, written as .pth,
 * .safetensors or .pdparams (chosen by OUT's extension). Names go through timm's first (the
 * canonical naming), then to the target's: Paddle renames BatchNorm's running statistics
 * (`_mean`, `_variance`) and has no `num_batches_tracked`. Values are copied bit for bit. When
 * the weights fit a timm DLA variant they are written in its state_dict order, whatever order the
 * source had (a .safetensors file sorts its tensors), so Paddle's numbered parameter names and a
 * .pth's storage keys come out as torch and Paddle would make them.
 */

export type OutputFormat = 'pth' | 'safetensors' | 'pdparams';

const OUTPUT_EXTENSIONS: Record<string, OutputFormat> = {
  '.pth': 'pth', '.pt': 'pth', '.safetensors': 'safetensors', '.pdparams': 'pdparams',
};

export function outputFormatFor(file: string): OutputFormat {
  const format = OUTPUT_EXTENSIONS[path.extname(file).toLowerCase()];
  if (!format) {
    throw new UsageError(
      `${file}: cannot tell the output format from the extension '${path.extname(file) || '(none)'}'; ` +
        'use .pth or .pt (PyTorch), .safetensors or .pdparams (Paddle).',
    );
  }
  return format;
}

export interface ConvertedTensors {
  /** In the target's naming; in the variant's state_dict order when one fits, else the source's. */
  readonly tensors: Map<string, Tensor>;
  /** [source name, written name] for every name that changed. */
  readonly renamed: readonly (readonly [string, string])[];
  /** Source names not written (Paddle has no num_batches_tracked). */
  readonly dropped: readonly string[];
  /** The timm DLA variant the weights fit, or null. */
  readonly variant: string | null;
  /** Sentences for the user: what was dropped or filled in, and why it is harmless. */
  readonly notes: readonly string[];
}

/** The checkpoint's tensors renamed for `to`; throws UsageError when the target cannot hold them faithfully. */
export function convertTensors(ckpt: Checkpoint, to: OutputFormat): ConvertedTensors {
  const timm = toTimmNames(ckpt.tensors);
  const detection = detectVariant(timm.tensors);
  const variant = detection.variant?.name ?? null;
  const ordered = detection.variant ? stateDictOrder(timm.tensors, [...expectedWeights(buildModuleTree(detection.variant)).keys()]) : timm.tensors;
  const back = new Map(timm.renamed.map(([from, to]) => [to, from] as const));
  const sourceName = (timmKey: string): string => back.get(timmKey) ?? timmKey;
  const tensors = new Map<string, Tensor>();
  const renamed: [string, string][] = [];
  const dropped: string[] = [];
  const notes: string[] = [];
  for (const [key, t] of ordered) {
    let name = key;
    if (to === 'pdparams') {
      if (isIgnoredForComparison(key)) {
        dropped.push(sourceName(key));
        continue;
      }
      if (key.endsWith('.weight') && t.shape.length === 2) {
        throw new UsageError(
          `${ckpt.file}: '${key}' is a 2-d weight (a Linear layer), which Paddle stores transposed ([in, out]); ` +
            'converting it name for name would silently swap its axes, so it is refused. DLA has no Linear layer: its fc is a 1x1 conv.',
        );
      }
      if (t.dtype === 'bfloat16') {
        throw new UsageError(`${ckpt.file}: '${key}' is bfloat16, which numpy (and so .pdparams) cannot hold; convert the checkpoint to float32 first.`);
      }
      name = paddleName(key);
    }
    if (name !== sourceName(key)) renamed.push([sourceName(key), name]);
    tensors.set(name, t);
  }
  if (tensors.size === 0) throw new UsageError(`${ckpt.file}: there are no tensors to write.`);
  if (dropped.length > 0) {
    notes.push(`Dropped ${dropped.length} num_batches_tracked buffer${dropped.length > 1 ? 's' : ''}: Paddle's BatchNorm has none, and nothing in eval mode reads them.`);
  }
  const hasBn = [...timm.tensors.keys()].some((k) => k.endsWith('.running_var'));
  const hasCount = [...timm.tensors.keys()].some((k) => k.endsWith('.num_batches_tracked'));
  if (to !== 'pdparams' && hasBn && !hasCount) {
    notes.push(
      'The source has no num_batches_tracked buffers (Paddle keeps none); none are written. torch fills them in at ' +
        "load_state_dict (the file carries no module versions), so timm's strict load accepts it.",
    );
  }
  if (!variant) notes.push(`The weights fit no timm DLA variant (${detection.reason}); they were converted name for name all the same.`);
  return { tensors, renamed, dropped, variant, notes };
}

/** `tensors` with the names of `order` first, in that order, then the rest in their own order. */
function stateDictOrder(tensors: ReadonlyMap<string, Tensor>, order: readonly string[]): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const k of order) {
    const t = tensors.get(k);
    if (t) out.set(k, t);
  }
  for (const [k, t] of tensors) if (!out.has(k)) out.set(k, t);
  return out;
}

export interface ConvertResult extends Omit<ConvertedTensors, 'tensors'> {
  readonly input: string;
  readonly output: string;
  readonly from: FormatId;
  readonly to: OutputFormat;
  readonly tensorCount: number;
  readonly bytes: number;
}

/** The file bytes for `to`, as parts in order. */
export function encodeTensors(
  tensors: ReadonlyMap<string, Tensor>, to: OutputFormat,
  options: { output: string; variant?: string | null; source?: Checkpoint } = { output: 'archive.pth' },
): Uint8Array[] {
  switch (to) {
    case 'pth':
      return writePth(tensors, { archiveName: archiveNameFor(options.output) });
    case 'safetensors': {
      const metadata: Record<string, string> = { format: 'pt' };
      // A safetensors source keeps its own metadata; otherwise the variant is named as timm's files do.
      if (options.source?.format === 'safetensors') Object.assign(metadata, options.source.metadata, { format: 'pt' });
      else if (options.variant) metadata.model = options.variant;
      return writeSafetensors(tensors, { metadata });
    }
    case 'pdparams':
      return writePdparams(tensors, { parameterNames: sourceParameterNames(options.source, tensors) });
  }
}

/** A .pdparams source's own parameter names, when it has one for every tensor written. */
function sourceParameterNames(source: Checkpoint | undefined, tensors: ReadonlyMap<string, Tensor>): Map<string, string> | undefined {
  const json = source?.format === 'pdparams' ? source.metadata.structuredToParameterName : undefined;
  if (!json) return undefined;
  const names = new Map(Object.entries(JSON.parse(json) as Record<string, string>));
  return [...tensors.keys()].every((k) => names.has(k)) ? names : undefined;
}

/** Writes `parts` to `file` through a temporary file renamed at the end, so a failure leaves no half file. */
export function writeParts(file: string, parts: readonly Uint8Array[]): number {
  const tmp = `${file}.partial-${process.pid}`;
  let bytes = 0;
  const fd = fs.openSync(tmp, 'w');
  try {
    for (const p of parts) {
      let done = 0;
      while (done < p.length) done += fs.writeSync(fd, p, done, p.length - done);
      bytes += p.length;
    }
    fs.closeSync(fd);
    fs.renameSync(tmp, file);
  } catch (e) {
    try {
      fs.closeSync(fd);
    } catch {
      // already closed
    }
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  return bytes;
}

export function convertFile(input: string, output: string): ConvertResult {
  const to = outputFormatFor(output);
  if (fs.existsSync(output) && path.resolve(input) === path.resolve(output)) {
    throw new UsageError(`${output}: the output would overwrite the input; write to another file.`);
  }
  const ckpt = readCheckpoint(input);
  if (ckpt.format === 'onnx') {
    throw new UsageError(
      `${input}: an ONNX export's initializers are not a state_dict (BatchNorm is folded into the convolutions and names are the exporter's), so it cannot be converted to weights.`,
    );
  }
  const converted = convertTensors(ckpt, to);
  const parts = encodeTensors(converted.tensors, to, { output, variant: converted.variant, source: ckpt });
  const bytes = writeParts(output, parts);
  const { tensors, ...rest } = converted;
  return { ...rest, input, output, from: ckpt.format, to, tensorCount: tensors.size, bytes };
}
