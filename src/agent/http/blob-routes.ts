// POST /api/blobs (raw bytes, streamed, size-limited) → 201 {address, size, created}
// GET  /api/blobs/{address} → the bytes, from this agent's store or fetched from whichever agent
//      holds them (and then kept here: one more replica); 404 when no reachable agent has them.
//
// Blobs up to `verifyFirstBytes` (default 1 MiB) are verified whole before the first byte is
// sent, so a copy found corrupted here is fetched again from a peer and the client still gets
// the right bytes. Larger blobs stream with backpressure and are verified as they go: a
// corruption found at the end aborts the response (the client sees a short body), the blob is
// quarantined and repaired in the background.
//
// Memory is bounded whatever the clients do: a stream holds at most a few chunks (the store's
// read-ahead plus one chunk in the socket's buffer) and waits for the socket to drain before
// reading more, and the number of streams at once is capped (limiter.ts); more wait in a short
// queue, then get 503. Uploads are capped the same way (each holds a temp file).
//
// Who may: any authenticated caller reads blobs (decisions in them are encrypted and signed);
// storing needs a role that may publish something — BZZZ observers only read.
import type { ServerResponse } from 'node:http';
import { BlobCorruptedError, parseAddress, type BlobAddress, type ContentStore } from '../cas/index.js';
import type { BlobFetcher } from '../p2p/blob-fetcher.js';
import { callerOf } from './auth.js';
import { declaredLength, limitedBody } from './body.js';
import { ForbiddenError } from './errors.js';
import type { Limiter } from './limiter.js';
import { BLOB_BODY } from './media-type.js';
import { sendJson, type Route } from './server.js';

export interface BlobRoutesDeps {
  store: ContentStore;
  /** Per-caller abort signals (shared-fetch.ts). */
  fetcher: BlobFetcher;
  /** Announce a new blob on the DHT (awaited) and replicate it (in the background). */
  announce(address: string): Promise<void>;
  maxBlobBytes: number;
  verifyFirstBytes?: number;
  downloads: Limiter;
  uploads: Limiter;
}

export const DEFAULT_VERIFY_FIRST_BYTES = 1024 * 1024;

export function blobRoutes(d: BlobRoutesDeps): Route[] {
  const verifyFirst = d.verifyFirstBytes ?? DEFAULT_VERIFY_FIRST_BYTES;

  async function ensureLocal(address: BlobAddress, signal: AbortSignal): Promise<void> {
    if (await d.store.has(address)) return;
    await d.fetcher.fetch(address, signal);
    await d.announce(address);
  }

  async function verifiedSmall(address: BlobAddress, signal: AbortSignal): Promise<Buffer> {
    try {
      return await d.store.getVerifiedBuffer(address, verifyFirst);
    } catch (err) {
      if (!(err instanceof BlobCorruptedError)) throw err;
      // Quarantined by the store; the same fetch also serves the background repair.
      await d.fetcher.fetch(address, signal);
      return d.store.getVerifiedBuffer(address, verifyFirst);
    }
  }

  return [
    {
      method: 'POST',
      path: '/api/blobs',
      accepts: BLOB_BODY,
      async handler({ req, res, signal, ...ctx }) {
        const caller = callerOf(ctx);
        if (caller.role === 'observer') {
          throw new ForbiddenError(`caller ${caller.name} (role observer) may not store content (BZZZ access matrix: observers only read)`);
        }
        const release = await d.uploads.acquire(signal);
        try {
          const r = await d.store.put(limitedBody(req, d.maxBlobBytes, 'blob'), {
            maxBytes: d.maxBlobBytes,
            declaredBytes: declaredLength(req),
            signal,
          });
          await d.announce(r.address);
          sendJson(res, 201, { address: r.address, size: r.size, created: r.created });
        } finally {
          release();
        }
      },
    },
    {
      method: 'GET',
      path: '/api/blobs/:address',
      async handler({ res, params, signal, ...ctx }) {
        callerOf(ctx);
        const address = parseAddress(params.address);
        await ensureLocal(address, signal);
        const release = await d.downloads.acquire(signal);
        try {
          const stat = await d.store.stat(address);
          if (stat !== undefined && stat.size <= verifyFirst) {
            const bytes = await verifiedSmall(address, signal);
            res.writeHead(200, {
              'content-type': 'application/octet-stream',
              'content-length': bytes.byteLength,
              'x-bzzz-address': address,
            });
            res.end(bytes);
            await flushed(res);
            return;
          }
          const reader = await d.store.get(address);
          res.writeHead(200, {
            'content-type': 'application/octet-stream',
            'content-length': reader.size,
            'x-bzzz-address': reader.address,
          });
          // Leaving the loop early (client gone) returns the generator: its file handle closes.
          for await (const chunk of reader.stream) {
            if (!(await writeChunk(res, chunk, signal))) return;
          }
          res.end();
          await flushed(res);
        } finally {
          release();
        }
      },
    },
  ];
}

/** Resolves once the answer left for the socket or the client went away: until then its bytes are ours. */
function flushed(res: ServerResponse): Promise<void> {
  if (res.writableFinished || res.destroyed) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const done = (): void => {
      res.off('finish', done);
      res.off('close', done);
      resolve();
    };
    res.once('finish', done);
    res.once('close', done);
  });
}

/** Writes one chunk and waits until the socket took it (drain). False when the client is gone. */
function writeChunk(res: ServerResponse, chunk: Uint8Array, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted || res.destroyed) return Promise.resolve(false);
  if (res.write(chunk)) return Promise.resolve(true);
  return new Promise<boolean>((resolve) => {
    const done = (ok: boolean) => () => {
      res.off('drain', onDrain);
      res.off('close', onClose);
      resolve(ok && !signal.aborted);
    };
    const onDrain = done(true);
    const onClose = done(false);
    res.once('drain', onDrain);
    res.once('close', onClose);
  });
}
