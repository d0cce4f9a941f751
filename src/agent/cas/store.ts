// The BLAKE3 content-addressed store on local disk. A put streams into tmp/, is hashed on the
// way, fsynced, and committed by giving it its final name (link, or rename where links are not
// supported) followed by an fsync of the directory: a reader sees the whole blob or none of it.
// Every read is verified against the address; a blob that fails is moved to quarantine/ and
// reported, so the p2p layer can fetch it again from a peer.
import type { Stats } from 'node:fs';
import { link, mkdir, readdir, rename, stat as statPath, unlink } from 'node:fs/promises';
import { silentLogger } from '../../util/log.js';
import { errorMessage } from '../../util/errors.js';
import { addressFromHex, addressHex, parseAddress, type BlobAddress } from './address.js';
import { BlobCorruptedError, BlobMismatchError, BlobNotFoundError, BlobTooLargeError, StoreClosedError, StoreFullError } from './errors.js';
import { errorCode, fsyncDir, mkdirDurable } from './fsutil.js';
import { BLOB_NAME, SHARD_NAME, storeLayout, type StoreLayout } from './layout.js';
import { hashFile, readChecked, readWholeHashed, type ReadOutcome } from './read-verified.js';
import { createSpaceGuard } from './space.js';
import type {
  BlobReader,
  BlobStat,
  ContentStore,
  ContentStoreInit,
  PutOptions,
  PutResult,
  ScrubResult,
  StoreOp,
  StoreOperationEnd,
  StoreStats,
  VerifyResult,
} from './types.js';
import { discardTemp, writeTemp, type PutSource, type TempFile } from './write-temp.js';

const MiB = 1024 * 1024;

/** Opens (creating if needed) the store under `init.root`, removing temp files left by a crash. */
export async function createContentStore(init: ContentStoreInit): Promise<ContentStore> {
  const log = init.log ?? silentLogger();
  const clock = init.clock ?? { now: () => Date.now() };
  const readChunkBytes = init.readChunkBytes ?? MiB;
  const writeBatchBytes = init.writeBatchBytes ?? 4 * MiB;
  const syncEveryBytes = init.syncEveryBytes ?? 32 * MiB;
  const layout = storeLayout(init.root);

  for (const dir of [layout.root, layout.blobsDir, layout.tmpDir, layout.quarantineDir]) await mkdirDurable(dir);
  const leftovers = await removeLeftovers(layout);
  if (leftovers > 0) log.info({ root: layout.root, removed: leftovers }, 'removed temp files left by an interrupted write');
  const counts = await countBlobs(layout);
  const stats: StoreStats = { ...counts, corruptions: 0, quarantined: (await readdir(layout.quarantineDir)).length };
  log.debug({ root: layout.root, ...stats }, 'content store opened');

  const space = createSpaceGuard(layout.root, { quotaBytes: init.quotaBytes, reserveBytes: init.reserveBytes ?? 0 }, () => stats.bytes);
  const listeners = new Set<(address: BlobAddress) => void>();
  const inflight = new Set<Promise<unknown>>();
  const scrubs = new Set<AbortController>();
  let closed = false;

  const report = (op: StoreOp, outcome: unknown, failed: boolean): void => {
    if (init.onOperation === undefined) return;
    const ioErrors = ioErrorsOf(outcome, failed);
    init.onOperation({ op, outcome: failed ? 'error' : 'ok', ...(ioErrors === undefined ? {} : { ioErrors }) });
  };

  // Every public operation runs through here: refused after close, awaited by close, reported.
  const track = <T>(op: StoreOp, run: () => Promise<T>): Promise<T> => {
    if (closed) return Promise.reject(new StoreClosedError(op));
    const p = run();
    inflight.add(p);
    p.then(
      (r) => {
        inflight.delete(p);
        report(op, r, false);
      },
      (err: unknown) => {
        inflight.delete(p);
        report(op, err, true);
      },
    );
    return p;
  };

  /** A blob's stream, reported as a `read` when it ends or fails. */
  async function* reported(stream: AsyncGenerator<Uint8Array, void, undefined>): AsyncGenerator<Uint8Array, void, undefined> {
    try {
      yield* stream;
    } catch (err) {
      report('read', err, true);
      throw err;
    }
    report('read', undefined, false);
  }

  const missing = (address: BlobAddress) => () => new BlobNotFoundError(address);

  /** Moves a blob that failed verification out of the way, if it is still the file that was read. */
  async function quarantine(address: BlobAddress, read: ReadOutcome): Promise<void> {
    const path = layout.blobPath(address);
    let size: number;
    try {
      const current = await statPath(path);
      // A fresh good copy may already have replaced the bad one (a refetch): leave it alone.
      if (current.ino !== read.ino) return;
      size = current.size;
      await rename(path, layout.quarantinePath(address, clock.now()));
    } catch (err) {
      if (errorCode(err) === 'ENOENT') return; // another reader quarantined it first
      throw err;
    }
    await fsyncDir(layout.shardDir(address)).catch(() => undefined);
    stats.corruptions++;
    stats.quarantined++;
    stats.blobs--;
    stats.bytes -= size;
    log.error({ address, actual: addressFromHex(read.hex), size: read.size }, 'blob corrupted on disk: moved to quarantine');
    for (const listener of listeners) {
      try {
        listener(address);
      } catch (err) {
        log.warn({ address, err: errorMessage(err) }, 'a corruption listener failed');
      }
    }
  }

  async function checkRead(address: BlobAddress, read: ReadOutcome): Promise<void> {
    if (read.hex === addressHex(address)) return;
    await quarantine(address, read);
    throw new BlobCorruptedError(address, addressFromHex(read.hex));
  }

  async function verifyInternal(address: BlobAddress, signal?: AbortSignal): Promise<{ result: VerifyResult; bytes: number }> {
    let read: ReadOutcome;
    try {
      read = await hashFile(layout.blobPath(address), readChunkBytes, missing(address), signal);
    } catch (err) {
      if (err instanceof BlobNotFoundError) return { result: 'missing', bytes: 0 };
      throw err;
    }
    if (read.hex === addressHex(address)) return { result: 'ok', bytes: read.size };
    await quarantine(address, read);
    return { result: 'corrupted', bytes: read.size };
  }

  /** Gives the synced temp file its final name. False if a verified copy was already there. */
  async function commit(temp: TempFile, address: BlobAddress): Promise<boolean> {
    const dest = layout.blobPath(address);
    await mkdirDurable(layout.shardDir(address));
    for (let attempt = 0; ; attempt++) {
      try {
        // link fails if the name exists, so of two concurrent puts exactly one creates the blob.
        await link(temp.path, dest);
      } catch (err) {
        const code = errorCode(err);
        if (code === 'EEXIST' && attempt < 2) {
          if ((await verifyInternal(address)).result === 'ok') return false;
          continue; // the old copy was corrupt and is now in quarantine: try again
        }
        if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP' || code === 'EMLINK') {
          // Filesystems without hard links: rename replaces atomically (same bytes either way).
          const existed = await exists(dest);
          await rename(temp.path, dest);
          await fsyncDir(layout.shardDir(address));
          return !existed;
        }
        throw err;
      }
      await fsyncDir(layout.shardDir(address));
      return true;
    }
  }

  async function put(source: PutSource, opts: PutOptions = {}): Promise<PutResult> {
    const expected = opts.expected === undefined ? undefined : parseAddress(opts.expected);
    let admitted: Awaited<ReturnType<typeof space.begin>>;
    try {
      admitted = await space.begin(opts.declaredBytes ?? (source instanceof Uint8Array ? source.byteLength : undefined));
    } catch (err) {
      if (err instanceof StoreFullError) init.onRefused?.(err.reason);
      throw err;
    }
    try {
      const temp = await writeTemp(source, layout.tempPath(), {
        batchBytes: writeBatchBytes,
        syncEveryBytes,
        maxBytes: opts.maxBytes,
        signal: opts.signal,
        progress: (total) => admitted.progress(total),
      });
      return await commitTemp(temp, expected);
    } catch (err) {
      if (err instanceof StoreFullError) {
        init.onRefused?.(err.reason);
        log.warn({ reason: err.reason }, 'new content refused: store full');
      }
      throw err;
    } finally {
      admitted.end();
    }
  }

  async function commitTemp(temp: TempFile, expected: BlobAddress | undefined): Promise<PutResult> {
    const address = addressFromHex(temp.hex);
    try {
      if (expected !== undefined && expected !== address) throw new BlobMismatchError(expected, address);
      // Already held and intact: keep it, skip the fsync of a copy that would be thrown away.
      if ((await verifyInternal(address)).result === 'ok') return { address, size: temp.size, created: false };
      await temp.handle.sync();
      await temp.handle.close();
      const created = await commit(temp, address);
      if (created) {
        stats.blobs++;
        stats.bytes += temp.size;
        log.debug({ address, size: temp.size }, 'blob stored');
      }
      return { address, size: temp.size, created };
    } finally {
      await discardTemp(temp.handle, temp.path);
    }
  }

  async function get(input: string): Promise<BlobReader> {
    const address = parseAddress(input);
    const path = layout.blobPath(address);
    const st = await statPath(path).catch((err: unknown) => {
      throw errorCode(err) === 'ENOENT' ? new BlobNotFoundError(address) : err;
    });
    const stream = readChecked(path, readChunkBytes, (read) => checkRead(address, read), missing(address));
    return { address, size: st.size, stream: reported(stream) };
  }

  async function getVerifiedBuffer(input: string, maxBytes: number): Promise<Buffer> {
    const address = parseAddress(input);
    const path = layout.blobPath(address);
    const st = await statOrUndefined(path);
    if (st === undefined) throw new BlobNotFoundError(address);
    if (st.size > maxBytes) throw new BlobTooLargeError(address, st.size, maxBytes);
    const read = await readWholeHashed(path, st.size, maxBytes, missing(address));
    if (read.size > maxBytes) throw new BlobTooLargeError(address, read.size, maxBytes);
    await checkRead(address, read);
    return read.bytes;
  }

  async function statBlob(input: string): Promise<BlobStat | undefined> {
    const address = parseAddress(input);
    const st = await statOrUndefined(layout.blobPath(address));
    return st === undefined ? undefined : { address, size: st.size, mtimeMs: st.mtimeMs };
  }

  async function deleteBlob(input: string): Promise<boolean> {
    const address = parseAddress(input);
    const path = layout.blobPath(address);
    const st = await statOrUndefined(path);
    if (st === undefined) return false;
    try {
      await unlink(path);
    } catch (err) {
      if (errorCode(err) === 'ENOENT') return false;
      throw err;
    }
    await fsyncDir(layout.shardDir(address)).catch(() => undefined);
    stats.blobs--;
    stats.bytes -= st.size;
    log.debug({ address }, 'blob deleted');
    return true;
  }

  async function scrub(opts: { signal?: AbortSignal } = {}): Promise<ScrubResult> {
    const own = new AbortController();
    scrubs.add(own);
    const signal = opts.signal === undefined ? own.signal : AbortSignal.any([opts.signal, own.signal]);
    const result: ScrubResult = { checked: 0, ok: 0, corrupted: 0, missing: 0, bytes: 0, aborted: false };
    try {
      for await (const address of listBlobs(layout)) {
        if (signal.aborted) break;
        let outcome: { result: VerifyResult; bytes: number };
        try {
          outcome = await verifyInternal(address, signal);
        } catch (err) {
          if (signal.aborted) break;
          throw err;
        }
        result.checked++;
        result.bytes += outcome.bytes;
        result[outcome.result === 'ok' ? 'ok' : outcome.result]++;
      }
      result.aborted = signal.aborted;
      // Scrubs run on a timer for the health check: quiet unless they found something.
      if (result.corrupted > 0) log.warn({ ...result }, 'content store scrub quarantined corrupted blobs');
      else log.debug({ ...result }, 'content store scrub finished');
      return result;
    } finally {
      scrubs.delete(own);
    }
  }

  return {
    root: layout.root,
    put: (source, opts) => track('put', () => put(source, opts)),
    get: (address) => track('get', () => get(address)),
    getVerifiedBuffer: (address, maxBytes) => track('get_buffer', () => getVerifiedBuffer(address, maxBytes)),
    has: (address) => track('has', async () => exists(layout.blobPath(parseAddress(address)))),
    stat: (address) => track('stat', () => statBlob(address)),
    delete: (address) => track('delete', () => deleteBlob(address)),
    list: () => listBlobs(layout),
    verify: (address) => track('verify', async () => (await verifyInternal(parseAddress(address))).result),
    scrub: (opts) => track('scrub', () => scrub(opts)),
    stats: () => ({ ...stats }),
    onCorruption(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    async close() {
      closed = true;
      for (const c of scrubs) c.abort();
      await Promise.allSettled([...inflight]);
    },
  };
}

/** What an operation's result or error says about the disk (StoreOperationEnd.ioErrors). */
function ioErrorsOf(outcome: unknown, failed: boolean): StoreOperationEnd['ioErrors'] {
  if (failed) {
    if (outcome instanceof BlobCorruptedError) return { kind: 'corruption', count: 1 };
    // errno codes only (EIO, ENOSPC …): not Node's ERR_* / ABORT_ERR, not the store's own refusals.
    return /^E[A-Z0-9]+$/.test(errorCode(outcome) ?? '') ? { kind: 'errno', count: 1 } : undefined;
  }
  if (outcome === 'corrupted') return { kind: 'corruption', count: 1 };
  const corrupted = (outcome as Partial<ScrubResult> | undefined)?.corrupted;
  return typeof corrupted === 'number' && corrupted > 0 ? { kind: 'corruption', count: corrupted } : undefined;
}

async function statOrUndefined(path: string): Promise<Stats | undefined> {
  try {
    return await statPath(path);
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return undefined;
    throw err;
  }
}

async function exists(path: string): Promise<boolean> {
  return (await statOrUndefined(path)) !== undefined;
}

/** Every committed blob address, shard by shard; stray files are ignored. */
async function* listBlobs(layout: StoreLayout): AsyncGenerator<BlobAddress> {
  for (const a of await sortedNames(layout.blobsDir, SHARD_NAME)) {
    for (const b of await sortedNames(`${layout.blobsDir}/${a}`, SHARD_NAME)) {
      for (const name of await sortedNames(`${layout.blobsDir}/${a}/${b}`, BLOB_NAME)) {
        if (name.startsWith(a + b)) yield addressFromHex(name);
      }
    }
  }
}

async function sortedNames(dir: string, pattern: RegExp): Promise<string[]> {
  try {
    return (await readdir(dir)).filter((n) => pattern.test(n)).sort();
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return []; // a shard removed while listing
    throw err;
  }
}

async function countBlobs(layout: StoreLayout): Promise<{ blobs: number; bytes: number }> {
  let blobs = 0;
  let bytes = 0;
  for await (const address of listBlobs(layout)) {
    const st = await statOrUndefined(layout.blobPath(address));
    if (st === undefined) continue;
    blobs++;
    bytes += st.size;
  }
  return { blobs, bytes };
}

async function removeLeftovers(layout: StoreLayout): Promise<number> {
  await mkdir(layout.tmpDir, { recursive: true });
  const names = await readdir(layout.tmpDir);
  for (const name of names) await unlink(`${layout.tmpDir}/${name}`).catch(() => undefined);
  return names.length;
}
