// The content store on real files in a temp dir: what a caller (HTTP API, p2p layer, health
// check) observes through the public API and on disk.
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { open, readdir, stat, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  BlobCorruptedError,
  BlobMismatchError,
  BlobNotFoundError,
  BlobTooLargeError,
  createContentStore,
  hashBytes,
  InvalidAddressError,
  StoreClosedError,
  type BlobAddress,
} from '../../../src/agent/cas/index.js';
import { InvalidInputError } from '../../../src/util/errors.js';
import { chunked, collect, filesUnder, tempStore, type TempStore } from './helpers.js';

let t: TempStore;
afterEach(async () => {
  await t?.cleanup();
});

function blobFile(root: string, address: string): string {
  const hex = address.slice('blake3:'.length);
  return join(root, 'blobs', hex.slice(0, 2), hex.slice(2, 4), hex);
}

async function flipByte(path: string, offset: number): Promise<void> {
  const h = await open(path, 'r+');
  try {
    const b = Buffer.alloc(1);
    await h.read(b, 0, 1, offset);
    b[0] ^= 0xff;
    await h.write(b, 0, 1, offset);
  } finally {
    await h.close();
  }
}

describe('put and get', () => {
  it('round-trips bytes given as a buffer, an async iterable and a Node stream, under the sharded path', async () => {
    t = await tempStore();
    const bytes = randomBytes(3 * 1024 * 1024 + 17);
    const address = hashBytes(bytes);

    const fromBuffer = await t.store.put(bytes);
    expect(fromBuffer).toEqual({ address, size: bytes.length, created: true });
    const onDisk = blobFile(t.root, address);
    expect((await stat(onDisk)).size).toBe(bytes.length);

    const other = randomBytes(100_000);
    const fromIterable = await t.store.put(chunked(other, 4096));
    expect(fromIterable).toEqual({ address: hashBytes(other), size: other.length, created: true });

    const third = randomBytes(70_001);
    const fromStream = await t.store.put(Readable.from(chunked(third, 9999)));
    expect(fromStream.address).toBe(hashBytes(third));

    const reader = await t.store.get(address);
    expect(reader.size).toBe(bytes.length);
    expect((await collect(reader.stream)).equals(bytes)).toBe(true);
    expect((await collect((await t.store.get(hashBytes(other))).stream)).equals(other)).toBe(true);
    expect((await t.store.getVerifiedBuffer(hashBytes(third), 1 << 20)).equals(third)).toBe(true);
    expect(await filesUnder(join(t.root, 'tmp'))).toEqual([]);
  });

  it('stores and serves the empty blob', async () => {
    t = await tempStore();
    const r = await t.store.put(new Uint8Array(0));
    expect(r).toEqual({ address: hashBytes(new Uint8Array(0)), size: 0, created: true });
    expect((await collect((await t.store.get(r.address)).stream)).length).toBe(0);
    expect((await t.store.getVerifiedBuffer(r.address, 0)).length).toBe(0);
  });

  it('a second put of the same content is a no-op that does not rewrite the blob', async () => {
    t = await tempStore();
    const bytes = randomBytes(50_000);
    const first = await t.store.put(bytes);
    const before = await stat(blobFile(t.root, first.address));
    const second = await t.store.put(chunked(bytes, 1000));
    expect(second).toEqual({ ...first, created: false });
    const after = await stat(blobFile(t.root, first.address));
    expect(after.ino).toBe(before.ino);
    expect(after.mtimeMs).toBe(before.mtimeMs);
    expect(t.store.stats()).toMatchObject({ blobs: 1, bytes: bytes.length });
  });

  it('accepts bare hex and upper case wherever an address is taken, and refuses garbage', async () => {
    t = await tempStore();
    const bytes = randomBytes(10);
    const { address } = await t.store.put(bytes);
    const hex = address.slice(7);
    expect(await t.store.has(hex)).toBe(true);
    expect(await t.store.has(hex.toUpperCase())).toBe(true);
    await expect(t.store.get('../../etc/passwd')).rejects.toBeInstanceOf(InvalidAddressError);
    await expect(t.store.has('blake3:nothex')).rejects.toBeInstanceOf(InvalidAddressError);
  });

  it('get, getVerifiedBuffer and verify of an absent blob say so', async () => {
    t = await tempStore();
    const absent = hashBytes(Buffer.from('never stored'));
    await expect(t.store.get(absent)).rejects.toBeInstanceOf(BlobNotFoundError);
    await expect(t.store.getVerifiedBuffer(absent, 100)).rejects.toBeInstanceOf(BlobNotFoundError);
    expect(await t.store.verify(absent)).toBe('missing');
    expect(await t.store.stat(absent)).toBeUndefined();
    expect(await t.store.has(absent)).toBe(false);
  });

  it('getVerifiedBuffer refuses a blob larger than maxBytes', async () => {
    t = await tempStore();
    const { address } = await t.store.put(randomBytes(1001));
    await expect(t.store.getVerifiedBuffer(address, 1000)).rejects.toBeInstanceOf(BlobTooLargeError);
    expect((await t.store.getVerifiedBuffer(address, 1001)).length).toBe(1001);
  });
});

describe('refused puts keep nothing', () => {
  it('content that does not match `expected` is refused and leaves no file', async () => {
    t = await tempStore();
    const wanted = randomBytes(20_000);
    const received = randomBytes(20_000);
    const err = await t.store.put(chunked(received, 3000), { expected: hashBytes(wanted) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BlobMismatchError);
    expect((err as BlobMismatchError).expected).toBe(hashBytes(wanted));
    expect((err as BlobMismatchError).actual).toBe(hashBytes(received));
    expect(await t.store.has(hashBytes(received))).toBe(false);
    expect(await t.store.has(hashBytes(wanted))).toBe(false);
    expect(await filesUnder(t.root)).toEqual([]);
    expect(t.store.stats()).toMatchObject({ blobs: 0, bytes: 0 });

    // The matching content is accepted.
    expect((await t.store.put(wanted, { expected: hashBytes(wanted).slice(7) })).created).toBe(true);
  });

  it('content over maxBytes is refused while streaming and leaves no file', async () => {
    t = await tempStore();
    const err = await t.store.put(chunked(randomBytes(10_000), 1000), { maxBytes: 4096 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BlobTooLargeError);
    expect(await filesUnder(t.root)).toEqual([]);
  });

  it('an aborted put and a failing source leave no file', async () => {
    t = await tempStore();
    const ac = new AbortController();
    async function* abortMidway(): AsyncGenerator<Uint8Array> {
      yield randomBytes(1000);
      ac.abort();
      yield randomBytes(1000);
    }
    await expect(t.store.put(abortMidway(), { signal: ac.signal })).rejects.toMatchObject({ name: 'AbortError' });
    async function* failing(): AsyncGenerator<Uint8Array> {
      yield randomBytes(1000);
      throw new Error('peer went away');
    }
    await expect(t.store.put(failing())).rejects.toThrow('peer went away');
    expect(await filesUnder(t.root)).toEqual([]);
  });

  it('a stream of strings is refused with a reason', async () => {
    t = await tempStore();
    const err = await t.store.put(Readable.from(['text'], { objectMode: true })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidInputError);
    expect((err as Error).message).toMatch(/string chunk.*bytes/);
    expect(await filesUnder(t.root)).toEqual([]);
  });
});

describe('corruption', () => {
  it('a flipped byte is detected on get: BlobCorruptedError, quarantined, reported, and repairable by a new put', async () => {
    t = await tempStore({ readChunkBytes: 4096, clock: { now: () => 1_700_000_000_000 } });
    const bytes = randomBytes(40_000);
    const { address } = await t.store.put(bytes);
    const reported: BlobAddress[] = [];
    t.store.onCorruption((a) => reported.push(a));
    await flipByte(blobFile(t.root, address), 39_999);

    const reader = await t.store.get(address);
    const received: Uint8Array[] = [];
    const err = await (async () => {
      for await (const chunk of reader.stream) received.push(chunk);
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BlobCorruptedError);
    expect((err as BlobCorruptedError).address).toBe(address);
    // The reader never got the whole (bad) blob: the last chunk was held back.
    expect(Buffer.concat(received).length).toBeLessThan(bytes.length);

    expect(await t.store.has(address)).toBe(false);
    await expect(t.store.get(address)).rejects.toBeInstanceOf(BlobNotFoundError);
    const quarantined = await readdir(join(t.root, 'quarantine'));
    expect(quarantined).toHaveLength(1);
    expect(quarantined[0]).toMatch(new RegExp(`^${address.slice(7)}\\.1700000000000\\.`));
    expect(reported).toEqual([address]);
    expect(t.store.stats()).toEqual({ blobs: 0, bytes: 0, corruptions: 1, quarantined: 1 });

    // Fetched again (from a peer): the blob is back and serves good bytes.
    expect((await t.store.put(bytes, { expected: address })).created).toBe(true);
    expect((await collect((await t.store.get(address)).stream)).equals(bytes)).toBe(true);
  });

  it('getVerifiedBuffer returns no byte of a corrupted blob', async () => {
    t = await tempStore();
    const { address } = await t.store.put(randomBytes(5000));
    await flipByte(blobFile(t.root, address), 0);
    await expect(t.store.getVerifiedBuffer(address, 10_000)).rejects.toBeInstanceOf(BlobCorruptedError);
    expect(await t.store.has(address)).toBe(false);
    expect(t.store.stats().corruptions).toBe(1);
  });

  it('a truncated blob is corrupted too', async () => {
    t = await tempStore();
    const { address } = await t.store.put(randomBytes(5000));
    const h = await open(blobFile(t.root, address), 'r+');
    await h.truncate(4999);
    await h.close();
    expect(await t.store.verify(address)).toBe('corrupted');
    expect(await t.store.has(address)).toBe(false);
  });

  it('verify and scrub re-hash every blob and count what they quarantine', async () => {
    t = await tempStore();
    const good = await Promise.all([1, 2, 3].map(() => t.store.put(randomBytes(10_000))));
    const bad = await t.store.put(randomBytes(10_000));
    expect(await t.store.verify(good[0].address)).toBe('ok');
    await flipByte(blobFile(t.root, bad.address), 5000);

    const result = await t.store.scrub();
    expect(result).toEqual({ checked: 4, ok: 3, corrupted: 1, missing: 0, bytes: 40_000, aborted: false });
    expect(t.store.stats()).toEqual({ blobs: 3, bytes: 30_000, corruptions: 1, quarantined: 1 });
    expect((await t.store.scrub()).corrupted).toBe(0);
  });

  it('a scrub stops when its signal aborts', async () => {
    t = await tempStore();
    for (let i = 0; i < 5; i++) await t.store.put(randomBytes(1000));
    const ac = new AbortController();
    ac.abort();
    expect(await t.store.scrub({ signal: ac.signal })).toMatchObject({ checked: 0, aborted: true });
  });

  it('a put over a corrupted copy replaces it', async () => {
    t = await tempStore();
    const bytes = randomBytes(8000);
    const { address } = await t.store.put(bytes);
    await flipByte(blobFile(t.root, address), 10);
    expect((await t.store.put(bytes)).created).toBe(true);
    expect(await t.store.getVerifiedBuffer(address, 8000)).toEqual(bytes);
    expect(t.store.stats()).toEqual({ blobs: 1, bytes: 8000, corruptions: 1, quarantined: 1 });
  });
});

describe('crashes and concurrency', () => {
  it('temp files left by a crash are removed at open and never appear as blobs', async () => {
    t = await tempStore();
    const { address } = await t.store.put(randomBytes(1000));
    await t.store.close();
    await mkdir(join(t.root, 'tmp'), { recursive: true });
    await writeFile(join(t.root, 'tmp', '4242-0123456789abcdef.part'), randomBytes(5000));
    await writeFile(join(t.root, 'tmp', '4242-fedcba9876543210.part'), '');

    const reopened = await createContentStore({ root: t.root });
    try {
      expect(await readdir(join(t.root, 'tmp'))).toEqual([]);
      const listed: string[] = [];
      for await (const a of reopened.list()) listed.push(a);
      expect(listed).toEqual([address]);
      expect(reopened.stats()).toEqual({ blobs: 1, bytes: 1000, corruptions: 0, quarantined: 0 });
    } finally {
      await reopened.close();
    }
  });

  it('concurrent puts of the same content end with one blob, no error, exactly one "created"', async () => {
    t = await tempStore();
    const bytes = randomBytes(2 * 1024 * 1024);
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => t.store.put(chunked(bytes, 65_536 + i))));
    const address = hashBytes(bytes);
    expect(results.every((r) => r.address === address && r.size === bytes.length)).toBe(true);
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(await filesUnder(t.root)).toEqual([`blobs/${address.slice(7, 9)}/${address.slice(9, 11)}/${address.slice(7)}`]);
    expect(t.store.stats()).toMatchObject({ blobs: 1, bytes: bytes.length });
    expect((await t.store.getVerifiedBuffer(address, bytes.length)).equals(bytes)).toBe(true);
  });

  it('a blob being written is invisible until its put completes', async () => {
    t = await tempStore();
    const bytes = randomBytes(300_000);
    const address = hashBytes(bytes);
    let resolve!: () => void;
    let reachedHalfway!: () => void;
    const release = new Promise<void>((r) => (resolve = r));
    const halfway = new Promise<void>((r) => (reachedHalfway = r));
    async function* slow(): AsyncGenerator<Uint8Array> {
      yield bytes.subarray(0, 150_000);
      reachedHalfway();
      await release;
      yield bytes.subarray(150_000);
    }
    const put = t.store.put(slow());
    await halfway;
    expect(await t.store.has(address)).toBe(false);
    await expect(t.store.get(address)).rejects.toBeInstanceOf(BlobNotFoundError);
    const listed: string[] = [];
    for await (const a of t.store.list()) listed.push(a);
    expect(listed).toEqual([]);
    resolve();
    expect((await put).created).toBe(true);
    expect(await t.store.has(address)).toBe(true);
  });
});

describe('readers', () => {
  const openFds = async (): Promise<number> => (await readdir('/proc/self/fd')).length;

  it('a reader that stops early, or never starts, leaves no file open', async () => {
    t = await tempStore({ readChunkBytes: 4096 });
    const { address } = await t.store.put(randomBytes(100_000));
    const before = await openFds();
    const unread = await t.store.get(address);
    expect(unread.size).toBe(100_000);
    const partial = await t.store.get(address);
    for await (const chunk of partial.stream) {
      expect(chunk.length).toBe(4096);
      break;
    }
    expect(await openFds()).toBe(before);
    // The blob is still served whole afterwards.
    expect((await collect((await t.store.get(address)).stream)).length).toBe(100_000);
  });
});

describe('listing, stat, delete, close', () => {
  it('lists, stats and deletes blobs and keeps the counters right', async () => {
    t = await tempStore();
    const puts = await Promise.all([10, 20, 30].map((n) => t.store.put(randomBytes(n))));
    const listed: string[] = [];
    for await (const a of t.store.list()) listed.push(a);
    expect(listed).toEqual(puts.map((p) => p.address).sort());
    expect(await t.store.stat(puts[1].address)).toMatchObject({ address: puts[1].address, size: 20 });
    expect(t.store.stats()).toEqual({ blobs: 3, bytes: 60, corruptions: 0, quarantined: 0 });

    expect(await t.store.delete(puts[1].address)).toBe(true);
    expect(await t.store.delete(puts[1].address)).toBe(false);
    expect(await t.store.has(puts[1].address)).toBe(false);
    expect(t.store.stats()).toEqual({ blobs: 2, bytes: 40, corruptions: 0, quarantined: 0 });
  });

  it('a closed store refuses new work', async () => {
    t = await tempStore();
    await t.store.close();
    await expect(t.store.put(randomBytes(10))).rejects.toBeInstanceOf(StoreClosedError);
    await expect(t.store.has(hashBytes(randomBytes(1)))).rejects.toBeInstanceOf(StoreClosedError);
  });
});
