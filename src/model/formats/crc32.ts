import * as zlib from 'zlib';

let crcTable: Uint32Array | undefined;

/** CRC-32 (zip's polynomial). zlib.crc32 exists from Node 20.15; older Node 20 uses the table. */
export function crc32(bytes: Uint8Array, previous = 0): number {
  if (bytes.length === 0) return previous >>> 0; // zlib.crc32 answers 0 here instead of `previous`
  if (typeof zlib.crc32 === 'function') return zlib.crc32(bytes, previous) >>> 0;
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = ~previous >>> 0;
  for (let i = 0; i < bytes.length; i++) c = crcTable[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}
