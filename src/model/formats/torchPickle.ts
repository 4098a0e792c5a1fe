import { FormatError } from '../errors';
import { DTYPE_BYTES, lazyTensor, numel, type Checkpoint, type DType, type Tensor } from '../tensor';
import { latin1 } from './binaryReader';
import { numpyGlobals } from './numpyPickle';
import {
  PyGlobal,
  describe,
  expectInt,
  expectIntTuple,
  inertObject,
  valueOnly,
  type GlobalHandler,
  type PickleContext,
} from './pickle';
import { describeValues, selectWeights, type ReadOptions } from './stateDict';
import { copyBudgetFor, materializeTensor, type CopyBudget } from './torchTensor';

/**
 * What torch.save pickles, shared by the zip reader (pth.ts) and the legacy reader (legacyPth.ts):
 * the allow-list of globals, the storages that persistent ids declare and the tensors the rebuild
 * functions make over them.
 *
 * Both formats declare a storage in the pickle and deliver its bytes elsewhere (a zip entry, or the
 * legacy file's data section, which comes *after* the pickle), so nothing here touches bytes: a
 * persistent id becomes a StorageRef, a rebuild a TensorRef checked against the storage's declared
 * size. The reader fetches bytes only for the tensors it returns (see materialize), so an EMA copy
 * or optimizer state beside the weights is never read.
 */

export const STORAGE_DTYPES: Readonly<Record<string, DType>> = {
  FloatStorage: 'float32', DoubleStorage: 'float64', HalfStorage: 'float16', BFloat16Storage: 'bfloat16',
  LongStorage: 'int64', IntStorage: 'int32', ShortStorage: 'int16', CharStorage: 'int8',
  ByteStorage: 'uint8', BoolStorage: 'bool',
  // torch 2.x writes storages of dtypes without a legacy class as untyped bytes, paired with
  // `_rebuild_tensor_v3(..., dtype, ...)`.
  UntypedStorage: 'uint8',
};

/** `torch.<dtype>` globals that `_rebuild_tensor_v3` names. */
const TORCH_DTYPES: Readonly<Record<string, DType>> = {
  float32: 'float32', float: 'float32', float64: 'float64', double: 'float64', float16: 'float16', half: 'float16',
  bfloat16: 'bfloat16', int64: 'int64', long: 'int64', int32: 'int32', int: 'int32', int16: 'int16', short: 'int16',
  int8: 'int8', uint8: 'uint8', bool: 'bool',
};

/** Anything larger cannot be a storage of a real file: checked before any product of sizes is formed. */
const MAX_ELEMENTS = 2 ** 48;

/** A storage as a persistent id declares it: `('storage', torch.FloatStorage, key, location, numel[, view_metadata])`. */
export class StorageRef {
  constructor(
    /** The storage key: `data/<key>` in a zip, the order key of the legacy data section. */
    readonly key: string,
    readonly dtype: DType,
    /** Elements of `dtype` the storage holds (bytes for UntypedStorage). */
    readonly numel: number,
    readonly location: string,
    /** File offset of the persistent id that first declared it, for later errors. */
    readonly offset: number,
    /** torch 2's UntypedStorage: bytes that `_rebuild_tensor_v3` views as any dtype. */
    readonly untyped = false,
  ) {}

  get byteLength(): number {
    return this.numel * DTYPE_BYTES[this.dtype];
  }
}

/**
 * What a tensor's rebuild sees as its storage: the whole declared storage, or (legacy files of
 * torch < 1.0) a view of `numel` elements at element `start` of it.
 */
export interface StorageView {
  readonly root: StorageRef;
  readonly start: number;
  readonly numel: number;
  /** The view's key when it is one (legacy view_metadata), for messages. */
  readonly key: string;
}

/** A tensor rebuilt over a declared storage, already checked against its size; bytes come later. */
export class TensorRef {
  constructor(
    readonly storage: StorageView,
    readonly dtype: DType,
    /** In elements of `dtype`, from the start of the view. */
    readonly storageOffset: number,
    readonly shape: readonly number[],
    readonly stride: readonly number[],
    /** File offset of the rebuild call, for later errors. */
    readonly offset: number,
  ) {}
}

export function isTensorRef(v: unknown): v is TensorRef {
  return v instanceof TensorRef;
}

/** Storages by key, as declared; a key declared twice must be declared the same way. */
export class StorageTable {
  readonly storages = new Map<string, StorageRef>();
  private readonly wholes = new Map<StorageRef, StorageView>();
  private readonly views = new Map<string, StorageView>();

  /** Interpret one persistent id (zip: 5 items; legacy: 6, the last the view metadata or None). */
  declare(pid: unknown, ctx: PickleContext): StorageView {
    if (!Array.isArray(pid) || pid.length < 5 || pid.length > 6 || text(pid[0]) !== 'storage') {
      ctx.fail(`Expected a persistent id ('storage', type, key, location, numel[, view]) but found ${describe(pid)}.`);
    }
    const type = pid[1];
    // Old files name CUDA storages (`torch.cuda.FloatStorage`); torch.load maps any '*Storage' class by its name.
    const storageName = type instanceof PyGlobal ? type.qualifiedName.replace(/^torch\.(cuda\.|storage\.)?/, '') : undefined;
    const dtype = storageName !== undefined ? STORAGE_DTYPES[storageName] : undefined;
    if (!dtype) ctx.fail(`Unsupported torch storage type ${describe(type)}; expected one of ${Object.keys(STORAGE_DTYPES).join(', ')}.`);
    const key = text(pid[2]);
    if (key === undefined) ctx.fail(`Expected the storage key to be a string but found ${describe(pid[2])}.`);
    const location = text(pid[3]) ?? '';
    const numel = expectCount(pid[4], 'the storage element count', ctx);
    const root = this.root(key!, dtype!, numel, location, storageName === 'UntypedStorage', ctx);
    const view = pid[5];
    if (view !== undefined && view !== null) return this.view(root, view, ctx);
    let whole = this.wholes.get(root);
    if (!whole) {
      whole = { root, start: 0, numel: root.numel, key: root.key };
      this.wholes.set(root, whole);
    }
    return whole;
  }

  private root(key: string, dtype: DType, numel: number, location: string, untyped: boolean, ctx: PickleContext): StorageRef {
    const known = this.storages.get(key);
    if (known) {
      if (known.dtype !== dtype || known.numel !== numel) {
        ctx.fail(
          `Storage '${key}' is declared again as ${numel} ${dtype} elements; it was first declared as ${known.numel} ${known.dtype} ` +
            `elements at byte offset ${known.offset}. torch.save never writes one storage as two types.`,
        );
      }
      return known;
    }
    const ref = new StorageRef(key, dtype, numel, location, ctx.offset, untyped);
    this.storages.set(key, ref);
    return ref;
  }

  /** Legacy view metadata `(view_key, offset, size)`, in elements of the root's dtype. */
  private view(root: StorageRef, meta: unknown, ctx: PickleContext): StorageView {
    if (!Array.isArray(meta) || meta.length !== 3) ctx.fail(`Expected storage view metadata (key, offset, size) but found ${describe(meta)}.`);
    const key = text(meta[0]);
    if (key === undefined) ctx.fail(`Expected the storage view key to be a string but found ${describe(meta[0])}.`);
    const start = expectCount(meta[1], 'the storage view offset', ctx);
    const numel = expectCount(meta[2], 'the storage view size', ctx);
    if (start + numel > root.numel) {
      ctx.fail(`Storage view '${key}' covers elements ${start} to ${start + numel} of storage '${root.key}', which holds only ${root.numel}.`);
    }
    const known = this.views.get(key!);
    if (known) {
      if (known.root !== root || known.start !== start || known.numel !== numel) ctx.fail(`Storage view '${key}' is declared twice, differently.`);
      return known;
    }
    const v: StorageView = { root, start, numel, key: key! };
    this.views.set(key!, v);
    return v;
  }
}

/** Python 3 str, or a Python 2 / `encoding='bytes'` string as bytes; otherwise undefined. */
function text(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (v instanceof Uint8Array) return latin1.decode(v);
  return undefined;
}

function expectCount(v: unknown, what: string, ctx: PickleContext): number {
  const n = expectInt(v, what, ctx);
  if (n < 0 || n > MAX_ELEMENTS) ctx.fail(`Expected ${what} to be between 0 and 2^48 but found ${n}.`);
  return n;
}

/** Views the handler made, so a rebuild can check its first argument really is one. */
const storageViews = new WeakSet<object>();

function expectStorage(v: unknown, ctx: PickleContext): StorageView {
  if (typeof v !== 'object' || v === null || !storageViews.has(v)) {
    return ctx.fail(`Expected a torch storage as the first argument of a tensor rebuild but found ${describe(v)}.`);
  }
  return v as StorageView;
}

/**
 * Checks a rebuild's geometry against the storage it names, with every product bounded so a forged
 * size cannot overflow into a small number.
 */
function rebuild(storage: StorageView, dtype: DType, args: readonly unknown[], ctx: PickleContext): TensorRef {
  const offset = expectInt(args[1], 'the storage offset', ctx);
  const size = expectIntTuple(args[2], 'the tensor size', ctx);
  const stride = expectIntTuple(args[3], 'the tensor stride', ctx);
  const where = `Tensor on storage '${storage.key}'`;
  if (size.length !== stride.length) ctx.fail(`${where} has ${size.length} sizes but ${stride.length} strides.`);
  if (size.length > 64) ctx.fail(`${where} has ${size.length} dimensions; torch allows at most 64.`);
  if (offset < 0 || size.some((d) => d < 0) || stride.some((s) => s < 0)) {
    ctx.fail(`${where} has a negative offset, size or stride (offset ${offset}, size (${size.join(', ')}), stride (${stride.join(', ')})).`);
  }
  // Storage elements seen in the tensor's dtype (v3 reinterprets untyped bytes).
  const rootBytes = DTYPE_BYTES[storage.root.dtype];
  const available = Math.floor((storage.numel * rootBytes) / DTYPE_BYTES[dtype]);
  let count = 1;
  let last = offset;
  for (let i = 0; i < size.length; i++) {
    count *= size[i];
    if (count > MAX_ELEMENTS) ctx.fail(`${where} of size (${size.join(', ')}) has more than 2^48 elements.`);
  }
  if (count > 0) {
    for (let i = 0; i < size.length; i++) {
      last += (size[i] - 1) * stride[i];
      if (last > MAX_ELEMENTS) break;
    }
    if (last >= available) {
      ctx.fail(
        `Tensor of size (${size.join(', ')}) with stride (${stride.join(', ')}) at offset ${offset} reaches element ${last} ` +
          `but storage '${storage.key}' holds only ${available} ${dtype} elements.`,
      );
    }
  }
  return new TensorRef(storage, dtype, offset, size, stride, ctx.offset);
}

/** `_rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])`; also torch 0.3's `_rebuild_tensor`. */
const rebuildTensorV2: GlobalHandler = (args, ctx) => {
  const storage = expectStorage(args[0], ctx);
  return rebuild(storage, storage.root.dtype, args, ctx);
};

/** `_rebuild_tensor_v3(storage, offset, size, stride, requires_grad, hooks, dtype, metadata)`: untyped storage + dtype. */
const rebuildTensorV3: GlobalHandler = (args, ctx) => {
  const storage = expectStorage(args[0], ctx);
  const dtypeGlobal = args[6];
  const dtype = dtypeGlobal instanceof PyGlobal ? TORCH_DTYPES[dtypeGlobal.qualifiedName.replace(/^torch\./, '')] : undefined;
  if (!dtype) ctx.fail(`Unsupported tensor dtype ${describe(dtypeGlobal)} in _rebuild_tensor_v3.`);
  return rebuild(storage, dtype!, args, ctx);
};

/** `_rebuild_parameter(data, requires_grad, backward_hooks)`: a Parameter is its data here. */
const rebuildParameter: GlobalHandler = (args, ctx) => {
  if (!isTensorRef(args[0])) ctx.fail(`Expected a tensor inside the Parameter but found ${describe(args[0])}.`);
  return args[0];
};

const orderedDict: GlobalHandler = (args, ctx) => {
  const m = new Map<unknown, unknown>();
  // OrderedDict() as torch writes it has no arguments; OrderedDict([(k, v), ...]) and OrderedDict(dict) are also legal.
  if (args.length > 1) ctx.fail(`OrderedDict takes at most one argument but the pickle passes ${args.length}.`);
  const items = args[0];
  if (items instanceof Map) return new Map(items);
  if (Array.isArray(items)) {
    for (const pair of items) {
      if (!Array.isArray(pair) || pair.length !== 2) ctx.fail(`Expected (key, value) pairs for OrderedDict but found ${describe(pair)}.`);
      m.set(pair[0], pair[1]);
    }
  } else if (items !== undefined) {
    ctx.fail(`Expected OrderedDict's argument to be a list of pairs or a dict but found ${describe(items)}.`);
  }
  return m;
};

/** `torch.Size((2, 3))` is the tuple it wraps. */
const torchSize: GlobalHandler = (args, ctx) => {
  if (args.length !== 1) ctx.fail(`torch.Size takes one tuple of integers but the pickle passes ${args.length} arguments.`);
  return Object.freeze(expectIntTuple(args[0], 'the torch.Size', ctx));
};

/**
 * Everything a state_dict checkpoint (and the plain data training scripts save beside it) may name.
 * Storage classes and dtypes only appear as values; the rebuild functions build TensorRefs; the rest
 * build inert stand-ins.
 */
export function torchGlobals(): Map<string, GlobalHandler> {
  const m = numpyGlobals();
  m.set('collections.OrderedDict', orderedDict);
  m.set('torch._utils._rebuild_tensor', rebuildTensorV2);
  m.set('torch._utils._rebuild_tensor_v2', rebuildTensorV2);
  m.set('torch._utils._rebuild_tensor_v3', rebuildTensorV3);
  m.set('torch._utils._rebuild_parameter', rebuildParameter);
  m.set('torch._utils._rebuild_parameter_with_state', rebuildParameter);
  for (const name of Object.keys(STORAGE_DTYPES)) {
    m.set(`torch.${name}`, valueOnly(`torch.${name}`));
    if (name !== 'UntypedStorage') m.set(`torch.cuda.${name}`, valueOnly(`torch.cuda.${name}`));
  }
  m.set('torch.storage.UntypedStorage', valueOnly('torch.storage.UntypedStorage'));
  for (const name of Object.keys(TORCH_DTYPES)) m.set(`torch.${name}`, valueOnly(`torch.${name}`));
  m.set('torch.Size', torchSize);
  m.set('argparse.Namespace', inertObject('argparse.Namespace'));
  return m;
}

/** How torch.save pickles are introduced to the interpreter: what the allow-list is for, and advice on refusal. */
export const TORCH_PICKLE_OPTIONS = {
  purpose: 'PyTorch checkpoints (tensors, dicts and plain values only)',
  refusalHint: 'A file that pickles a whole model object (torch.save(model)) cannot be read; save model.state_dict() instead.',
} as const;

/** The persistent-id handler for `unpickle`, declaring each storage in `table`. */
export function storageLoader(table: StorageTable): (pid: unknown, ctx: PickleContext) => StorageView {
  return (pid, ctx) => {
    const view = table.declare(pid, ctx);
    storageViews.add(view);
    return view;
  };
}

/**
 * Turns TensorRefs into Tensors once the storages' bytes are at hand. `bytesOf` returns a root
 * storage's bytes, already checked to hold `byteLength` bytes. Each storage is fetched once; copies
 * of non-contiguous tensors draw on a budget so a pickle cannot multiply one storage into many.
 */
export class Materializer {
  private readonly bytes = new Map<StorageRef, Uint8Array>();
  private readonly done = new Map<TensorRef, Tensor>();

  constructor(
    private readonly file: string,
    private readonly bytesOf: (storage: StorageRef) => Uint8Array,
    private readonly budget: CopyBudget,
  ) {}

  tensor(ref: TensorRef): Tensor {
    const cached = this.done.get(ref);
    if (cached) return cached;
    const root = ref.storage.root;
    const elem = DTYPE_BYTES[root.dtype];
    let bytes = this.bytes.get(root);
    if (!bytes) {
      bytes = this.bytesOf(root);
      if (bytes.length < root.byteLength) {
        throw new FormatError(this.file, `Storage '${root.key}' should hold ${root.byteLength} bytes but only ${bytes.length} were found.`, root.offset);
      }
      bytes = bytes.subarray(0, root.byteLength);
      // Legacy files put storages at any offset: one aligned copy of the storage here, rather than
      // one per tensor in typedView (and one per strided tensor, which a pickle could repeat).
      if (bytes.byteOffset % (root.untyped ? 8 : elem) !== 0) bytes = new Uint8Array(bytes);
      this.bytes.set(root, bytes);
    }
    const view = bytes.subarray(ref.storage.start * elem, (ref.storage.start + ref.storage.numel) * elem);
    const t = materializeTensor(view, ref, this.budget, this.file);
    this.done.set(ref, t);
    return t;
  }
}

/** A short rendering of a tensor beside the weights (`best_acc1`): its values when it has a few. */
function describeSmall(m: Materializer, ref: TensorRef): string {
  if (numel(ref.shape) > 8) return `tensor ${ref.dtype} [${ref.shape.join(', ')}]`;
  return describeValues(m.tensor(ref));
}

export interface TorchPickleSource {
  readonly file: string;
  /** File offset of the main pickle, for errors about its root. */
  readonly base: number;
  /** The file's size, which bounds the copies strided tensors may make. */
  readonly fileBytes: number;
  /** A declared storage's bytes (at least its byteLength). */
  readonly bytesOf: (storage: StorageRef) => Uint8Array;
  /** Facts of the container (archive name, serialization) for the metadata. */
  readonly metadata: Record<string, string>;
}

/** The checkpoint a torch.save pickle describes: the chosen dict's tensors, materialised, and what was chosen. */
export function torchCheckpoint(root: unknown, src: TorchPickleSource, options: ReadOptions = {}): Checkpoint {
  const m = new Materializer(src.file, src.bytesOf, copyBudgetFor(src.fileBytes));
  const selected = selectWeights(root, isTensorRef, (t) => describeSmall(m, t), src.file, options, src.base);
  const tensors = new Map<string, Tensor>();
  for (const [name, ref] of selected.tensors) tensors.set(name, options.lazy ? lazyTensor(ref.dtype, ref.shape, () => m.tensor(ref).data) : m.tensor(ref));
  return { file: src.file, format: 'pth', tensors, metadata: { ...selected.metadata, ...src.metadata }, weights: selected.selection };
}
