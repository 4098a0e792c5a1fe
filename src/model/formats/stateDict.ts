import { FormatError } from '../errors';
import { toFloat32, type DType, type Tensor } from '../tensor';
import { NumpyArray, numpyToTensor } from './numpyPickle';
import { PyObject, describe, keyText, numberText } from './pickle';

/**
 * Finding the weights inside what training scripts save. `torch.save(model.state_dict())` gives the
 * tensors directly; training loops wrap them beside everything else they keep:
 *   pytorch/examples imagenet: {'epoch', 'arch', 'state_dict' (DDP 'module.' keys), 'best_acc1' (a 0-d tensor), 'optimizer', 'scheduler'}
 *   timm train.py:             {'epoch', 'arch', 'state_dict', 'optimizer', 'version', 'args', 'metric', 'state_dict_ema'}
 *   detectron2, DeiT, ...:     {'model': ..., 'model_ema': ...}, Lightning {'state_dict': ...}, ...
 *
 * This layer knows no architecture, so it does not decide which dict is "the model". It lists every
 * candidate - each dict of tensors reached from the top through string keys, at depth <= 3 - and
 * takes the one the caller's chooser (which knows DLA, see dla/detect.ts) or an explicit weights
 * key names, else the largest (the trained weights before an EMA shadow of the same size). What was
 * unwrapped, what was skipped and which alternatives exist go into the checkpoint's description.
 */

/** Wrapper keys training scripts use, in order of preference when candidates tie (EMA copies last). */
export const WRAPPER_KEYS = [
  'state_dict', 'model', 'model_state_dict', 'module', 'net', 'network', 'state_dict_ema', 'model_ema', 'model_ema_state_dict', 'ema_state_dict', 'ema',
];
const DDP_PREFIX = 'module.';
const MAX_DEPTH = 3;
const MAX_LISTED = 12;
/** Siblings described in the metadata; a checkpoint with more is odd and the rest are only counted. */
const MAX_SIBLINGS = 64;

/** The top level's key in candidate lists and for `weightsKey` (also accepted: '.'). */
export const TOP_LEVEL = '';

export interface TensorInfo {
  readonly dtype: DType;
  readonly shape: readonly number[];
}

/** A dict of tensors the checkpoint holds, before any tensor data is read. */
export interface WeightsCandidate {
  /** Keys from the top joined by '.', '' for the top level itself. */
  readonly key: string;
  /** Its tensors under the names they will have (DDP's 'module.' already stripped). */
  readonly tensors: ReadonlyMap<string, TensorInfo>;
  readonly strippedPrefix?: string;
}

export interface WeightsChoice {
  readonly key: string;
  /** A prefix every tensor name carries (Lightning's 'model.'), to strip from the names. */
  readonly stripPrefix?: string;
  /** Why this one, for the checkpoint's description. */
  readonly reason: string;
}

/** Picks among the candidates (in the default order); undefined keeps the default, the first. */
export type WeightsChooser = (candidates: readonly WeightsCandidate[]) => WeightsChoice | undefined;

export interface ReadOptions {
  /** Take the dict under this key ('state_dict_ema', 'model.module'; '' or '.' for the top level) instead of choosing one. */
  readonly weightsKey?: string;
  /** Chooses among the candidates when no weightsKey is given. */
  readonly chooseWeights?: WeightsChooser;
  /**
   * Read tensor data only when a tensor's `data` is first used (names, dtypes and shapes at once):
   * what the checkpoint editor needs to open a 200 MB file at once. Formats that store data inline
   * with their index (.pdparams, .npy, ONNX) are read whole as usual.
   */
  readonly lazy?: boolean;
}

/** What a reader did to find the weights; on Checkpoint.weights for readers of wrapped formats. */
export interface WeightsSelection {
  /** The chosen dict's key ('' = the top level). */
  readonly key: string;
  readonly reason: string;
  /** Every dict of tensors found, chosen one included, in the default order. */
  readonly candidates: readonly { readonly key: string; readonly tensors: number }[];
  readonly strippedPrefix?: string;
  /** Entries beside the path to the chosen dict, not taken (dotted keys). */
  readonly skipped: readonly string[];
  /** Non-tensor entries inside the chosen dict. */
  readonly ignored: readonly string[];
  /** The skipped entries' values, summarised (epoch, arch, metric, args, ...). */
  readonly info: Readonly<Record<string, string>>;
}

export interface Selected<T> {
  /** The chosen tensors (not yet materialised), under their final names. */
  readonly tensors: Map<string, T>;
  readonly selection: WeightsSelection;
  /** The same facts as flat strings for Checkpoint.metadata. */
  readonly metadata: Record<string, string>;
}

interface Found<T extends TensorInfo> {
  readonly path: readonly string[];
  readonly key: string;
  readonly dict: Map<unknown, unknown>;
  readonly tensors: Map<string, T>;
  readonly strippedPrefix?: string;
  readonly order: number;
}

export function displayKey(key: string): string {
  return key === TOP_LEVEL ? '(top level)' : `'${key}'`;
}

const isEma = (path: readonly string[]): boolean => path.some((k) => /(^|_)ema(_|$)/i.test(k));
const wrapperRank = (path: readonly string[]): number => {
  const i = WRAPPER_KEYS.indexOf(path[path.length - 1]);
  return i < 0 ? WRAPPER_KEYS.length : i;
};

/**
 * The default order: the largest dict first; among equals the trained weights before an EMA copy,
 * the shallower, the known wrapper key, then file order.
 */
function byDefaultRank<T extends TensorInfo>(a: Found<T>, b: Found<T>): number {
  return (
    b.tensors.size - a.tensors.size ||
    Number(isEma(a.path)) - Number(isEma(b.path)) ||
    a.path.length - b.path.length ||
    wrapperRank(a.path) - wrapperRank(b.path) ||
    a.order - b.order
  );
}

/**
 * Every dict of tensors reachable from `root` through string keys (each dict visited once, however
 * often the pickle's memo repeats it, so the walk is linear in the file).
 */
function findCandidates<T extends TensorInfo>(root: Map<unknown, unknown>, isTensor: (v: unknown) => v is T): Found<T>[] {
  const found: Found<T>[] = [];
  const seen = new Set<Map<unknown, unknown>>();
  const visit = (dict: Map<unknown, unknown>, path: string[]): void => {
    if (seen.has(dict)) return;
    seen.add(dict);
    const tensors = new Map<string, T>();
    for (const [k, v] of dict) if (typeof k === 'string' && isTensor(v)) tensors.set(k, v);
    if (tensors.size > 0) {
      const { names, prefix } = stripDdpPrefix(tensors);
      found.push({ path, key: path.join('.'), dict, tensors: names, strippedPrefix: prefix, order: found.length });
    }
    if (path.length >= MAX_DEPTH) return;
    for (const [k, v] of dict) if (typeof k === 'string' && v instanceof Map) visit(v, [...path, k]);
  };
  visit(root, []);
  return found.sort(byDefaultRank);
}

/**
 * Chooses the weights in a loaded root object. `isTensor` says which values are tensors (each
 * reader knows what it built); `describeTensor` renders a tensor beside the weights (best_acc1).
 */
export function selectWeights<T extends TensorInfo>(
  root: unknown,
  isTensor: (v: unknown) => v is T,
  describeTensor: (t: T) => string,
  file: string,
  options: ReadOptions = {},
  offset?: number,
): Selected<T> {
  if (!(root instanceof Map)) {
    throw new FormatError(file, `Expected the saved object to be a dict of tensors (a state_dict) but found ${describe(root)}.`, offset);
  }
  const found = findCandidates(root, isTensor);
  if (found.length === 0) {
    throw new FormatError(
      file,
      `Found no tensors in the top-level dict or in the dicts under it (to depth ${MAX_DEPTH}). The top-level keys are: ${listKeys([...root.keys()].slice(0, MAX_LISTED + 1).map(keyText)) || '(none)'}; ` +
        `expected a state_dict, or one under a wrapper key such as ${WRAPPER_KEYS.slice(0, 4).map((k) => `'${k}'`).join(', ')}.`,
      offset,
    );
  }
  const { chosen, prefix, reason } = choose(found, file, options, offset);
  let tensors = chosen.tensors;
  if (prefix) {
    tensors = new Map([...tensors].map(([k, v]) => [k.slice(prefix.length), v]));
  }
  const strippedPrefix = [chosen.strippedPrefix, prefix].filter(Boolean).join('') || undefined;
  const ignored = [...chosen.dict].filter(([k, v]) => !(typeof k === 'string' && isTensor(v))).map(([k]) => keyText(k));
  const { skipped, info } = siblings(root, chosen.path, found, isTensor, describeTensor);
  const selection: WeightsSelection = {
    key: chosen.key,
    reason,
    candidates: found.map((f) => ({ key: f.key, tensors: f.tensors.size })),
    strippedPrefix,
    skipped,
    ignored,
    info,
  };
  return { tensors, selection, metadata: metadataOf(selection) };
}

function choose<T extends TensorInfo>(found: Found<T>[], file: string, options: ReadOptions, offset?: number): { chosen: Found<T>; prefix?: string; reason: string } {
  const candidates: WeightsCandidate[] = found.map((f) => ({ key: f.key, tensors: f.tensors, strippedPrefix: f.strippedPrefix }));
  if (options.weightsKey !== undefined) {
    const wanted = options.weightsKey === '.' ? TOP_LEVEL : options.weightsKey;
    const chosen = found.find((f) => f.key === wanted);
    if (!chosen) {
      throw new FormatError(
        file,
        `There is no dict of tensors under the weights key ${displayKey(wanted)}. This checkpoint's dicts of tensors are: ` +
          `${found.map((f) => `${displayKey(f.key)} (${countTensors(f.tensors.size)})`).join(', ')}. Give one of them as the weights key ('.' for the top level).`,
        offset,
      );
    }
    // The chooser may still know a prefix to strip (Lightning's 'model.') from the dict asked for.
    const only = options.chooseWeights?.(candidates.filter((c) => c.key === wanted));
    const prefix = only?.stripPrefix && [...chosen.tensors.keys()].every((k) => k.startsWith(only.stripPrefix!)) ? only.stripPrefix : undefined;
    return { chosen, prefix, reason: `the weights key ${displayKey(wanted)} was asked for${only ? `; it ${only.reason}` : ''}` };
  }
  const choice = options.chooseWeights?.(candidates);
  if (choice) {
    const chosen = found.find((f) => f.key === choice.key);
    if (!chosen) throw new Error(`The weights chooser picked ${displayKey(choice.key)}, which is not a candidate.`);
    const prefix = choice.stripPrefix && [...chosen.tensors.keys()].every((k) => k.startsWith(choice.stripPrefix!)) ? choice.stripPrefix : undefined;
    return { chosen, prefix, reason: choice.reason };
  }
  const reason =
    found.length === 1
      ? 'the only dict of tensors'
      : `the largest dict of tensors (${countTensors(found[0].tensors.size)})${found[1].tensors.size === found[0].tensors.size ? ', preferred over an equal one by its key' : ''}`;
  return { chosen: found[0], reason };
}

/** DDP saves `module.<name>`; strip it only when every key has it, so a real `module` submodule survives. */
function stripDdpPrefix<T>(tensors: Map<string, T>): { names: Map<string, T>; prefix?: string } {
  let prefix = '';
  let names = tensors;
  // DataParallel around DDP writes it twice; each round needs every key to carry it again.
  for (let round = 0; round < 4 && [...names.keys()].every((k) => k.startsWith(DDP_PREFIX) && k.length > DDP_PREFIX.length); round++) {
    prefix += DDP_PREFIX;
    names = new Map([...names].map(([k, v]) => [k.slice(DDP_PREFIX.length), v]));
  }
  return { names, prefix: prefix || undefined };
}

/**
 * The entries beside the path to the chosen dict (epoch, arch, optimizer, the EMA copy...): their
 * dotted keys, and short descriptions of their values. Candidates other than the chosen one are
 * named as alternatives elsewhere, so they are only listed here.
 */
function siblings<T extends TensorInfo>(
  root: Map<unknown, unknown>,
  path: readonly string[],
  found: readonly Found<T>[],
  isTensor: (v: unknown) => v is T,
  describeTensor: (t: T) => string,
): { skipped: string[]; info: Record<string, string> } {
  const skipped: string[] = [];
  const info: Record<string, string> = {};
  const candidateDicts = new Set(found.map((f) => f.dict));
  let dict = root;
  for (let depth = 0; depth < path.length; depth++) {
    const prefix = path.slice(0, depth).map((k) => `${k}.`).join('');
    for (const [k, v] of dict) {
      if (k === path[depth]) continue;
      const name = prefix + keyText(k);
      skipped.push(name);
      if (Object.keys(info).length < MAX_SIBLINGS) {
        info[name] = v instanceof Map && candidateDicts.has(v) ? `dict of ${v.size}, another candidate` : summarize(v, isTensor, describeTensor);
      }
    }
    dict = dict.get(path[depth]) as Map<unknown, unknown>;
  }
  return { skipped, info };
}

const MAX_TEXT = 200;

/** A one-line description of a value beside the weights; never recursive beyond one level. */
function summarize<T>(v: unknown, isTensor: (v: unknown) => v is T, describeTensor: (t: T) => string, shallow = false): string {
  if (isTensor(v)) return describeTensor(v);
  if (v === null) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'number' || typeof v === 'bigint') return numberText(v);
  if (typeof v === 'string') return truncate(shallow ? `'${v}'` : v);
  if (v instanceof Uint8Array) return `bytes (${v.length})`;
  if (v instanceof Map) return `dict of ${v.size}`;
  if (v instanceof Set) return `set of ${v.size}`;
  if (Array.isArray(v)) {
    // A few scalars are shown (input_size=(3, 224, 224)); anything else only counted, so this never recurses.
    const [open, close] = Object.isFrozen(v) ? ['(', ')'] : ['[', ']'];
    const scalar = (x: unknown) => x === null || ['number', 'bigint', 'boolean', 'string'].includes(typeof x);
    if (v.length > 8 || !v.every(scalar)) return `${Object.isFrozen(v) ? 'tuple' : 'list'} of ${v.length}`;
    return truncate(`${open}${v.map((x) => summarize(x, isTensor, describeTensor, true)).join(', ')}${v.length === 1 && open === '(' ? ',' : ''}${close}`);
  }
  if (v instanceof NumpyArray) {
    // A numpy scalar (timm's best_metric); a broken one is described, never thrown over.
    if (v.shape.reduce((a, b) => a * b, 1) > 8 || v.objects) return `numpy array [${v.shape.join(', ')}]`;
    try {
      return describeValues(numpyToTensor(v, '', ''), 'array');
    } catch {
      return 'a numpy array';
    }
  }
  if (v instanceof PyObject) {
    const short = v.className.split('.').pop();
    if (shallow || !(v.state instanceof Map)) return `${short}(...)`;
    const fields = [...v.state].slice(0, 40).map(([k, x]) => `${keyText(k)}=${summarize(x, isTensor, describeTensor, true)}`);
    return truncate(`${short}(${fields.join(', ')}${v.state.size > 40 ? ', ...' : ''})`);
  }
  return describe(v);
}

/** A small tensor's values: `tensor(76.13)`, `tensor([1, 2])`; a bare scalar for a 0-d numpy array. */
export function describeValues(t: Tensor, kind: 'tensor' | 'array' = 'tensor'): string {
  const values =
    t.data instanceof BigInt64Array ? [...t.data].map(String)
      : t.dtype === 'bool' ? [...t.data as Uint8Array].map((b) => (b ? 'True' : 'False'))
        : [...toFloat32(t)].map(t.dtype === 'float64' ? String : float32Text);
  if (kind === 'array') return t.shape.length === 0 ? values[0] : `[${values.join(', ')}]`;
  return t.shape.length === 0 ? `tensor(${values[0]})` : `tensor([${values.join(', ')}])`;
}

/** The shortest decimal that reads back as the same float32 (76.13, not 76.12999725341797). */
function float32Text(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  for (let p = 1; p <= 9; p++) {
    const s = Number(x.toPrecision(p));
    if (Math.fround(s) === x) return String(s);
  }
  return String(x);
}

function truncate(s: string): string {
  return s.length > MAX_TEXT ? `${s.slice(0, MAX_TEXT)}...` : s;
}

export function countTensors(n: number): string {
  return `${n} tensor${n === 1 ? '' : 's'}`;
}

function metadataOf(s: WeightsSelection): Record<string, string> {
  const m: Record<string, string> = {};
  if (s.key !== TOP_LEVEL) m.unwrapped = s.key;
  if (s.candidates.length > 1) m.weights = `${displayKey(s.key)}: ${s.reason}`;
  const others = s.candidates.filter((c) => c.key !== s.key);
  if (others.length > 0) m.alternatives = listKeys(others.map((c) => `${displayKey(c.key)} (${countTensors(c.tensors)})`));
  if (s.strippedPrefix) m.strippedPrefix = s.strippedPrefix;
  if (s.skipped.length > 0) m.skipped = listKeys(s.skipped);
  if (s.ignored.length > 0) m.ignoredKeys = listKeys(s.ignored);
  for (const [k, v] of Object.entries(s.info)) m[k in m ? `checkpoint.${k}` : k] = v;
  return m;
}

/** Keys for a message or metadata: the first 12, then how many in all. */
export function listKeys(keys: readonly string[]): string {
  return keys.length > MAX_LISTED ? `${keys.slice(0, MAX_LISTED).join(', ')}, ... (${keys.length} in all)` : keys.join(', ');
}
