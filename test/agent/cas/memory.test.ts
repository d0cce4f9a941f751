// Streaming is a behaviour: a 256 MiB blob goes in and out of the store without the process
// growing by anything like its size (the assertion is on memory, never on time).
import { randomFillSync } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempStore, type TempStore } from './helpers.js';

const MiB = 1024 * 1024;
const SIZE = 256 * MiB;
const LIMIT = 64 * MiB;

let t: TempStore;
let input: string;
beforeAll(async () => {
  t = await tempStore();
  input = join(t.dir, 'input.bin');
  const h = await open(input, 'w');
  const buf = Buffer.allocUnsafe(4 * MiB);
  for (let left = SIZE; left > 0; left -= buf.length) {
    randomFillSync(buf);
    await h.write(buf);
  }
  await h.close();
});
afterAll(async () => {
  await t.cleanup();
});

/** Runs `fn` while sampling RSS; returns the peak growth over the RSS measured just before. */
async function peakRssGrowth(fn: (sample: () => void) => Promise<void>): Promise<number> {
  const before = process.memoryUsage.rss();
  let peak = before;
  const sample = (): void => {
    peak = Math.max(peak, process.memoryUsage.rss());
  };
  const timer = setInterval(sample, 5);
  try {
    await fn(sample);
  } finally {
    clearInterval(timer);
  }
  sample();
  return peak - before;
}

describe('a 256 MiB blob is streamed, never held whole', () => {
  let address = '';

  it('put from a file stream grows RSS by less than 64 MiB', async () => {
    const growth = await peakRssGrowth(async (sample) => {
      async function* source(): AsyncGenerator<Uint8Array> {
        for await (const chunk of createReadStream(input, { highWaterMark: MiB })) {
          sample();
          yield chunk as Buffer;
        }
      }
      const r = await t.store.put(source());
      expect(r.size).toBe(SIZE);
      address = r.address;
    });
    expect(growth).toBeLessThan(LIMIT);
  });

  it('get of it grows RSS by less than 64 MiB', async () => {
    const growth = await peakRssGrowth(async (sample) => {
      const { stream, size } = await t.store.get(address);
      let n = 0;
      for await (const chunk of stream) {
        n += chunk.byteLength;
        sample();
      }
      expect(n).toBe(size);
    });
    expect(growth).toBeLessThan(LIMIT);
  });
});
