// POST /api/blobs (raw bytes, streamed, size-limited) → 201 {address, size, created}
// GET  /api/blobs/{address} → the bytes, from this agent's store or fetched from whichever agent
//      holds them (and then kept here: one more replica); 404 when no reachable agent has them.
//
// Blobs up to `verifyFirstBytes` are verified whole before the first byte is sent, so a copy
// found corrupted here is fetched again from a peer and the client still gets the right bytes.
// Larger blobs stream and are verified as they go: a corruption found at the end aborts the
// response (the client sees a short body), the blob is quarantined and repaired in the background.
import { BlobCorruptedError, parseAddress, type BlobAddress, type ContentStore } from '../cas/index.js';
import type { BlobFetcher } from '../p2p/blob-fetcher.js';
import { limitedBody } from './body.js';
import { sendJson, type Route } from './server.js';

export interface BlobRoutesDeps {
  store: ContentStore;
  fetcher: BlobFetcher;
  /** Announce a new blob on the DHT (awaited) and replicate it (in the background). */
  announce(address: string): Promise<void>;
  maxBlobBytes: number;
  verifyFirstBytes?: number;
}

export function blobRoutes(d: BlobRoutesDeps): Route[] {
  const verifyFirst = d.verifyFirstBytes ?? 16 * 1024 * 1024;

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
      async handler({ req, res, signal }) {
        const r = await d.store.put(limitedBody(req, d.maxBlobBytes, 'blob'), { maxBytes: d.maxBlobBytes, signal });
        await d.announce(r.address);
        sendJson(res, 201, { address: r.address, size: r.size, created: r.created });
      },
    },
    {
      method: 'GET',
      path: '/api/blobs/:address',
      async handler({ res, params, signal }) {
        const address = parseAddress(params.address);
        await ensureLocal(address, signal);
        const stat = await d.store.stat(address);
        if (stat !== undefined && stat.size <= verifyFirst) {
          const bytes = await verifiedSmall(address, signal);
          res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': bytes.byteLength, 'x-bzzz-address': address });
          res.end(bytes);
          return;
        }
        const reader = await d.store.get(address);
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': reader.size, 'x-bzzz-address': reader.address });
        for await (const chunk of reader.stream) {
          if (!res.write(chunk)) {
            await new Promise<void>((resolve) => {
              res.once('drain', resolve);
              res.once('close', resolve);
            });
          }
          if (signal.aborted) return;
        }
        res.end();
      },
    },
  ];
}
