import * as vscode from 'vscode';
import {
  checkEvaluation, evaluationProtocol, type EvaluationData, type EvaluationProtocol, type EvaluationRequest,
} from '../../shared/evaluationProtocol';
import type { Log } from '../log';
import { ResultViews } from '../resultViews';

/**
 * The evaluation results view: the accuracy figures, per-class bars, the most confused pairs and,
 * for agreement runs, the disagreements with thumbnails. Clicking a disagreement opens the two
 * sides on that image: the comparison view of the two checkpoints, or Compare Preprocessing of the
 * two presets. One panel per run; a reloaded window shows the results again.
 */
export type EvaluationViews = ResultViews<EvaluationProtocol, EvaluationData>;

export function evaluationViews(extensionUri: vscode.Uri, log: Log): EvaluationViews {
  let runs = 0;
  return new ResultViews({
    viewType: 'dlaLens.evaluation', page: 'evaluation', protocol: evaluationProtocol,
    what: 'an evaluation', check: checkEvaluation,
    // Every run gets its own panel (a restored one too).
    key: () => String(++runs), title: (d) => d.title,
    ready: (data) => ({ type: 'evaluationData', data }),
    push: (data) => ({ type: 'evaluationChanged', data }),
    request: async (req: EvaluationRequest, data) => {
      if (req.type !== 'openDisagreement') throw new Error(`The evaluation page has no request '${req.type}'.`);
      return { type: 'opened', message: await openDisagreement(data, req.i, log) };
    },
  }, extensionUri, log);
}

/** The two sides on one image: the comparison view (two checkpoints) or Compare Preprocessing (two presets). */
async function openDisagreement(data: EvaluationData, i: number, log: Log): Promise<string> {
  const d = data.disagreements?.find((x) => x.i === i);
  const run = data.run;
  if (!d) throw new Error(`Image ${i} is not among the disagreements shown.`);
  if (run.against) {
    log.info(`Comparing ${data.weights} with ${run.against} on ${d.file}`);
    await vscode.commands.executeCommand('dlaLens.compareCheckpoints', { reference: data.weights, candidate: run.against, input: d.file });
    return `Comparing the two checkpoints on ${d.image}.`;
  }
  if (run.againstPreset) {
    // run.preset names a hub folder's config.json when its pretrained_cfg was the preset (engine/evaluation.ts).
    const a = run.preset ?? { preset: data.preset };
    await vscode.commands.executeCommand('dlaLens.comparePreprocessing', { image: d.file, a, b: run.againstPreset, checkpoint: data.weights });
    return `Comparing the two preprocessings of ${d.image}.`;
  }
  throw new Error('This evaluation compared nothing; there are no two sides to open.');
}
