import { numel, type DType, type Tensor } from '../../tensor';

/**
 * safetensors as the reference implementation (Rust `safetensors.serialize`) writes it: a u64
 * little-endian header length N, the JSON header padded with spaces to a multiple of 8, then the
 * tensors back to back. Tensors are sorted by dtype (largest first, in the crate's order) and then
 * by name, so every tensor starts at an offset that is a multiple of its element size (and the data
 * section itself at a multiple of 8), which lets readers view the data in place. The header keeps
 * `__metadata__` first; `format` is `pt`.
 */

const CODES: Record<DType, string> = {
  float16: 'F16', bfloat16: 'BF16', float32: 'F32', float64: 'F64',
  int8: 'I8', uint8: 'U8', int16: 'I16', int32: 'I32', int64: 'I64', bool: 'BOOL',
};

/** The crate's `Dtype` declaration order (derive(Ord)); it sorts tensors by it, descending. */
const DTYPE_ORDER = ['BOOL', 'U8', 'I8', 'F8_E5M2', 'F8_E4M3', 'I16', 'U16', 'F16', 'BF16', 'I32', 'U32', 'F32', 'F64', 'I64', 'U64'];

export interface SafetensorsOptions {
  /** `__metadata__` entries; `format: 'pt'` is added first unless given. */
  readonly metadata?: Readonly<Record<string, string>>;
}

const utf8 = new TextEncoder();

/** Rust compares names as bytes; JS `<` compares UTF-16 units, which differs outside the BMP. */
function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

export function writeSafetensors(tensors: ReadonlyMap<string, Tensor>, options: SafetensorsOptions = {}): Uint8Array[] {
  const order = [...tensors].sort(([an, a], [bn, b]) =>
    DTYPE_ORDER.indexOf(CODES[b.dtype]) - DTYPE_ORDER.indexOf(CODES[a.dtype]) || compareBytes(an, bn));
  const fields: string[] = [];
  const metadata = { format: 'pt', ...options.metadata };
  fields.push(`"__metadata__":{${Object.entries(metadata).map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`);
  const data: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of order) {
    if (name === '__metadata__') throw new Error("A tensor cannot be named '__metadata__' in safetensors.");
    if (t.data.length !== numel(t.shape)) throw new Error(`Tensor '${name}' has shape [${t.shape.join(', ')}] but ${t.data.length} values.`);
    const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    // Keys written by hand: JSON.stringify of an object would move integer-like names first.
    fields.push(`${JSON.stringify(name)}:{"dtype":"${CODES[t.dtype]}","shape":[${t.shape.join(',')}],"data_offsets":[${offset},${offset + bytes.length}]}`);
    data.push(bytes);
    offset += bytes.length;
  }
  const json = utf8.encode(`{${fields.join(',')}}`);
  const padded = Math.ceil(json.length / 8) * 8;
  const header = new Uint8Array(8 + padded).fill(0x20, 8 + json.length);
  new DataView(header.buffer).setBigUint64(0, BigInt(padded), true);
  header.set(json, 8);
  return [header, ...data];
}
