// A stand-in for an agent's two blob routes (POST /api/blobs, GET /api/blobs/:address) over a
// Map, for the importer's unit tests: a bearer token checked, counts of what was asked, and
// hostile modes — an answer with a wrong address, an oversized answer, bytes that do not match,
// a slow answer; 'steady' answers each request after 10 ms (requests overlap, as with a real disk).
import { hashBytes } from '../../src/crypto/blake3.js';
import { serveHttp, type TestServer } from './http-server.js';

export type BlobServerMode = 'honest' | 'steady' | 'wrong-address' | 'oversized-answer' | 'corrupt-read' | 'slow' | 'forbidden';

export interface BlobServer extends TestServer {
  blobs: Map<string, Buffer>;
  /** `arrived`: requests received (counted when they arrive; `post`/`get` count answers). */
  counts: { post: number; get: number; created: number; miss: number; inFlight: number; peak: number; arrived: number };
  mode: BlobServerMode;
  /** Fail the POST after this many blobs were created (a controller killed midway), then go on. */
  failAfterCreated?: number;
}

export async function startBlobServer(token: string): Promise<BlobServer> {
  const blobs = new Map<string, Buffer>();
  const counts = { post: 0, get: 0, created: 0, miss: 0, inFlight: 0, peak: 0, arrived: 0 };
  // The returned object itself: tests switch its mode while it runs.
  const state: { mode: BlobServerMode; failAfterCreated?: number } = { mode: 'honest' };
  const server = await serveHttp((req, res) => {
    counts.arrived++;
    counts.inFlight++;
    counts.peak = Math.max(counts.peak, counts.inFlight);
    res.once('close', () => counts.inFlight--);
    if (req.headers.authorization !== `Bearer ${token}`) return void res.writeHead(401).end('{"error":"unauthenticated"}');
    if (state.mode === 'forbidden') return void res.writeHead(403).end('{"error":"forbidden","message":"observers only read"}');
    const slow = (fn: () => void) => (state.mode === 'slow' ? setTimeout(fn, 2000) : state.mode === 'steady' ? setTimeout(fn, 10) : fn());
    if (req.method === 'POST' && req.url === '/api/blobs') {
      const parts: Buffer[] = [];
      req.on('data', (c: Buffer) => parts.push(c));
      req.on('end', () =>
        slow(() => {
          counts.post++;
          const body = Buffer.concat(parts);
          if (state.failAfterCreated !== undefined && counts.created >= state.failAfterCreated) {
            state.failAfterCreated = undefined;
            return void res.writeHead(500).end('{"error":"internal"}');
          }
          const address = hashBytes(body);
          const created = !blobs.has(address);
          if (created) {
            blobs.set(address, body);
            counts.created++;
          }
          if (state.mode === 'oversized-answer') return void res.writeHead(201).end(JSON.stringify({ address, pad: 'x'.repeat(100_000) }));
          const answered = state.mode === 'wrong-address' ? hashBytes(Buffer.from('something else')) : address;
          res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ address: answered, size: body.length, created }));
        }),
      );
      return;
    }
    const m = /^\/api\/blobs\/(blake3:[0-9a-f]{64})$/.exec(req.url ?? '');
    if (req.method === 'GET' && m) {
      counts.get++;
      const bytes = blobs.get(m[1] ?? '');
      if (!bytes) {
        counts.miss++;
        return void res.writeHead(404).end('{"error":"not_found"}');
      }
      return slow(() =>
        res
          .writeHead(200, { 'content-type': 'application/octet-stream' })
          .end(state.mode === 'corrupt-read' ? Buffer.concat([bytes, Buffer.from('!')]) : bytes),
      );
    }
    res.writeHead(404).end();
  });
  return Object.defineProperties(Object.assign(server, { blobs, counts }), {
    mode: { get: () => state.mode, set: (m: BlobServerMode) => (state.mode = m), enumerable: true },
    failAfterCreated: { get: () => state.failAfterCreated, set: (n?: number) => (state.failAfterCreated = n), enumerable: true },
  }) as BlobServer;
}
