import { FormatError } from '../errors';
import type { Tensor } from '../tensor';
import { describe } from './pickle';

/**
 * Finding the weights inside what training scripts save. `torch.save(model.state_dict())` gives the
 * tensors directly; training loops wrap them (`{'state_dict': ..., 'epoch': 3, 'optimizer': ...}`,
 * timm's `state_dict_ema`, `{'model': ...}`), and DDP prefixes every key with `module.`. The
 * unwrapping is recorded in the metadata so a report can say what was done.
 */

/** Wrapper keys in order of preference: the trained weights before their EMA shadow. */
export const WRAPPER_KEYS = ['state_dict', 'model', 'model_state_dict', 'module', 'net', 'network', 'state_dict_ema', 'model_ema'];
const DDP_PREFIX = 'module.';
const MAX_DEPTH = 3;
const MAX_LISTED = 12;

export interface StateDict {
  readonly tensors: Map<string, Tensor>;
  readonly metadata: Record<string, string>;
}

/**
 * Pick the tensors out of a loaded root object. `isTensor` says which values are tensors (each
 * reader knows what it built). Non-tensor values (epochs, optimizer state, args) are skipped.
 */
export function extractStateDict(root: unknown, isTensor: (v: unknown) => v is Tensor, file: string, offset?: number): StateDict {
  const metadata: Record<string, string> = {};
  let dict = root;
  const path: string[] = [];
  for (let depth = 0; depth < MAX_DEPTH; depth++) {
    if (!(dict instanceof Map)) break;
    if ([...dict.values()].some(isTensor)) break;
    const key = WRAPPER_KEYS.find((k) => dict instanceof Map && dict.get(k) instanceof Map);
    if (key === undefined) break;
    const others = WRAPPER_KEYS.filter((k) => k !== key && (dict as Map<unknown, unknown>).get(k) instanceof Map);
    if (others.length > 0) metadata.otherWrappers = others.join(', ');
    const skipped = [...dict.keys()].filter((k) => k !== key).map(String);
    if (skipped.length > 0) metadata.wrapperSiblings = list(skipped);
    path.push(key);
    dict = dict.get(key);
  }
  if (path.length > 0) metadata.unwrapped = path.join('.');
  if (!(dict instanceof Map)) {
    throw new FormatError(file, `Expected the saved object to be a dict of tensors (a state_dict) but found ${describe(dict)}.`, offset);
  }
  const tensors = new Map<string, Tensor>();
  const ignored: string[] = [];
  for (const [k, v] of dict) {
    if (isTensor(v) && typeof k === 'string') tensors.set(k, v);
    else ignored.push(String(k));
  }
  if (tensors.size === 0) {
    const keys = [...dict.keys()].map(String);
    throw new FormatError(
      file,
      `Found no tensors${path.length ? ` under '${path.join('.')}'` : ''}. The top-level keys are: ${list(keys) || '(none)'}; ` +
        `expected a state_dict or one of the wrapper keys ${WRAPPER_KEYS.map((k) => `'${k}'`).join(', ')}.`,
      offset,
    );
  }
  if (ignored.length > 0) metadata.ignoredKeys = list(ignored);
  return { tensors: stripDdpPrefix(tensors, metadata), metadata };
}

/** DDP saves `module.<name>`; strip it only when every key has it, so a real `module` submodule survives. */
function stripDdpPrefix(tensors: Map<string, Tensor>, metadata: Record<string, string>): Map<string, Tensor> {
  for (const k of tensors.keys()) if (!k.startsWith(DDP_PREFIX)) return tensors;
  metadata.strippedPrefix = DDP_PREFIX;
  const out = new Map<string, Tensor>();
  for (const [k, v] of tensors) out.set(k.slice(DDP_PREFIX.length), v);
  return out;
}

function list(keys: string[]): string {
  return keys.length > MAX_LISTED ? `${keys.slice(0, MAX_LISTED).join(', ')}, ... (${keys.length} in all)` : keys.join(', ');
}
