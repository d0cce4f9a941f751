// The streaming half of a put: bytes from any source are hashed and written to a fresh temp file
// as they arrive, so a blob of any size never sits whole in memory. Hashing runs on the main
// thread while the previous batch is written by libuv's thread pool: the two overlap.
import { open, unlink, type FileHandle } from 'node:fs/promises';
import { InvalidInputError } from '../../util/errors.js';
import { BlobTooLargeError } from './errors.js';
import { createHasher } from './hasher.js';

/** What a put accepts: bytes in memory, an async iterable of chunks, or a Node readable stream. */
export type PutSource = Uint8Array | AsyncIterable<Uint8Array> | NodeJS.ReadableStream;

export interface TempWriteOptions {
  /** Refuse (BlobTooLargeError) once more than this many bytes arrive. */
  maxBytes?: number;
  signal?: AbortSignal;
  /** Bytes gathered before one write call (fewer, larger writes; bounded memory). */
  batchBytes: number;
  /**
   * Start a background fdatasync each time this many more bytes have been written, so the disk
   * writes a large blob while later parts are still being hashed: the final fsync then has
   * little left to do. (The kernel alone would wait until 10% of RAM is dirty.)
   */
  syncEveryBytes: number;
  /** Called with the bytes received so far after each chunk; may throw to refuse the content (store full). */
  progress?(total: number): Promise<void>;
}

export interface TempFile {
  path: string;
  handle: FileHandle;
  hex: string;
  size: number;
}

/**
 * Streams `source` into a new file at `path`. On success the file is open (not yet synced) and
 * its hash is known; on any failure the file is closed and removed before the error propagates.
 */
export async function writeTemp(source: PutSource, path: string, opts: TempWriteOptions): Promise<TempFile> {
  opts.signal?.throwIfAborted();
  const handle = await open(path, 'wx', 0o644);
  const hasher = createHasher();
  const writer = batchWriter(handle, opts.batchBytes, opts.syncEveryBytes);
  try {
    for await (const chunk of chunksOf(source, opts.batchBytes)) {
      opts.signal?.throwIfAborted();
      hasher.update(chunk);
      if (opts.maxBytes !== undefined && hasher.bytes > opts.maxBytes) {
        throw new BlobTooLargeError(undefined, hasher.bytes, opts.maxBytes);
      }
      if (opts.progress) await opts.progress(hasher.bytes);
      await writer.push(chunk);
    }
    await writer.finish();
    opts.signal?.throwIfAborted();
    return { path, handle, hex: hasher.digestHex(), size: hasher.bytes };
  } catch (err) {
    await writer.settle();
    await discardTemp(handle, path);
    throw err;
  }
}

/** Close and remove a temp file, ignoring errors (the next open cleans leftovers anyway). */
export async function discardTemp(handle: FileHandle | undefined, path: string): Promise<void> {
  await handle?.close().catch(() => undefined);
  await unlink(path).catch(() => undefined);
}

async function* chunksOf(source: PutSource, sliceBytes: number): AsyncIterable<Uint8Array> {
  if (source instanceof Uint8Array) {
    // In-memory input: hand it on in slices (views, no copy) so no single write call is huge.
    for (let off = 0; off < source.byteLength; off += sliceBytes) {
      yield source.subarray(off, Math.min(off + sliceBytes, source.byteLength));
    }
    return;
  }
  for await (const chunk of source as AsyncIterable<unknown>) {
    if (!(chunk instanceof Uint8Array)) {
      throw new InvalidInputError(
        `content store put: the source yielded a ${typeof chunk} chunk; pass bytes (Uint8Array/Buffer), e.g. a stream without setEncoding()`,
      );
    }
    yield chunk;
  }
}

interface BatchWriter {
  push(chunk: Uint8Array): Promise<void>;
  /** Write what is pending and wait for every write; throws the first write error. */
  finish(): Promise<void>;
  /** Wait for the write in flight, ignoring its outcome (before discarding the file). */
  settle(): Promise<void>;
}

// Gathers chunks up to `batchBytes`, then writes them with one writev while the caller goes on
// hashing the next batch. At most one write is in flight, so memory stays near 2 × batchBytes.
// At most one background datasync runs beside it.
function batchWriter(handle: FileHandle, batchBytes: number, syncEveryBytes: number): BatchWriter {
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  let inflight: Promise<void> = Promise.resolve();
  let syncing: Promise<void> | undefined;
  let unsynced = 0;
  let failure: unknown;
  let failed = false;
  const fail = (err: unknown): void => {
    if (!failed) failure = err;
    failed = true;
  };

  const startSyncIfDue = (): void => {
    if (syncing !== undefined || unsynced < syncEveryBytes) return;
    unsynced = 0;
    syncing = handle
      .datasync()
      .catch(fail)
      .finally(() => {
        syncing = undefined;
      });
  };

  const flush = async (): Promise<void> => {
    await inflight;
    if (failed) throw failure;
    if (pendingBytes === 0) return;
    const buffers = pending;
    const bytes = pendingBytes;
    pending = [];
    pendingBytes = 0;
    inflight = writeAll(handle, buffers).then(() => {
      unsynced += bytes;
      startSyncIfDue();
    }, fail);
  };

  return {
    async push(chunk) {
      if (chunk.byteLength === 0) return;
      pending.push(chunk);
      pendingBytes += chunk.byteLength;
      if (pendingBytes >= batchBytes) await flush();
    },
    async finish() {
      await flush();
      await inflight;
      await syncing;
      if (failed) throw failure;
    },
    settle: async () => {
      await inflight;
      await syncing;
    },
  };
}

// writev may write less than asked (e.g. near a full disk before ENOSPC): go on until all is out.
async function writeAll(handle: FileHandle, buffers: Uint8Array[]): Promise<void> {
  let rest = buffers;
  while (rest.length > 0) {
    const { bytesWritten } = await handle.writev(rest);
    let skip = bytesWritten;
    let i = 0;
    while (i < rest.length && skip >= rest[i].byteLength) {
      skip -= rest[i].byteLength;
      i++;
    }
    rest = rest.slice(i);
    if (rest.length > 0 && skip > 0) rest[0] = rest[0].subarray(skip);
    if (bytesWritten === 0 && rest.length > 0) {
      throw new Error(`content store: writing a temp file made no progress (${rest.length} buffers left); check free disk space`);
    }
  }
}
