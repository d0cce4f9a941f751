// Content-defined chunking: FastCDC (Xia et al., 2016) with normalized chunking. A gear hash
// rolls over the bytes; a cut falls where its top bits are zero — harder to hit before the average
// size (a mask with 2 more bits), easier after it (2 fewer), which narrows the size spread. Bytes
// before the minimum are skipped unhashed, so an insert moves only the cuts around it: the next
// cut after the edit lands where it did before, and the chunks from there on are the same.
//
// The gear table comes from the repository's random seed (kept in its encrypted config), so cut
// points, and the chunk sizes an observer of the packs sees, do not follow from public data.
import { hkdfSync } from 'node:crypto';

export interface ChunkerParams {
  min: number;
  avg: number;
  max: number;
}

/** restic's sizes: 512 KiB / 1 MiB / 8 MiB. */
export const DEFAULT_CHUNKER: ChunkerParams = { min: 512 * 1024, avg: 1024 * 1024, max: 8 * 1024 * 1024 };

export interface Chunker {
  readonly params: ChunkerParams;
  /**
   * The end (exclusive) of the chunk starting at `start` in `buf[start, end)`. When fewer than
   * `max` bytes are available the caller must be at the end of the data (the rest is one chunk
   * unless a cut is found in it).
   */
  cut(buf: Uint8Array, start: number, end: number): number;
}

/** 256 32-bit gear values from the repository seed (HKDF-SHA-256). */
export function gearTable(seed: Uint8Array): Uint32Array {
  const bytes = Buffer.from(hkdfSync('sha256', seed, Buffer.alloc(0), 'bzzz-backup fastcdc gear v1', 1024));
  const gear = new Uint32Array(256);
  for (let i = 0; i < 256; i++) gear[i] = bytes.readUInt32LE(i * 4);
  return gear;
}

function topBitsMask(bits: number): number {
  return bits >= 32 ? -1 : (0xffffffff << (32 - bits)) | 0;
}

export function createChunker(seed: Uint8Array, params: ChunkerParams = DEFAULT_CHUNKER): Chunker {
  const { min, avg, max } = params;
  if (!(min > 0 && min < avg && avg < max) || (avg & (avg - 1)) !== 0)
    throw new RangeError(`chunker sizes must be 0 < min < avg < max with avg a power of two (got ${min}/${avg}/${max})`);
  const gear = gearTable(seed);
  const bits = Math.log2(avg);
  // The top bits of a 32-bit gear hash depend on the last 32 bytes: the window.
  const maskS = topBitsMask(bits + 2);
  const maskL = topBitsMask(bits - 2);
  return {
    params,
    cut(buf, start, end) {
      const n = end - start;
      if (n <= min) return end;
      const normal = start + Math.min(avg, n);
      const limit = start + Math.min(max, n);
      let h = 0;
      let i = start + min;
      for (; i < normal; i++) {
        h = ((h << 1) + (gear[buf[i] as number] as number)) | 0;
        if ((h & maskS) === 0) return i + 1;
      }
      for (; i < limit; i++) {
        h = ((h << 1) + (gear[buf[i] as number] as number)) | 0;
        if ((h & maskL) === 0) return i + 1;
      }
      return limit;
    },
  };
}

/**
 * Splits a byte stream into chunks. Each yielded chunk is a view into an internal buffer, valid
 * until the next iteration step: consume it (hash, encrypt, copy) before asking for the next.
 */
export async function* chunkStream(input: AsyncIterable<Uint8Array>, chunker: Chunker): AsyncGenerator<Buffer> {
  const { max } = chunker.params;
  let buf = Buffer.allocUnsafe(2 * max);
  let pos = 0;
  let filled = 0;
  for await (const piece of input) {
    let off = 0;
    while (off < piece.length) {
      if (filled === buf.length) {
        // Keep the unchunked tail at the front (less than `max` bytes, see below).
        buf.copy(buf, 0, pos, filled);
        filled -= pos;
        pos = 0;
      }
      const n = Math.min(piece.length - off, buf.length - filled);
      buf.set(piece.subarray(off, off + n), filled);
      filled += n;
      off += n;
      while (filled - pos >= max) {
        const end = chunker.cut(buf, pos, filled);
        yield buf.subarray(pos, end);
        pos = end;
      }
    }
  }
  while (pos < filled) {
    const end = chunker.cut(buf, pos, filled);
    yield buf.subarray(pos, end);
    pos = end;
  }
  buf = Buffer.alloc(0);
}
