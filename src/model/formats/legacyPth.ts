import { FormatError } from '../errors';
import type { Checkpoint } from '../tensor';
import { BinaryReader, latin1 } from './binaryReader';
import { describe, unpickleWithEnd, type PickleOptions } from './pickle';
import type { ReadOptions } from './stateDict';
import { StorageTable, TORCH_PICKLE_OPTIONS, storageLoader, torchCheckpoint, torchGlobals, type StorageRef } from './torchPickle';

/**
 * The legacy torch.save format (PyTorch 0.1.10 to 1.5, and `_use_new_zipfile_serialization=False`
 * since): one file of five pickles, then raw storages (torch/serialization.py, `_legacy_save`):
 *
 *   pickle  MAGIC_NUMBER, the int 0x1950a86a20f9469cfc6c
 *   pickle  PROTOCOL_VERSION, 1001
 *   pickle  sys_info: {'protocol_version': 1001, 'little_endian': True, 'type_sizes': {'short': 2, 'int': 4, 'long': 4}}
 *   pickle  the object; each storage is a persistent id
 *           ('storage', torch.FloatStorage, key, location, numel, view_metadata or None)
 *   pickle  the storage keys, sorted: the order of the data that follows
 *   per key int64 little-endian element count, then count * element size raw little-endian bytes
 *
 * The storages come after the pickle that uses them, so tensors are declared first and their bytes
 * attached after the data section is walked (see torchPickle.ts). Every pickle goes through the
 * same allow-listed interpreter as the zip format; the header pickles get an empty allow-list.
 */

const MAGIC_NUMBER = 0x1950a86a20f9469cfc6cn;
const PROTOCOL_VERSION = 1001;
/** The magic number as protocol 2+ pickles it: LONG1, 10 bytes. */
const MAGIC_LONG1 = [0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];
/** ... and as protocols 0 and 1 do, a text LONG. */
const MAGIC_TEXT = `L${MAGIC_NUMBER}L\n`;

/** True when the file starts with torch's pickled magic number (any pickle protocol, a FRAME allowed). */
export function isLegacyTorchHead(head: Uint8Array): boolean {
  let at = 0;
  if (head[0] === 0x80 && head[1] >= 2 && head[1] <= 5) {
    at = 2;
    if (head[at] === 0x95) at += 9; // protocol 4+ frames even this small pickle
    return head.length >= at + MAGIC_LONG1.length && MAGIC_LONG1.every((b, i) => head[at + i] === b);
  }
  return head.length >= MAGIC_TEXT.length && latin1.decode(head.subarray(0, MAGIC_TEXT.length)) === MAGIC_TEXT;
}

/** PyTorch before 0.1.10 wrote a tar archive with members 'sys_info', 'pickle', 'tensors' and 'storages'. */
const TAR_MEMBERS = new Set(['sys_info', 'pickle', 'tensors', 'storages']);

function isTar(head: Uint8Array): boolean {
  return head.length >= 262 && latin1.decode(head.subarray(257, 262)) === 'ustar';
}

/** A tar whose first member is one torch's tar format writes (or any tar named like a checkpoint). */
export function isTorchTar(head: Uint8Array, file = ''): boolean {
  if (!isTar(head)) return false;
  const name = latin1.decode(head.subarray(0, 100)).replace(/\0.*$/s, '');
  return TAR_MEMBERS.has(name) || /\.(pth|pt)(\.tar)?$/i.test(file);
}

export function refuseTorchTar(file: string): never {
  throw new FormatError(
    file,
    "This is a tar archive in the format torch.save wrote before PyTorch 0.1.10 (members 'sys_info', 'pickle', 'tensors' and 'storages'). " +
      'DLA Lens does not read that format. A PyTorch you trust with this file can re-save it: torch.save(torch.load(path), path) writes the zip format.',
    0,
  );
}

/** The header pickles hold only ints, bools, strings and dicts: no global is allowed. */
const HEADER = { globals: new Map(), purpose: 'the header of a legacy torch.save file (numbers and dicts only)' } as const;

export function readLegacyPth(bytes: Uint8Array, file: string, options?: ReadOptions): Checkpoint {
  let at = 0;
  const next = (what: string, extra: Partial<PickleOptions> = HEADER): { value: unknown; start: number } => {
    if (at >= bytes.length) {
      throw new FormatError(file, `The legacy torch.save file ends where its ${what} should start. The file might be truncated.`, at);
    }
    const start = at;
    const r = unpickleWithEnd(bytes.subarray(at), { ...HEADER, ...extra, file, base: at });
    at += r.end;
    return { value: r.value, start };
  };
  const magic = next('magic number');
  if (magic.value !== MAGIC_NUMBER) {
    throw new FormatError(file, `Expected torch's magic number ${MAGIC_NUMBER} as the first pickle but found ${describe(magic.value)}.`, magic.start);
  }
  const version = next('protocol version');
  if (version.value !== PROTOCOL_VERSION) {
    throw new FormatError(file, `Expected legacy torch.save protocol version ${PROTOCOL_VERSION} but found ${describe(version.value)}.`, version.start);
  }
  const sysInfo = next('sys_info dict');
  checkSysInfo(sysInfo.value, file, sysInfo.start);

  const table = new StorageTable();
  const main = next('data pickle', {
    globals: torchGlobals(),
    ...TORCH_PICKLE_OPTIONS,
    persistentLoad: storageLoader(table),
  });
  const protocol = bytes[main.start] === 0x80 ? bytes[main.start + 1] : 1;
  const keys = next('list of storage keys');
  const data = readStorages(bytes, at, keys, table, file);

  return torchCheckpoint(
    main.value,
    {
      file,
      base: main.start,
      fileBytes: bytes.length,
      bytesOf: (s) => data.get(s)!,
      metadata: { serialization: `legacy torch.save (protocol ${PROTOCOL_VERSION}, pickle protocol ${protocol})` },
    },
    options,
  );
}

/** torch ignores sys_info, but a big-endian or odd-sized file would be read wrong, so it is checked. */
function checkSysInfo(v: unknown, file: string, offset: number): void {
  const fail = (detail: string): never => {
    throw new FormatError(file, detail, offset, 'sys_info');
  };
  if (!(v instanceof Map)) fail(`Expected the sys_info dict but found ${describe(v)}.`);
  const info = v as Map<unknown, unknown>;
  const protocol = info.get('protocol_version');
  if (protocol !== undefined && protocol !== PROTOCOL_VERSION) fail(`sys_info says protocol_version ${describe(protocol)}; expected ${PROTOCOL_VERSION}.`);
  const little = info.get('little_endian');
  if (little === false) {
    fail('The checkpoint was saved on a big-endian machine (sys_info little_endian=False); only little-endian storages are supported.');
  }
  if (little !== true) fail(`Expected sys_info's little_endian to be True but found ${describe(little)}.`);
  const sizes = info.get('type_sizes');
  if (sizes === undefined) return;
  if (!(sizes instanceof Map)) fail(`Expected sys_info's type_sizes to be a dict but found ${describe(sizes)}.`);
  // 'long' is 4 bytes in struct's standard sizes (what torch writes) and 8 in old native ones; the
  // element counts are int64 either way. Any other size means a platform this reader cannot follow.
  const allowed: Record<string, number[]> = { short: [2], int: [4], long: [4, 8] };
  for (const [name, ok] of Object.entries(allowed)) {
    const size = (sizes as Map<unknown, unknown>).get(name);
    if (size !== undefined && !ok.includes(size as number)) {
      fail(`sys_info says a C '${name}' is ${describe(size)} bytes; expected ${ok.join(' or ')}. The file was saved on a platform DLA Lens cannot read.`);
    }
  }
}

/**
 * The data section: for each key in the pickled order, an int64 element count that must equal the
 * count the pickle declared, then that many elements. Every length is checked against what is
 * left of the file before anything is sliced.
 */
function readStorages(
  bytes: Uint8Array,
  start: number,
  keys: { value: unknown; start: number },
  table: StorageTable,
  file: string,
): Map<StorageRef, Uint8Array> {
  if (!Array.isArray(keys.value)) {
    throw new FormatError(file, `Expected the pickled list of storage keys but found ${describe(keys.value)}.`, keys.start);
  }
  const r = new BinaryReader(bytes, file);
  r.seek(start);
  const data = new Map<StorageRef, Uint8Array>();
  for (const k of keys.value) {
    const key = typeof k === 'string' ? k : k instanceof Uint8Array ? latin1.decode(k) : undefined;
    if (key === undefined) throw new FormatError(file, `Expected the storage keys to be strings but found ${describe(k)}.`, keys.start);
    const storage = table.storages.get(key);
    if (!storage) throw new FormatError(file, `The list of storage keys names '${key}', which the pickle never declares.`, keys.start);
    if (data.has(storage)) throw new FormatError(file, `The list of storage keys names '${key}' twice.`, keys.start);
    const recordAt = r.position;
    if (r.remaining < 8) {
      r.fail(`Expected the 8-byte element count of storage '${key}' but only ${r.remaining} bytes remain. The file might be truncated.`);
    }
    const count = r.i64();
    if (count !== BigInt(storage.numel)) {
      r.fail(
        `Storage '${key}' is declared in the pickle with ${storage.numel} ${storage.dtype} elements but its data section says ${count}. The file is corrupted.`,
        recordAt,
      );
    }
    if (storage.byteLength > r.remaining) {
      r.fail(
        `Storage '${key}' needs ${storage.byteLength} bytes (${storage.numel} ${storage.dtype} elements) but only ${r.remaining} remain. The file might be truncated.`,
      );
    }
    data.set(storage, r.read(storage.byteLength));
  }
  for (const storage of table.storages.values()) {
    if (!data.has(storage)) {
      throw new FormatError(file, `Storage '${storage.key}' is used by the pickle but missing from the list of storage keys, so its data cannot be found.`, storage.offset);
    }
  }
  return data;
}
