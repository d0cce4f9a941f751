// The reading half: every byte that leaves the store is hashed on the way out and checked against
// the blob's address. A reader is told about corruption before it receives the last chunk, so a
// streamed response built from it is cut short instead of ending "successfully" with bad bytes.
import { open, type FileHandle } from 'node:fs/promises';
import { errorCode } from './fsutil.js';
import { createHasher } from './hasher.js';

export interface ReadOutcome {
  /** Hash of the bytes actually read. */
  hex: string;
  size: number;
  /** Inode of the file that was read: quarantine moves only that file, never a newer good copy. */
  ino: number;
}

/**
 * Yields the file's bytes in chunks of `chunkBytes`, holding the latest chunk back until the
 * next read shows there is more; at the end it calls `check` with the hash of everything read,
 * and only if that returns normally is the last chunk released. `onMissing` maps ENOENT at open.
 */
export async function* readChecked(
  path: string,
  chunkBytes: number,
  check: (outcome: ReadOutcome) => Promise<void>,
  onMissing: () => Error,
): AsyncGenerator<Uint8Array, void, undefined> {
  const handle = await openForRead(path, onMissing);
  let next: Promise<Uint8Array | undefined> | undefined;
  try {
    const { ino } = await handle.stat();
    const hasher = createHasher();
    let held: Uint8Array | undefined;
    // The next read runs on libuv's thread pool while this chunk is hashed and handed on.
    next = readChunk(handle, chunkBytes);
    for (;;) {
      const chunk = await next;
      if (chunk === undefined) break;
      next = readChunk(handle, chunkBytes);
      hasher.update(chunk);
      if (held !== undefined) yield held;
      held = chunk;
    }
    next = undefined;
    await handle.close();
    await check({ hex: hasher.digestHex(), size: hasher.bytes, ino });
    if (held !== undefined) yield held;
  } finally {
    // A consumer that stops early leaves one read in flight: let it settle before closing.
    await next?.catch(() => undefined);
    await handle.close().catch(() => undefined);
  }
}

/** Reads a whole file (at most `limit` bytes + 1, to notice growth) and hashes it. */
export async function readWholeHashed(
  path: string,
  expectedSize: number,
  limit: number,
  onMissing: () => Error,
): Promise<{ bytes: Buffer } & ReadOutcome> {
  const handle = await openForRead(path, onMissing);
  try {
    const { ino } = await handle.stat();
    const cap = Math.min(expectedSize, limit) + 1;
    const buf = Buffer.allocUnsafe(cap);
    let size = 0;
    while (size < cap) {
      const { bytesRead } = await handle.read(buf, size, cap - size, null);
      if (bytesRead === 0) break;
      size += bytesRead;
    }
    const bytes = buf.subarray(0, size);
    const hasher = createHasher();
    hasher.update(bytes);
    return { bytes, hex: hasher.digestHex(), size, ino };
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/** Hashes a whole file without keeping it (verify, scrub, duplicate puts). */
export async function hashFile(path: string, chunkBytes: number, onMissing: () => Error, signal?: AbortSignal): Promise<ReadOutcome> {
  const handle = await openForRead(path, onMissing);
  try {
    const { ino } = await handle.stat();
    const hasher = createHasher();
    // Two buffers reused in turn (nothing here escapes to a caller): one is read into by the
    // thread pool while the other is hashed.
    const bufs = [Buffer.allocUnsafe(chunkBytes), Buffer.allocUnsafe(chunkBytes)];
    let turn = 0;
    let next: Promise<{ bytesRead: number }> | undefined = handle.read(bufs[0], 0, chunkBytes, null);
    try {
      for (;;) {
        const { bytesRead } = await next;
        next = undefined;
        if (bytesRead === 0) break;
        const filled = bufs[turn];
        turn ^= 1;
        signal?.throwIfAborted();
        next = handle.read(bufs[turn], 0, chunkBytes, null);
        hasher.update(filled.subarray(0, bytesRead));
      }
    } finally {
      await next?.catch(() => undefined);
    }
    return { hex: hasher.digestHex(), size: hasher.bytes, ino };
  } finally {
    await handle.close().catch(() => undefined);
  }
}

async function openForRead(path: string, onMissing: () => Error): Promise<FileHandle> {
  try {
    return await open(path, 'r');
  } catch (err) {
    if (errorCode(err) === 'ENOENT') throw onMissing();
    throw err;
  }
}

// A fresh buffer per chunk: chunks are handed to consumers that may keep them.
async function readChunk(handle: FileHandle, chunkBytes: number): Promise<Uint8Array | undefined> {
  const buf = Buffer.allocUnsafe(chunkBytes);
  let filled = 0;
  while (filled < chunkBytes) {
    const { bytesRead } = await handle.read(buf, filled, chunkBytes - filled, null);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return filled === 0 ? undefined : buf.subarray(0, filled);
}
