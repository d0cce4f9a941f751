import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CHUNKER, chunkStream, createChunker } from '../../../src/backup/chunker.js';
import { blake3Hex } from '../../../src/backup/pack-reader.js';

async function chunkIds(data: Buffer, seed: Buffer, piece = 3 * 1024 * 1024 + 17): Promise<{ ids: string[]; sizes: number[] }> {
  async function* input() {
    for (let i = 0; i < data.length; i += piece) yield data.subarray(i, i + piece);
  }
  const ids: string[] = [];
  const sizes: number[] = [];
  for await (const c of chunkStream(input(), createChunker(seed))) {
    ids.push(blake3Hex(c));
    sizes.push(c.length);
  }
  return { ids, sizes };
}

describe('FastCDC chunker', () => {
  const seed = randomBytes(32);
  const data = randomBytes(48 * 1024 * 1024);

  it('cuts chunks within min/max whose concatenation is the input, the same whatever the read sizes', async () => {
    const a = await chunkIds(data, seed);
    const b = await chunkIds(data, seed, 64 * 1024);
    expect(a.ids).toEqual(b.ids);
    expect(a.sizes.reduce((n, s) => n + s, 0)).toBe(data.length);
    for (const s of a.sizes.slice(0, -1)) {
      expect(s).toBeGreaterThanOrEqual(DEFAULT_CHUNKER.min);
      expect(s).toBeLessThanOrEqual(DEFAULT_CHUNKER.max);
    }
    const mean = data.length / a.sizes.length;
    expect(mean).toBeGreaterThan(0.7 * 1024 * 1024);
    expect(mean).toBeLessThan(2 * 1024 * 1024);
  });

  it('re-stores only the chunks around an insert in the middle of a file', async () => {
    const mid = 20 * 1024 * 1024 + 12345;
    const edited = Buffer.concat([data.subarray(0, mid), randomBytes(100), data.subarray(mid)]);
    const before = await chunkIds(data, seed);
    const after = await chunkIds(edited, seed);
    const known = new Set(before.ids);
    const fresh = after.ids.filter((id) => !known.has(id));
    expect(fresh.length).toBeGreaterThanOrEqual(1);
    expect(fresh.length).toBeLessThanOrEqual(2);
    const freshBytes = after.sizes.filter((_, i) => !known.has(after.ids[i] as string)).reduce((n, s) => n + s, 0);
    expect(freshBytes).toBeLessThan(2 * DEFAULT_CHUNKER.max);
  });

  it('cuts elsewhere under another repository seed', async () => {
    const a = await chunkIds(data.subarray(0, 16 * 1024 * 1024), seed);
    const b = await chunkIds(data.subarray(0, 16 * 1024 * 1024), randomBytes(32));
    expect(a.sizes).not.toEqual(b.sizes);
  });

  it('refuses sizes that are not min < avg < max with avg a power of two', () => {
    expect(() => createChunker(seed, { min: 10, avg: 100, max: 1000 })).toThrow(/power of two/);
    expect(() => createChunker(seed, { min: 2048, avg: 1024, max: 4096 })).toThrow(/min < avg < max/);
  });
});
