import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as v8 from 'v8';
import { describe, it } from 'node:test';
import { FormatError } from '../../../src/model/errors';
import { npyReader } from '../../../src/model/formats/npy';
import { pdparamsReader } from '../../../src/model/formats/pdparams';
import { readPth } from '../../../src/model/formats/pth';
import { PickleWriter, bytesOf, legacyTorchFile, sentinelPath, torchZip, writeNumpyArray, writeStateDict, writeTensor, type TensorRef } from './fixtures';

/**
 * Hostile pickles, in every container that carries one (torch zip, legacy torch.save, .pdparams,
 * reprod_log .npy). Each payload is what pickle would execute - most of them would create a
 * marker file or set a global if run - and each must be refused by name with nothing run, or read
 * as inert data, in bounded time and memory. Every protection of the interpreter and the torch
 * layer has a case here that fails when the protection is taken out.
 */

const marker = sentinelPath('hostile');
const touched = () => fs.existsSync(marker);
const g = globalThis as { dlaLensPwned?: boolean };

type Container = (pickle: Uint8Array) => { bytes: Uint8Array; read: (b: Uint8Array, f: string) => unknown };

/** The npy header of reprod_log's pickled 0-d object array, for a pickle payload. */
function reprodNpy(pickle: Uint8Array): Uint8Array {
  let header = "{'descr': '|O', 'fortran_order': False, 'shape': (), }";
  header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n';
  return Uint8Array.from([0x93, ...Buffer.from('NUMPY'), 1, 0, header.length & 0xff, header.length >> 8, ...Buffer.from(header, 'latin1'), ...pickle]);
}

const CONTAINERS: Record<string, Container> = {
  'torch zip': (p) => ({ bytes: torchZip('evil', p, [['0', new Uint8Array(4)]]), read: readPth }),
  'legacy torch.save': (p) => ({ bytes: legacyTorchFile(p, [{ key: '0', bytes: new Uint8Array(4), count: 1 }]), read: readPth }),
  pdparams: (p) => ({ bytes: p, read: (b, f) => pdparamsReader.read(b, f) }),
  'reprod_log npy': (p) => ({ bytes: reprodNpy(p), read: (b, f) => npyReader.read(b, f) }),
};

function refused(bytes: Uint8Array, read: (b: Uint8Array, f: string) => unknown, pattern: RegExp, file = 'evil.pth'): FormatError {
  try {
    read(bytes, file);
  } catch (e) {
    assert.ok(e instanceof FormatError, `expected a FormatError, got ${e instanceof Error ? e.stack : String(e)}`);
    assert.match(e.message, pattern);
    assert.ok(e.message.startsWith(`${file}: `), 'names the file');
    assert.ok(e.offset !== undefined, 'names an offset');
    return e;
  }
  return assert.fail(`expected a refusal matching ${pattern}`);
}

/** Bytes allocated (JS heap and ArrayBuffers) while `f` runs; garbage counts too, which is the point. */
function allocation(f: () => void): { bytes: number; ms: number } {
  const before = v8.getHeapStatistics();
  const t0 = performance.now();
  f();
  const ms = performance.now() - t0;
  const after = v8.getHeapStatistics();
  return { bytes: after.used_heap_size + after.external_memory - before.used_heap_size - before.external_memory, ms };
}

// ---------------------------------------------------------------------------------------------

/**
 * A dict with the payload first and a legitimate tensor after it (so the refusal is the payload's,
 * not "no tensors"): {'x': payload, 'w': tensor}.
 */
function besideWeights(payload: (w: PickleWriter) => PickleWriter, proto = 2): Uint8Array {
  const w = payload(new PickleWriter().proto(proto).emptyDict().mark().str('x')).str('w');
  writeTensor(w, { storageType: 'FloatStorage', storageKey: '0', storageNumel: 1, size: [1], view: null });
  return w.setitems().stop().finish();
}

const call = (module: string, name: string, arg: string) => (w: PickleWriter) => w.global(module, name).str(arg).tuple(1).reduce();
const stackCall = (module: string, name: string, arg: string) => (w: PickleWriter) => w.stackGlobal(module, name).str(arg).tuple(1).reduce();

const HOSTILE: [string, string, (w: PickleWriter) => PickleWriter, number?][] = [
  ['os.system', 'os.system', call('os', 'system', `touch ${marker}`)],
  ['posix.system through STACK_GLOBAL', 'posix.system', stackCall('posix', 'system', `touch ${marker}`), 4],
  ['nt.system', 'nt.system', call('nt', 'system', `type nul > ${marker}`)],
  ['builtins.eval', 'builtins.eval', call('builtins', 'eval', 'globalThis.dlaLensPwned = true')],
  ['builtins.exec', 'builtins.exec', call('builtins', 'exec', `open('${marker}', 'w')`)],
  ['Python 2 __builtin__.eval', '__builtin__.eval', call('__builtin__', 'eval', `open('${marker}', 'w')`)],
  ['builtins.getattr fetching eval', 'builtins.getattr', (w) => w.global('builtins', 'getattr').global('builtins', 'object').str('__subclasses__').tuple(2).reduce()],
  ['builtins.__import__', 'builtins.__import__', call('builtins', '__import__', 'os')],
  ['subprocess.Popen', 'subprocess.Popen', (w) => w.global('subprocess', 'Popen').mark().str('touch').str(marker).raw(0x6c).tuple(1).reduce()],
  ['subprocess.check_output', 'subprocess.check_output', call('subprocess', 'check_output', `touch ${marker}`)],
  ["numpy's runstring gadget", 'numpy.testing._private.utils.runstring', (w) => w.global('numpy.testing._private.utils', 'runstring').str(`open('${marker}', 'w')`).emptyDict().tuple(2).reduce()],
  ['pickle.loads of a nested payload', 'pickle.loads', (w) => w.global('pickle', 'loads').bytes(Uint8Array.of(0x80, 2, 0x2e)).tuple(1).reduce()],
  ['shutil.rmtree', 'shutil.rmtree', call('shutil', 'rmtree', '/')],
  ['a model class (torch.save(model))', 'torch.nn.modules.conv.Conv2d', (w) => w.global('torch.nn.modules.conv', 'Conv2d').emptyTuple().newobj()],
  // torch._utils lookalikes: near names in other modules are other functions.
  ['torch_utils._rebuild_tensor_v2', 'torch_utils._rebuild_tensor_v2', call('torch_utils', '_rebuild_tensor_v2', 'x')],
  ['torch._utils2._rebuild_tensor_v2', 'torch._utils2._rebuild_tensor_v2', call('torch._utils2', '_rebuild_tensor_v2', 'x')],
  ['evil.torch._utils._rebuild_tensor_v2', 'evil.torch._utils._rebuild_tensor_v2', call('evil.torch._utils', '_rebuild_tensor_v2', 'x')],
  ['torch._utils._rebuild_tensor_v2 with a trailing space', 'torch._utils._rebuild_tensor_v2 ', call('torch._utils', '_rebuild_tensor_v2 ', 'x')],
  ['an attribute of an allowed global', 'collections.OrderedDict.fromkeys', call('collections', 'OrderedDict.fromkeys', 'x')],
  ['torch._utils._rebuild_device_tensor_from_numpy (a real torch function, not allowed)', 'torch._utils._rebuild_device_tensor_from_numpy', call('torch._utils', '_rebuild_device_tensor_from_numpy', 'x')],
  ['torch.load', 'torch.load', call('torch', 'load', '/etc/passwd')],
];

describe('hostile pickles: code is refused by name and never runs', () => {
  for (const [name, qualified, payload, proto] of HOSTILE) {
    for (const [container, wrap] of Object.entries(CONTAINERS)) {
      it(`${name} in a ${container}`, () => {
        const { bytes, read } = wrap(besideWeights(payload, proto));
        const escaped = qualified.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
        refused(bytes, read, new RegExp(`refuses to load global '${escaped}'.*Nothing in the file was executed`));
        assert.equal(touched(), false, 'no command ran');
        assert.equal(g.dlaLensPwned, undefined, 'no code was evaluated');
      });
    }
  }

  it('a refused global is refused where it is named, before it is called or stored', () => {
    const w = new PickleWriter().proto(2).emptyDict().str('x').global('os', 'system').setitem().stop().finish();
    refused(torchZip('evil', w), readPth, /refuses to load global 'os\.system'/);
  });
});

// ---------------------------------------------------------------------------------------------

const f32 = (key: string, size: number[], extra: Partial<TensorRef> = {}): TensorRef => ({
  storageType: 'FloatStorage', storageKey: key, storageNumel: size.reduce((a, b) => a * b, 1), size, ...extra,
});

/** A state dict whose one tensor is rebuilt by `rebuild` (the global and its argument tuple, then REDUCE). */
function oneValue(rebuild: (w: PickleWriter) => PickleWriter): Uint8Array {
  return rebuild(new PickleWriter().proto(2).emptyDict().str('t')).setitem().stop().finish();
}
const storageId = (w: PickleWriter, key = '0', numel = 4) => w.mark().str('storage').global('torch', 'FloatStorage').str(key).str('cpu').int(numel).tuple().binpersid();
const ordered = (w: PickleWriter) => w.global('collections', 'OrderedDict').emptyTuple().reduce();
const storage4 = [['0', bytesOf(new Float32Array([1, 2, 3, 4]))]] as const;

const WRONG_ARGUMENTS: [string, (w: PickleWriter) => PickleWriter, RegExp][] = [
  ['_rebuild_tensor_v2 with no arguments', (w) => w.global('torch._utils', '_rebuild_tensor_v2').emptyTuple().reduce(), /Expected a torch storage as the first argument of a tensor rebuild but found nothing/],
  ['_rebuild_tensor_v2 with a string for its storage', (w) => w.global('torch._utils', '_rebuild_tensor_v2').mark().str('0').int(0).intTuple([4]).intTuple([1]).tuple().reduce(), /Expected a torch storage .* but found the string '0'/],
  ['_rebuild_tensor_v2 with a dict for its size', (w) => storageId(w.global('torch._utils', '_rebuild_tensor_v2').mark()).int(0).emptyDict().intTuple([1]).tuple().reduce(), /Expected the tensor size to be a tuple of integers but found a dict of 0/],
  ['_rebuild_tensor_v2 with a float offset', (w) => storageId(w.global('torch._utils', '_rebuild_tensor_v2').mark()).float(0.5).intTuple([4]).intTuple([1]).tuple().reduce(), /Expected the storage offset to be an integer but found the number 0\.5/],
  ['_rebuild_tensor_v2 with a 2^70 size', (w) => storageId(w.global('torch._utils', '_rebuild_tensor_v2').mark()).int(0).mark().int(2n ** 70n).tuple().intTuple([1]).tuple().reduce(), /tensor size\[0\] to be an integer but found the number 1180591620717411303424/],
  ['_rebuild_tensor_v2 with 65 dimensions', (w) => storageId(w.global('torch._utils', '_rebuild_tensor_v2').mark()).int(0).intTuple(Array(65).fill(1)).intTuple(Array(65).fill(1)).tuple().reduce(), /has 65 dimensions; torch allows at most 64/],
  ['_rebuild_tensor_v2 with more than 2^48 elements', (w) => storageId(w.global('torch._utils', '_rebuild_tensor_v2').mark()).int(0).intTuple([2 ** 25, 2 ** 25]).intTuple([0, 0]).tuple().reduce(), /has more than 2\^48 elements/],
  ['_rebuild_tensor_v3 with a dtype that is not one', (w) => storageId(w.global('torch._utils', '_rebuild_tensor_v3').mark()).int(0).intTuple([4]).intTuple([1]).bool(false).none().str('float32').tuple().reduce(), /Unsupported tensor dtype the string 'float32' in _rebuild_tensor_v3/],
  ['_rebuild_parameter around a string', (w) => w.global('torch._utils', '_rebuild_parameter').str('x').bool(true).tuple(2).reduce(), /Expected a tensor inside the Parameter but found the string 'x'/],
  ['a storage class called as a function', (w) => w.global('torch', 'FloatStorage').int(4).tuple(1).reduce(), /calls 'torch\.FloatStorage', which is only expected as an argument/],
  ['OrderedDict of a number', (w) => w.global('collections', 'OrderedDict').int(5).tuple(1).reduce(), /OrderedDict's argument to be a list of pairs or a dict but found the number 5/],
  ['OrderedDict of triples', (w) => w.global('collections', 'OrderedDict').mark().mark().int(1).int(2).int(3).tuple().raw(0x6c).tuple(1).reduce(), /Expected \(key, value\) pairs for OrderedDict but found a 3-tuple/],
  ['OrderedDict of two arguments', (w) => w.global('collections', 'OrderedDict').emptyDict().emptyDict().tuple(2).reduce(), /OrderedDict takes at most one argument but the pickle passes 2/],
  ['torch.Size of nothing', (w) => w.global('torch', 'Size').emptyTuple().reduce(), /torch\.Size takes one tuple of integers but the pickle passes 0 arguments/],
  ['torch.Size of strings', (w) => w.global('torch', 'Size').mark().str('a').tuple().tuple(1).reduce(), /Expected the torch\.Size\[0\] to be an integer but found the string 'a'/],
  ['numpy _reconstruct of another class', (w) => w.global('numpy.core.multiarray', '_reconstruct').global('argparse', 'Namespace').int(0).tuple(2).reduce(), /numpy _reconstruct expects numpy\.ndarray as its class/],
  ['numpy.dtype of a number', (w) => w.global('numpy', 'dtype').int(4).tuple(1).reduce(), /Expected the numpy dtype type string to be a string but found the number 4/],
  ["_codecs.encode with 'rot13'", (w) => w.global('_codecs', 'encode').str('x').str('rot13').tuple(2).reduce(), /_codecs\.encode with encoding 'rot13' is not supported/],
  ['NEWOBJ_EX with keyword arguments', (w) => w.global('argparse', 'Namespace').emptyTuple().emptyDict().str('k').int(1).setitem().raw(0x92), /NEWOBJ_EX with keyword arguments is not supported/],
  ['BUILD on a tensor', (w) => writeTensor(w, f32('0', [4])).emptyDict().build(), /BUILD cannot set state on a tensor/],
  ['a persistent id that is not a storage', (w) => w.mark().str('module').none().none().none().tuple().binpersid(), /Expected a persistent id \('storage', type, key, location, numel\[, view\]\) but found a 4-tuple/],
  ['a persistent id with a numeric key', (w) => w.mark().str('storage').global('torch', 'FloatStorage').int(0).str('cpu').int(4).tuple().binpersid(), /Expected the storage key to be a string but found the number 0/],
  ['a persistent id with a negative size', (w) => storageId(w, '0', -4), /storage element count to be between 0 and 2\^48 but found -4/],
  ['a persistent id naming a storage class from another module', (w) => w.mark().str('storage').global('evil', 'FloatStorage').str('0').str('cpu').int(4).tuple().binpersid(), /refuses to load global 'evil\.FloatStorage'/],
];

describe('hostile pickles: allowed callables with wrong arguments', () => {
  for (const [name, value, pattern] of WRONG_ARGUMENTS) {
    it(`refuses ${name} by name`, () => {
      refused(torchZip('x', oneValue(value), storage4), readPth, pattern);
    });
  }
});

// ---------------------------------------------------------------------------------------------

describe('hostile pickles: memo tricks', () => {
  it('a memo slot read before it is written is refused', () => {
    refused(torchZip('x', oneValue((w) => w.binget(7))), readPth, /memo index 7 is read before anything was stored there/);
  });

  it("a size list changed after the rebuild does not change the tensor (the rebuild keeps its own copy)", () => {
    // size = [4] is memoized, used in the rebuild, then appended to: a Python list is mutable.
    const w = new PickleWriter().proto(2).emptyDict().mark().str('t');
    w.global('torch._utils', '_rebuild_tensor_v2').mark();
    storageId(w).int(0).emptyList().binput(9).int(4).append().intTuple([1]).bool(false);
    ordered(w).tuple().reduce();
    w.str('later').binget(9).int(1000).append();
    const c = readPth(torchZip('x', w.setitems().stop().finish(), storage4), 'x.pth');
    assert.deepEqual(c.tensors.get('t')!.shape, [4]);
    assert.deepEqual([...(c.tensors.get('t')!.data as Float32Array)], [1, 2, 3, 4]);
  });

  it('a dict that holds itself is walked once, not forever', () => {
    const w = new PickleWriter().proto(2).emptyDict().binput(0).mark().str('w');
    writeTensor(w, f32('0', [4]));
    w.str('self').binget(0).str('state_dict').binget(0);
    const c = readPth(torchZip('x', w.setitems().stop().finish(), storage4), 'x.pth');
    assert.deepEqual([...c.tensors.keys()], ['w']);
    // Walked once: the dict is one candidate, not one per path that reaches it again.
    assert.deepEqual(c.weights?.candidates, [{ key: '', tensors: 1 }]);
  });

  it('one tensor under 100,000 names is one tensor, read once', () => {
    const w = new PickleWriter().proto(2).emptyDict().mark().str('t0');
    writeTensor(w, f32('0', [4])).memoize(); // memo 0: nothing before it is memoized
    for (let i = 1; i < 100_000; i++) w.str(`t${i}`).binget(0);
    const bytes = torchZip('x', w.setitems().stop().finish(), storage4);
    let c: ReturnType<typeof readPth> | undefined;
    const cost = allocation(() => (c = readPth(bytes, 'x.pth')));
    assert.equal(c!.tensors.size, 100_000);
    assert.equal(c!.tensors.get('t99999'), c!.tensors.get('t0'), 'the same Tensor object');
    assert.ok(cost.bytes < 64 << 20, `allocated ${cost.bytes} bytes`);
  });
});

function le32(n: number): number[] {
  return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24];
}

// ---------------------------------------------------------------------------------------------

describe('hostile pickles: deep nesting and billion laughs', () => {
  it('a million nested lists are interpreted without recursion and refused as not a dict', () => {
    const w = new PickleWriter().proto(2);
    for (let i = 0; i < 1_000_000; i++) w.emptyList();
    for (let i = 1; i < 1_000_000; i++) w.append();
    const cost = allocation(() => refused(torchZip('x', w.stop().finish()), readPth, /Expected the saved object to be a dict of tensors \(a state_dict\) but found a list of 1/));
    assert.ok(cost.ms < 10_000, `took ${cost.ms} ms`);
  });

  it('dicts nested 100,000 deep under wrapper keys are searched to depth 3 only', () => {
    const w = new PickleWriter().proto(2);
    for (let i = 0; i < 100_000; i++) w.emptyDict().str('state_dict');
    writeStateDict(w, [['w', f32('0', [4])]]);
    for (let i = 0; i < 100_000; i++) w.setitem();
    refused(torchZip('x', w.stop().finish(), storage4), readPth, /Found no tensors in the top-level dict or in the dicts under it \(to depth 3\)/);
  });

  it('billion laughs of dicts (1000 keys to the same dict, four levels) is walked in linear time', () => {
    // Each level's dict maps 1000 keys to the one dict below; walked naively that is 10^12 visits.
    const w = new PickleWriter().proto(2);
    writeStateDict(w, [['w', f32('0', [4])]]).raw(0x94);
    for (let level = 1; level <= 4; level++) {
      w.emptyDict().mark();
      for (let k = 0; k < 1000; k++) w.str(`k${k}`).raw(0x6a, ...le32(level - 1));
      w.setitems().raw(0x94);
    }
    const bytes = torchZip('x', w.stop().finish(), storage4);
    const cost = allocation(() => refused(bytes, readPth, /Found no tensors/));
    assert.ok(cost.ms < 5_000, `took ${cost.ms} ms`);
  });

  /** L0 = [], then L(i) = [L(i-1)] * 10 (tuples when `tuple`), through the memo: 40 levels, 10^40 leaves. */
  const laughs = (w: PickleWriter, tuple: boolean): PickleWriter => {
    (tuple ? w.emptyTuple() : w.emptyList()).memoize().raw(0x30);
    for (let level = 1; level <= 40; level++) {
      if (!tuple) w.emptyList();
      w.mark();
      for (let k = 0; k < 10; k++) w.raw(0x6a, ...le32(level - 1));
      if (tuple) w.tuple();
      else w.appends();
      w.memoize();
      if (level < 40) w.raw(0x30); // POP: kept in the memo only
    }
    return w;
  };

  it('billion laughs of lists beside the weights is described, never expanded', () => {
    const w = new PickleWriter().proto(2).emptyDict().mark().str('state_dict');
    writeStateDict(w, [['w', f32('0', [4])]]);
    laughs(w.str('laughs'), false).setitems();
    let c: ReturnType<typeof readPth> | undefined;
    const cost = allocation(() => (c = readPth(torchZip('x', w.stop().finish(), storage4), 'x.pth')));
    assert.equal(c!.metadata.laughs, 'list of 10');
    assert.ok(cost.bytes < 64 << 20 && cost.ms < 5_000, `allocated ${cost.bytes} bytes in ${cost.ms} ms`);
  });

  it('billion laughs as a dict key (a tuple of tuples, which Python can hash) is named, never printed', () => {
    const pth = laughs(new PickleWriter().proto(2).emptyDict().mark(), true).int(1);
    writeTensor(pth.str('w'), f32('0', [4]));
    const pd = laughs(new PickleWriter().proto(2).emptyDict().mark(), true).int(1);
    writeNumpyArray(pd.str('w'), 'f4', [1], bytesOf(new Float32Array([1])));
    const cases: [string, () => { metadata: Record<string, string> }][] = [
      ['torch zip', () => readPth(torchZip('x', pth.setitems().stop().finish(), storage4), 'x.pth')],
      ['pdparams', () => pdparamsReader.read(pd.setitems().stop().finish(), 'x.pdparams')],
    ];
    for (const [name, read] of cases) {
      let c: { metadata: Record<string, string> } | undefined;
      const cost = allocation(() => (c = read()));
      assert.equal(c!.metadata.ignoredKeys, 'a 10-tuple', name);
      assert.ok(cost.bytes < 64 << 20 && cost.ms < 5_000, `${name}: allocated ${cost.bytes} bytes in ${cost.ms} ms`);
    }
  });

  it('many strided views of one large storage are refused once their copies outgrow the file', () => {
    // A 4 MB storage, transposed 1000 times: 4 GB of copies for a 4 MB file, without the budget.
    const n = 1024;
    const data = new Float32Array(n * n);
    const w = new PickleWriter().proto(2).emptyDict().mark();
    for (let i = 0; i < 1000; i++) {
      w.str(`t${i}`).global('torch._utils', '_rebuild_tensor_v2').mark();
      if (i === 0) storageId(w, '0', n * n).binput(200);
      else w.binget(200);
      w.int(0).intTuple([n, n]).intTuple([1, n]).bool(false);
      ordered(w).tuple().reduce();
    }
    const bytes = torchZip('x', w.setitems().stop().finish(), [['0', bytesOf(data)]]);
    const cost = allocation(() => refused(bytes, readPth, /exceed the size of the file \(a pickle that names one storage in many strided views\)/));
    assert.ok(cost.bytes < 64 << 20, `allocated ${(cost.bytes / 2 ** 20).toFixed(0)} MiB`);
  });

  it('many contiguous tensors over one misaligned legacy storage share one aligned copy', () => {
    // Legacy storages start wherever the data section puts them; each tensor's view would
    // otherwise copy the whole misaligned storage: 2000 x 4 MB.
    const n = 1 << 20;
    const file = (pad: number) => {
      const main = new PickleWriter().proto(2).emptyDict().mark().str('pad');
      writeTensor(main, { storageType: 'ByteStorage', storageKey: 'pad', storageNumel: pad, size: [pad], view: null });
      for (let i = 0; i < 2000; i++) {
        main.str(`t${i}`).global('torch._utils', '_rebuild_tensor_v2').mark();
        if (i === 0) main.mark().str('storage').global('torch', 'FloatStorage').str('big').str('cpu').int(n).none().tuple().binpersid().binput(201);
        else main.binget(201);
        main.int(0).intTuple([n]).intTuple([1]).bool(false);
        ordered(main).tuple().reduce();
      }
      return legacyTorchFile(main.setitems().stop().finish(), [
        { key: 'pad', bytes: new Uint8Array(pad), count: pad },
        { key: 'big', bytes: bytesOf(new Float32Array(n)), count: n },
      ]);
    };
    // The big storage's bytes are the file's last 4n; pad the one before so they start misaligned.
    const bytes = [1, 2, 3].map(file).find((b) => (b.length - 4 * n) % 4 !== 0)!;
    let c: ReturnType<typeof readPth> | undefined;
    const cost = allocation(() => (c = readPth(bytes, 'x.pth')));
    assert.equal(c!.tensors.size, 2001);
    assert.ok(cost.bytes < 64 << 20, `allocated ${(cost.bytes / 2 ** 20).toFixed(0)} MiB`);
  });

  it('a megabyte-long LONG4 integer is refused by name, not parsed for minutes', () => {
    const n = 1 << 20;
    const w = new PickleWriter().proto(2).emptyDict().str('x').raw(0x8b, ...le32(n)).rawBytes(new Uint8Array(n).fill(0x55)).setitem().stop().finish();
    const cost = allocation(() => refused(torchZip('x', w), readPth, /LONG4 holds a 1048576-byte integer; integers in a checkpoint are never beyond 65536 bytes/));
    assert.ok(cost.ms < 5_000, `took ${cost.ms} ms`);
  });

  it('the longest LONG4 allowed is parsed in linear time', () => {
    const n = 1 << 16;
    const w = new PickleWriter().proto(2).emptyDict().mark().str('w');
    writeTensor(w, f32('0', [4]));
    w.str('big').raw(0x8b, ...le32(n)).rawBytes(new Uint8Array(n).fill(0x55)).setitems().stop();
    const cost = allocation(() => readPth(torchZip('x', w.finish(), storage4), 'x.pth'));
    // Shifting a BigInt byte by byte takes about 0.6 s here for 64 KiB (quadratic); one hex parse is under 10 ms.
    assert.ok(cost.ms < 300, `took ${cost.ms} ms`);
  });

  it("a text INT longer than Python's 4300 digits is refused by name", () => {
    const w = new PickleWriter().proto(2).emptyDict().str('x').raw(0x49).rawBytes(Buffer.from(`${'9'.repeat(5_000_000)}\n`)).setitem().stop().finish();
    const cost = allocation(() => refused(torchZip('x', w), readPth, /INT\/LONG holds 5000000 digits; Python reads at most 4300/));
    assert.ok(cost.ms < 5_000, `took ${cost.ms} ms`);
  });

  it('an argparse.Namespace that holds itself is summarised in one line', () => {
    const w = new PickleWriter().proto(2).emptyDict().mark().str('state_dict');
    writeStateDict(w, [['w', f32('0', [4])]]);
    w.str('args').global('argparse', 'Namespace').emptyTuple().newobj().binput(50).emptyDict().str('me').binget(50).setitem().str('lr').float(0.1).setitem().build();
    w.setitems();
    const c = readPth(torchZip('x', w.stop().finish(), storage4), 'x.pth');
    assert.equal(c.metadata.args, 'Namespace(me=Namespace(...), lr=0.1)');
  });
});
