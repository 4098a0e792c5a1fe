import * as fs from 'fs';
import type { SideInfo } from '../../model/compare/types';
import { readCheckpoint } from '../../model/formats/registry';
import { forwardTaps } from '../../model/run/forward';
import type { LoadedModel } from '../../model/run/loadModel';
import type { ProviderSetting } from '../../model/run/session';
import type { Tensor } from '../../model/tensor';

/**
 * Where the detail pane's tensors come from. The compare engine returns summaries only, so the
 * tensors are fetched on the first detail request: read back from a dump file, or recomputed by
 * running the side's model once more on the same input (then kept while the panel is open).
 */
export interface ActivationSource {
  get(name: string): Promise<Tensor | undefined>;
}

/** An .npz / .npy dump, read on first use. */
export class DumpActivations implements ActivationSource {
  private records: ReadonlyMap<string, Tensor> | undefined;
  constructor(readonly file: string) {}
  async get(name: string): Promise<Tensor | undefined> {
    this.records ??= readCheckpoint(this.file).tensors;
    return this.records.get(name);
  }
}

/** A model re-run on the comparison's input, once, on first use. */
export class RerunActivations implements ActivationSource {
  private records: Promise<ReadonlyMap<string, Tensor>> | undefined;
  constructor(private readonly model: () => LoadedModel, private readonly input: Tensor, private readonly provider: ProviderSetting) {}
  async get(name: string): Promise<Tensor | undefined> {
    this.records ??= forwardTaps(this.model(), this.input, { provider: this.provider }).then((r) => r.records);
    return (await this.records).get(name);
  }
}

/** The source for a side of a reopened report, or undefined when its activations are gone. */
export function reopenSide(side: SideInfo): ActivationSource | undefined {
  return side.kind === 'dump' && fs.existsSync(side.file) ? new DumpActivations(side.file) : undefined;
}
