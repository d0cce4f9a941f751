// A pack's plaintext: its chunks back to back, then a chunk list so an index can be rebuilt from
// the packs alone: per chunk its 32-byte BLAKE3 id and 4-byte length (offsets follow from the
// order), then the 4-byte count and an 8-byte magic. Integers are little-endian.
import { LIMITS } from './layout.js';

export const PACK_MAGIC = Buffer.from('BZBKPK01', 'latin1');
const ENTRY = 36;
const TAIL = 12;

export interface PackChunk {
  id: string;
  offset: number;
  length: number;
}

export function encodeTrailer(chunks: readonly PackChunk[]): Buffer {
  const out = Buffer.alloc(chunks.length * ENTRY + TAIL);
  chunks.forEach((c, i) => {
    out.write(c.id, i * ENTRY, 32, 'hex');
    out.writeUInt32LE(c.length, i * ENTRY + 32);
  });
  out.writeUInt32LE(chunks.length, chunks.length * ENTRY);
  PACK_MAGIC.copy(out, chunks.length * ENTRY + 4);
  return out;
}

/** The chunk list at the end of a pack's plaintext; a string saying what is wrong when it is not one. */
export function decodeTrailer(plain: Buffer): PackChunk[] | string {
  if (plain.length < TAIL || !plain.subarray(plain.length - 8).equals(PACK_MAGIC)) return 'no pack trailer (magic missing)';
  const count = plain.readUInt32LE(plain.length - TAIL);
  if (count > LIMITS.packChunks || count * ENTRY + TAIL > plain.length) return `a trailer of ${count} chunks does not fit`;
  const start = plain.length - TAIL - count * ENTRY;
  const chunks: PackChunk[] = [];
  let offset = 0;
  for (let i = 0; i < count; i++) {
    const at = start + i * ENTRY;
    const length = plain.readUInt32LE(at + 32);
    chunks.push({ id: plain.toString('hex', at, at + 32), offset, length });
    offset += length;
  }
  if (offset !== start) return `the chunk lengths add up to ${offset} bytes, the data is ${start}`;
  return chunks;
}
