import assert from 'node:assert/strict';
import * as fs from 'fs';
import { describe, it } from 'node:test';
import { FormatError } from '../../../src/model/errors';
import { PyObject, inertObject, unpickle, type AllowList } from '../../../src/model/formats/pickle';
import { PickleWriter, sentinelPath } from './fixtures';

const FILE = 'test.pkl';

function load(bytes: Uint8Array, globals: AllowList = new Map(), persistentLoad?: (pid: unknown) => unknown): unknown {
  return unpickle(bytes, { file: FILE, globals, purpose: 'tests', persistentLoad });
}

function assertFormatError(fn: () => unknown, pattern: RegExp): FormatError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof FormatError, `expected a FormatError, got ${caught instanceof Error ? `${caught.name}: ${caught.message}` : String(caught)}`);
  assert.match(caught.message, pattern);
  assert.ok(caught.message.startsWith(`${FILE}: `), 'the message names the file');
  return caught;
}

describe('pickle interpreter: values', () => {
  it('reads scalars, strings and bytes of protocol 2-4', () => {
    const w = new PickleWriter().proto(4).frame(0).mark();
    w.none().bool(true).bool(false).int(7).int(300).int(-5).int(70000).int(2n ** 70n).int(-(2n ** 40n)).float(1.5);
    w.str('héllo').shortStr('short').bytes(Uint8Array.of(1, 2, 3)).bytes(Uint8Array.of(9), true).binstring('py2');
    w.raw(0x8d, 2, 0, 0, 0, 0, 0, 0, 0, 0x61, 0x62); // BINUNICODE8 'ab'
    w.raw(0x96, 1, 0, 0, 0, 0, 0, 0, 0, 0xff); // BYTEARRAY8
    w.raw(0x49, ...Buffer.from('42\n')); // INT (protocol 0)
    const v = load(w.tuple().stop().finish()) as unknown[];
    assert.deepEqual(v.slice(0, 10), [null, true, false, 7, 300, -5, 70000, 2n ** 70n, -(2 ** 40), 1.5]);
    assert.deepEqual(v.slice(10, 12), ['héllo', 'short']);
    assert.deepEqual([...(v[12] as Uint8Array)], [1, 2, 3]);
    assert.deepEqual([...(v[13] as Uint8Array)], [9]);
    assert.deepEqual(v.slice(14, 16), ['py2', 'ab']);
    assert.deepEqual([...(v[16] as Uint8Array)], [0xff]);
    assert.equal(v[17], 42);
    assert.ok(Object.isFrozen(v), 'tuples are frozen arrays');
  });

  it('builds containers with SETITEM(S), APPEND(S), DICT, LIST, sets and the memo', () => {
    const w = new PickleWriter().proto(2).emptyDict().binput(0);
    w.str('a').emptyList().binput(1).int(1).append().mark().int(2).int(3).appends().setitem();
    w.mark().str('b').binget(1).str('c').mark().int(1).int(2).raw(0x6c).setitems(); // LIST
    w.str('d').mark().str('k').int(5).raw(0x64).setitem(); // DICT
    w.str('e').raw(0x8f).mark().int(4).int(4).raw(0x90).setitem(); // EMPTY_SET + ADDITEMS
    w.str('f').mark().int(1).raw(0x91).memoize().setitem(); // FROZENSET, MEMOIZE (index 2)
    w.str('g').int(9).raw(0x32).raw(0x30).setitem(); // DUP, POP
    w.mark().int(99).raw(0x31); // POP_MARK discards
    const v = load(w.stop().finish()) as Map<string, unknown>;
    assert.deepEqual([...v.keys()], ['a', 'b', 'c', 'd', 'e', 'f', 'g']);
    assert.deepEqual(v.get('a'), [1, 2, 3]);
    assert.equal(v.get('b'), v.get('a'), 'BINGET returns the same object');
    assert.deepEqual(v.get('c'), [1, 2]);
    assert.deepEqual(v.get('d'), new Map([['k', 5]]));
    assert.deepEqual(v.get('e'), new Set([4]));
    assert.deepEqual(v.get('f'), new Set([1]));
    assert.equal(v.get('g'), 9);
  });

  it('calls allowed globals through REDUCE, NEWOBJ and STACK_GLOBAL and applies BUILD state', () => {
    const globals: AllowList = new Map([
      ['argparse.Namespace', inertObject('argparse.Namespace')],
      ['collections.OrderedDict', () => new Map()],
    ]);
    const w = new PickleWriter().proto(4).mark();
    w.stackGlobal('argparse', 'Namespace').emptyTuple().newobj().emptyDict().str('lr').float(0.1).setitem().build();
    w.global('collections', 'OrderedDict').emptyTuple().reduce().emptyDict().str('_metadata').emptyDict().setitem().build();
    const [ns, od] = load(w.tuple().stop().finish(), globals) as unknown[];
    assert.ok(ns instanceof PyObject);
    assert.equal(ns.className, 'argparse.Namespace');
    assert.deepEqual(ns.state, new Map([['lr', 0.1]]));
    assert.deepEqual(od, new Map(), 'BUILD on an OrderedDict sets attributes, not items');
  });

  it('resolves persistent ids through the caller', () => {
    const w = new PickleWriter().proto(2).str('id-7').binpersid().stop();
    assert.equal(load(w.finish(), new Map(), (pid) => `resolved ${pid}`), 'resolved id-7');
    assertFormatError(() => load(w.finish()), /persistent id/);
  });
});

describe('pickle interpreter: security', () => {
  const marker = sentinelPath('pickle');
  const g = globalThis as { dlaLensPwned?: boolean };

  // What Python would do with these: run a shell command creating the marker, or eval JS-like text.
  const hostile: [string, Uint8Array][] = [
    ['os.system via GLOBAL', new PickleWriter().proto(2).global('os', 'system').str(`touch ${marker}`).tuple(1).reduce().stop().finish()],
    ['posix.system via STACK_GLOBAL', new PickleWriter().proto(4).stackGlobal('posix', 'system').str(`touch ${marker}`).tuple(1).reduce().stop().finish()],
    ['builtins.eval', new PickleWriter().proto(2).global('builtins', 'eval').str('globalThis.dlaLensPwned = true').tuple(1).reduce().stop().finish()],
    ['builtins.exec nested in a dict', new PickleWriter().proto(2).emptyDict().str('x').global('builtins', 'exec').str('1').tuple(1).reduce().setitem().stop().finish()],
  ];

  for (const [name, bytes] of hostile) {
    it(`refuses ${name}, naming the global, and runs nothing`, () => {
      const qualified = name.split(' ')[0];
      const e = assertFormatError(() => load(bytes), new RegExp(`refuses to load global '${qualified.replace('.', '\\.')}'`));
      assert.ok(e.offset !== undefined, 'the error has an offset');
      assert.equal(fs.existsSync(marker), false, 'no shell command ran');
      assert.equal(g.dlaLensPwned, undefined, 'no code was evaluated');
    });
  }

  it('refuses a global even when it is only referenced, never called', () => {
    assertFormatError(() => load(new PickleWriter().proto(2).global('subprocess', 'Popen').stop().finish()), /'subprocess\.Popen'/);
  });
});

describe('pickle interpreter: malformed input', () => {
  const cases: [string, Uint8Array, RegExp][] = [
    ['stack underflow on STOP', new PickleWriter().proto(2).stop().finish(), /stack underflow/],
    ['stack underflow on REDUCE', new PickleWriter().proto(2).reduce().stop().finish(), /stack underflow/],
    ['underflow below a MARK', new PickleWriter().proto(2).int(1).mark().raw(0x30).finish(), /stack underflow/],
    ['memo read before write', new PickleWriter().proto(2).binget(5).stop().finish(), /memo index 5/],
    ['unknown opcode', new PickleWriter().proto(2).raw(0xff).finish(), /opcode 0xff/],
    ['no STOP', new PickleWriter().proto(2).int(1).finish(), /without a STOP/],
    ['TUPLE without MARK', new PickleWriter().proto(2).int(1).tuple().stop().finish(), /MARK/],
    ['APPEND to a dict', new PickleWriter().proto(2).emptyDict().int(1).append().stop().finish(), /expects a list/],
    ['APPEND to a tuple', new PickleWriter().proto(2).emptyTuple().int(1).append().stop().finish(), /expects a list/],
    ['SETITEMS with an odd count', new PickleWriter().proto(2).emptyDict().mark().int(1).setitems().stop().finish(), /odd count/],
    ['BUILD on an int', new PickleWriter().proto(2).int(1).emptyDict().build().stop().finish(), /BUILD cannot set state/],
    ['REDUCE of a non-global', new PickleWriter().proto(2).int(1).emptyTuple().reduce().stop().finish(), /expects a global/],
    ['truncated BINUNICODE', new PickleWriter().proto(2).raw(0x58, 0xff, 0xff, 0, 0, 0x61).finish(), /declares 65535 bytes/],
    ['huge FRAME', new PickleWriter().proto(4).frame(1e12).finish(), /FRAME declares/],
    ['protocol 6', new PickleWriter().proto(6).finish(), /protocol 6/],
    ['EXT1', new PickleWriter().proto(2).raw(0x82, 1).finish(), /extension registry/],
    ['STACK_GLOBAL of non-strings', new PickleWriter().proto(4).int(1).int(2).raw(0x93).finish(), /two strings/],
    ['bad text INT', new PickleWriter().raw(0x49, ...Buffer.from('x1\n')).finish(), /not an integer/],
  ];
  for (const [name, bytes, pattern] of cases) {
    it(`${name} is a FormatError with an offset`, () => {
      const e = assertFormatError(() => load(bytes), pattern);
      assert.ok(e.offset !== undefined && e.offset >= 0 && e.offset <= bytes.length);
    });
  }

  it('reports file offsets when given a base', () => {
    try {
      unpickle(new PickleWriter().proto(2).raw(0xfe).finish(), { file: FILE, base: 1000, globals: new Map(), purpose: 'tests' });
      assert.fail('expected an error');
    } catch (e) {
      assert.ok(e instanceof FormatError);
      assert.equal(e.offset, 1002);
    }
  });

  it('never throws anything but FormatError on random bytes', () => {
    let seed = 12345;
    const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xff;
    for (let n = 0; n < 500; n++) {
      const bytes = Uint8Array.from({ length: 2 + (n % 60) }, rand);
      bytes[0] = 0x80;
      bytes[1] = 2;
      try {
        load(bytes);
      } catch (e) {
        assert.ok(e instanceof FormatError, `input ${Buffer.from(bytes).toString('hex')} threw ${String(e)}`);
      }
    }
  });
});
