import * as fs from 'fs';
import { toTimmNames, toTimmRecordNames } from '../dla/keymap';
import { readCheckpoint } from '../formats/registry';
import { forwardTaps } from '../run/forward';
import { dlaReadOptions, loadModel, type LoadedModel } from '../run/loadModel';
import type { ModelInput } from '../run/inputSource';
import type { ProviderSetting } from '../run/session';
import type { Checkpoint, Tensor } from '../tensor';
import { DumpStream } from './dumpStream';
import { InputSet } from './inputSet';
import { runOnnxCandidate } from './onnxCandidate';
import { isInputSet, resolveInputSpec } from './inputSpec';
import type { CompareReport, SideInfo } from './types';

/**
 * Where one side's records (activations) come from after a comparison, so that whatever shows
 * them (the detail pane, a diagnosis view) asks the side for a record by key and never rebuilds the
 * side itself. The compare engine keeps only summaries; a side re-runs its model once on the
 * comparison's own input when a record is first asked for, or reads its dump, under the same
 * record names the comparison used (Paddle's `pool` is `global_pool.pool` here too).
 */
export interface RecordSource {
  /** What the records are, for messages ("dla60.pth re-run on probe.png (timm)"). */
  readonly description: string;
  /**
   * The record, or undefined when the side does not record it. `image`: which image of a comparison
   * on many inputs (its one image is re-run alone); a single comparison has only image 0.
   */
  get(name: string, image?: number): Promise<Tensor | undefined>;
  /** Drops the records held in memory (they are recomputed if asked for again). */
  release(): void;
}

function onlyImage(image: number): void {
  if (image !== 0) throw new Error(`This comparison ran on one input; there is no image ${image}.`);
}

/** A dump's records, renamed to timm keys exactly as the comparison renamed them. */
export class DumpRecords implements RecordSource {
  private records: ReadonlyMap<string, Tensor> | undefined;
  constructor(readonly file: string, records?: ReadonlyMap<string, Tensor>) {
    this.records = records;
  }
  get description(): string {
    return this.file;
  }
  async get(name: string, image = 0): Promise<Tensor | undefined> {
    onlyImage(image);
    this.records ??= dumpRecords(readCheckpoint(this.file));
    return this.records.get(name);
  }
  release(): void {
    this.records = undefined;
  }
}

export function dumpRecords(dump: Checkpoint): Map<string, Tensor> {
  return toTimmRecordNames(dump.tensors).tensors;
}

/** Runs a model once with every record exposed, when a record is first asked for. */
export class ModelRecords implements RecordSource {
  private records: Promise<ReadonlyMap<string, Tensor>> | undefined;
  constructor(
    private readonly model: () => LoadedModel,
    private readonly input: ModelInput,
    private readonly provider: ProviderSetting,
    readonly description: string,
  ) {}
  async get(name: string, image = 0): Promise<Tensor | undefined> {
    onlyImage(image);
    this.records ??= forwardTaps(this.model(), this.input.tensor, { provider: this.provider }).then((r) => r.records);
    return (await this.records).get(name);
  }
  release(): void {
    this.records = undefined;
  }
}

/** An ONNX export, run with every tensor exposed and mapped to record keys, when first asked. */
export class OnnxRecords implements RecordSource {
  private records: Promise<ReadonlyMap<string, Tensor>> | undefined;
  constructor(
    readonly file: string,
    private readonly reference: () => LoadedModel,
    private readonly input: ModelInput,
    private readonly provider: ProviderSetting,
  ) {}
  get description(): string {
    return this.file;
  }
  async get(name: string, image = 0): Promise<Tensor | undefined> {
    onlyImage(image);
    this.records ??= runOnnxCandidate(this.file, this.reference().tree, this.input.tensor, { provider: this.provider }).then((r) => r.records);
    return (await this.records).get(name);
  }
  release(): void {
    this.records = undefined;
  }
}

/** A checkpoint candidate read again as the comparison read it (the same dict of a training checkpoint). */
function candidateCheckpoint(side: SideInfo): Checkpoint {
  return readCheckpoint(side.file, dlaReadOptions({ weightsKey: side.weightsKey }));
}

/** The candidate's weights run as the reference's architecture (the compare's own rule for a checkpoint candidate). */
export function candidateModel(reference: LoadedModel, candidate: Checkpoint): LoadedModel {
  return { ...reference, checkpoint: candidate, weights: toTimmNames(candidate.tensors).tensors };
}

/**
 * One side's records on a set of inputs: the image a view asks about is re-run alone (its records
 * kept until another image is asked for), or read from the dump's slice of that image.
 */
export class SetRecords implements RecordSource {
  private held: { image: number; records: Promise<ReadonlyMap<string, Tensor | undefined>> } | undefined;
  private dump: DumpStream | undefined;

  constructor(
    readonly description: string,
    private readonly inputs: InputSet,
    private readonly side: { kind: 'model'; model: () => LoadedModel } | { kind: 'onnx'; file: string; reference: () => LoadedModel } | { kind: 'dump'; file: string },
    private readonly provider: ProviderSetting,
  ) {}

  async get(name: string, image = 0): Promise<Tensor | undefined> {
    const side = this.side;
    if (side.kind === 'dump') {
      if (!(Number.isInteger(image) && image >= 0 && image < this.inputs.size)) throw new Error(`There is no image ${image} among the comparison's ${this.inputs.size}.`);
      this.dump ??= DumpStream.open(side.file);
      return this.dump.has(name) ? this.dump.slice(name, image, 1) : undefined;
    }
    if (this.held?.image !== image) {
      const records = this.inputs.image(image).then(async (input) => side.kind === 'model'
        ? (await forwardTaps(side.model(), input.tensor, { provider: this.provider })).records
        : (await runOnnxCandidate(side.file, side.reference().tree, input.tensor, { provider: this.provider })).records);
      this.held = { image, records };
    }
    return (await this.held.records).get(name);
  }

  release(): void {
    this.held = undefined;
    this.dump?.close();
    this.dump = undefined;
  }
}

/** Both sides of a comparison, and the input they ran on. */
export interface ComparisonSources {
  /** The one input of a single comparison (absent for a set of inputs: see `images`). */
  readonly input?: ModelInput;
  /** How many images a comparison on many inputs ran on (absent for a single comparison). */
  readonly images?: number;
  readonly reference: RecordSource;
  /** Absent when the candidate cannot be run (weights missing or of the wrong shape). */
  readonly candidate?: RecordSource;
}

/**
 * The sources of a report read back from disk (a reopened window): each side rebuilt from its
 * file, on the input the report names. Throws, saying what is gone, when that cannot be done.
 */
export async function sourcesForReport(report: CompareReport, provider: ProviderSetting): Promise<ComparisonSources> {
  if (!report.inputSpec) throw new Error('The report does not say how its input was made (it predates DLA Lens 0.2), so its activations cannot be recomputed.');
  for (const side of [report.reference, report.candidate]) {
    if (!fs.existsSync(side.file)) throw new Error(`${side.file} is gone, so its activations cannot be recomputed.`);
  }
  let ref: LoadedModel | undefined;
  const reference = (): LoadedModel => (ref ??= loadModel(report.reference.file, { weightsKey: report.reference.weightsKey }));
  if (isInputSet(report.inputSpec)) return setSources(report, new InputSet(report.inputSpec), reference, provider);
  const input = await resolveInputSpec(report.inputSpec);
  return {
    input,
    reference: new ModelRecords(reference, input, provider, sideDescription(report.reference, input)),
    candidate: candidateSource(report.candidate, reference, input, provider),
  };
}

function candidateSource(side: SideInfo, reference: () => LoadedModel, input: ModelInput, provider: ProviderSetting): RecordSource | undefined {
  switch (side.kind) {
    case 'dump': return new DumpRecords(side.file);
    case 'onnx': return new OnnxRecords(side.file, reference, input, provider);
    case 'checkpoint':
      return side.variant === null
        ? undefined
        : new ModelRecords(() => candidateModel(reference(), candidateCheckpoint(side)), input, provider, sideDescription(side, input));
  }
}

/** Both sides of a comparison on many inputs (the reference a model; the candidate as the report says). */
export function setSources(
  report: Pick<CompareReport, 'reference' | 'candidate'>, inputs: InputSet, reference: () => LoadedModel, provider: ProviderSetting,
  candidate?: () => LoadedModel,
): ComparisonSources {
  const side = report.candidate;
  const described = (file: string): string => `${file} re-run on one image of ${inputs.source}`;
  let cand: RecordSource | undefined;
  if (side.kind === 'dump') cand = new SetRecords(side.file, inputs, { kind: 'dump', file: side.file }, provider);
  else if (side.kind === 'onnx') cand = new SetRecords(described(side.file), inputs, { kind: 'onnx', file: side.file, reference }, provider);
  else if (side.variant !== null) {
    let model: LoadedModel | undefined;
    const load = candidate ?? ((): LoadedModel => (model ??= candidateModel(reference(), candidateCheckpoint(side))));
    cand = new SetRecords(described(side.file), inputs, { kind: 'model', model: load }, provider);
  }
  return {
    images: inputs.size,
    reference: new SetRecords(described(report.reference.file), inputs, { kind: 'model', model: reference }, provider),
    ...(cand ? { candidate: cand } : {}),
  };
}

export function sideDescription(side: Pick<SideInfo, 'file'>, input: ModelInput): string {
  return `${side.file} re-run on ${input.source}`;
}
