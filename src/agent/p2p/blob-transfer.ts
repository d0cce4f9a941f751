// Blob transfer between agents over libp2p, protocol /bzzz/blob/1.0.0. One request per stream:
//
//   request   length-prefixed JSON {op: "get" | "has" | "replicate", address}
//   response  length-prefixed JSON header, then for a successful get the blob's raw bytes until
//             the sender closes its side:
//     get       {ok: true, size} + bytes   | {ok: false, reason: "not-found" | "bad-request" | "busy", message}
//     has       {ok: true, has: boolean}
//     replicate {ok: true, stored: boolean} (after the receiver fetched the blob from the asker and
//               announced it on the DHT)   | {ok: false, reason, message}
//
// The receiver of bytes always puts them with `expected`, so a peer that sends the wrong bytes
// (or a truncated stream) gets nothing stored: the content store refuses the mismatch.
import type { Connection, Stream } from '@libp2p/interface';
import { lpStream } from '@libp2p/utils';
import { peerIdFromString } from '@libp2p/peer-id';
import { BzzzError, NotFoundError, errorMessage } from '../../util/errors.js';
import type { Logger } from '../../util/log.js';
import { BlobNotFoundError, isAddress, parseAddress, type ContentStore, type PutResult } from '../cas/index.js';
import type { AgentMetrics } from '../metrics.js';
import type { AgentLibp2p } from './node.js';
import { BLOB_PROTOCOL } from './topics.js';

const MAX_HEADER_BYTES = 4 * 1024;
const DEFAULT_TIMEOUT_MS = 30_000;

type Op = 'get' | 'has' | 'replicate';
type Reason = 'not-found' | 'bad-request' | 'busy' | 'failed';
type Header = { ok: true; size?: number; has?: boolean; stored?: boolean } | { ok: false; reason: Reason; message: string };

/** No reachable agent holds the blob. */
export class BlobUnavailableError extends NotFoundError {}

/** A peer answered a blob request with a refusal or broke the protocol. */
export class BlobTransferError extends BzzzError {}

export interface BlobTransferComponents {
  libp2p: Pick<AgentLibp2p, 'handle' | 'unhandle' | 'dialProtocol'>;
  store: ContentStore;
  metrics: AgentMetrics;
  log: Logger;
  /** Called after this agent stored a blob on a peer's request (announce it on the DHT). */
  onReplicated(address: string): Promise<void>;
}

export interface BlobTransferInit {
  /** Largest blob accepted from a peer. */
  maxBlobBytes: number;
  /** Replicate requests served at once; more are answered "busy". */
  maxConcurrentReplications?: number;
  timeoutMs?: number;
}

export interface BlobTransfer {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Fetch `address` from `peerId` into the local store. */
  fetchFrom(peerId: string, address: string, signal?: AbortSignal): Promise<PutResult>;
  peerHas(peerId: string, address: string, signal?: AbortSignal): Promise<boolean>;
  /** Ask `peerId` to fetch `address` from this agent and hold it. True if it stored a new copy. */
  askToReplicate(peerId: string, address: string, signal?: AbortSignal): Promise<boolean>;
}

export function createBlobTransfer(c: BlobTransferComponents, init: BlobTransferInit): BlobTransfer {
  const timeoutMs = init.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxReplications = init.maxConcurrentReplications ?? 4;
  let replicating = 0;
  const transfers = c.metrics.blobTransfersTotal;

  async function open(peerId: string, op: Op, address: string, signal?: AbortSignal) {
    const s = AbortSignal.any([AbortSignal.timeout(timeoutMs), ...(signal ? [signal] : [])]);
    const stream = await c.libp2p.dialProtocol(peerIdFromString(peerId), BLOB_PROTOCOL, { signal: s });
    const lp = lpStream(stream, { maxDataLength: MAX_HEADER_BYTES });
    await lp.write(new TextEncoder().encode(JSON.stringify({ op, address })), { signal: s });
    const header = parseHeader((await lp.read({ signal: s })).subarray());
    return { stream, lp, header, signal: s };
  }

  function refusal(peerId: string, op: Op, address: string, h: Extract<Header, { ok: false }>): Error {
    const msg = `peer ${peerId} refused ${op} of ${address} (${h.reason}): ${h.message}`;
    return h.reason === 'not-found' ? new BlobUnavailableError(msg) : new BlobTransferError(msg);
  }

  async function fetchFrom(peerId: string, address: string, signal?: AbortSignal): Promise<PutResult> {
    const canonical = parseAddress(address);
    const { stream, lp, header, signal: s } = await open(peerId, 'get', canonical, signal);
    try {
      if (!header.ok) throw refusal(peerId, 'get', canonical, header);
      if (typeof header.size !== 'number' || header.size > init.maxBlobBytes) {
        throw new BlobTransferError(`peer ${peerId} offers ${canonical} with ${String(header.size)} bytes, more than the ${init.maxBlobBytes} accepted`);
      }
      const body = lp.unwrap();
      const result = await c.store.put(bytesOf(body), { expected: canonical, maxBytes: init.maxBlobBytes, signal: s });
      transfers.inc({ direction: 'in', outcome: 'ok' });
      await body.close({ signal: s }).catch(() => undefined);
      return result;
    } catch (err) {
      transfers.inc({ direction: 'in', outcome: 'error' });
      stream.abort(err instanceof Error ? err : new Error(errorMessage(err)));
      throw err;
    }
  }

  async function request(peerId: string, op: 'has' | 'replicate', address: string, signal?: AbortSignal): Promise<Header & { ok: true }> {
    const canonical = parseAddress(address);
    const { stream, header, signal: s } = await open(peerId, op, canonical, signal);
    await stream.close({ signal: s }).catch(() => undefined);
    if (!header.ok) throw refusal(peerId, op, canonical, header);
    return header;
  }

  async function serve(stream: Stream, connection: Connection): Promise<void> {
    const remote = connection.remotePeer.toString();
    const signal = AbortSignal.timeout(timeoutMs);
    const lp = lpStream(stream, { maxDataLength: MAX_HEADER_BYTES });
    const reply = (h: Header) => lp.write(new TextEncoder().encode(JSON.stringify(h)), { signal });
    const req = parseRequest((await lp.read({ signal })).subarray());
    if (req === undefined) {
      await reply({ ok: false, reason: 'bad-request', message: 'expected {op: "get"|"has"|"replicate", address: "blake3:<hex>"}' });
      await stream.close({ signal });
      return;
    }
    const { op, address } = req;
    if (op === 'has') {
      await reply({ ok: true, has: await c.store.has(address) });
    } else if (op === 'get') {
      let reader;
      try {
        reader = await c.store.get(address);
      } catch (err) {
        if (!(err instanceof BlobNotFoundError)) throw err;
        await reply({ ok: false, reason: 'not-found', message: 'this agent does not hold it' });
        await stream.close({ signal });
        return;
      }
      await reply({ ok: true, size: reader.size });
      const raw = lp.unwrap();
      try {
        for await (const chunk of reader.stream) {
          if (!raw.send(chunk)) await raw.onDrain({ signal });
        }
        transfers.inc({ direction: 'out', outcome: 'ok' });
      } catch (err) {
        // A blob found corrupted while streaming: the store quarantines it (and repair starts);
        // the peer sees a reset stream and tries another provider.
        transfers.inc({ direction: 'out', outcome: 'error' });
        throw err;
      }
    } else {
      if (await c.store.has(address)) {
        await reply({ ok: true, stored: false });
      } else if (replicating >= maxReplications) {
        await reply({ ok: false, reason: 'busy', message: `already fetching ${replicating} blobs for peers; ask again later` });
      } else {
        replicating++;
        try {
          const r = await fetchFrom(remote, address, signal);
          await c.onReplicated(r.address);
          await reply({ ok: true, stored: r.created });
          c.log.info({ address, from: remote }, 'replicated a blob on a peer\'s request');
        } catch (err) {
          await reply({ ok: false, reason: 'failed', message: errorMessage(err).slice(0, 300) });
        } finally {
          replicating--;
        }
      }
    }
    await stream.close({ signal });
  }

  return {
    async start() {
      await c.libp2p.handle(
        BLOB_PROTOCOL,
        (stream, connection) => {
          serve(stream, connection).catch((err: unknown) => {
            c.log.debug({ peer: connection.remotePeer.toString(), err: errorMessage(err) }, 'blob request failed');
            stream.abort(err instanceof Error ? err : new Error(errorMessage(err)));
          });
        },
        { maxInboundStreams: 64 },
      );
    },
    async stop() {
      await c.libp2p.unhandle(BLOB_PROTOCOL);
    },
    fetchFrom,
    async peerHas(peerId, address, signal) {
      return (await request(peerId, 'has', address, signal)).has === true;
    },
    async askToReplicate(peerId, address, signal) {
      return (await request(peerId, 'replicate', address, signal)).stored === true;
    },
  };
}

async function* bytesOf(stream: Stream): AsyncGenerator<Uint8Array> {
  for await (const chunk of stream) yield chunk.subarray();
}

function parseRequest(bytes: Uint8Array): { op: Op; address: string } | undefined {
  try {
    const o = JSON.parse(new TextDecoder().decode(bytes)) as { op?: unknown; address?: unknown };
    if ((o.op === 'get' || o.op === 'has' || o.op === 'replicate') && typeof o.address === 'string' && isAddress(o.address)) {
      return { op: o.op, address: parseAddress(o.address) };
    }
  } catch {
    // not JSON
  }
  return undefined;
}

function parseHeader(bytes: Uint8Array): Header {
  try {
    const o = JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
    if (o.ok === true) {
      return {
        ok: true,
        ...(typeof o.size === 'number' ? { size: o.size } : {}),
        ...(typeof o.has === 'boolean' ? { has: o.has } : {}),
        ...(typeof o.stored === 'boolean' ? { stored: o.stored } : {}),
      };
    }
    if (o.ok === false && typeof o.reason === 'string') {
      const reason = (['not-found', 'bad-request', 'busy', 'failed'] as const).find((r) => r === o.reason) ?? 'failed';
      return { ok: false, reason, message: typeof o.message === 'string' ? o.message.slice(0, 500) : '' };
    }
  } catch {
    // fall through
  }
  throw new BlobTransferError('peer sent an unreadable /bzzz/blob response header');
}
