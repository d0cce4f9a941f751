// Blob transfer between agents over libp2p, protocol /bzzz/blob/1.0.0. One request per stream:
//
//   request   frame: JSON {op: "get" | "has" | "replicate", address}
//   response  frame: JSON header, then for a successful get the blob's raw bytes until the sender
//             closes its side (a frame is a 4-byte big-endian length and that many bytes):
//     get       {ok: true, size} + bytes   | {ok: false, reason: "not-found" | "bad-request" | "busy", message}
//     has       {ok: true, has: boolean}
//     replicate {ok: true, stored: boolean} (after the receiver fetched the blob from the asker and
//               announced it on the DHT)   | {ok: false, reason, message}
//
// The receiver of bytes always puts them with `expected`, so a peer that sends the wrong bytes
// (or a truncated stream) gets nothing stored: the content store refuses the mismatch.
//
// Only members are served (closed clusters): the connection gater already drops everyone else;
// this handler checks again (defence in depth), so a non-member can neither read nor make this
// agent fetch and store anything ("forbidden").
import type { Connection, Stream } from '@libp2p/interface';
import { byteStream, type ByteStream } from '@libp2p/utils';
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
type Reason = 'not-found' | 'bad-request' | 'busy' | 'failed' | 'forbidden';
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
  /** Closed clusters: is this peer on the member list? Absent: an open cluster, every peer is served. */
  isMember?: (peerId: string) => boolean;
}

export interface BlobTransferInit {
  /** Largest blob accepted from a peer. */
  maxBlobBytes: number;
  /** Replicate requests served at once; more are answered "busy". */
  maxConcurrentReplications?: number;
  /** Dial, request and answer header (a get's bytes are bounded by idleMs instead). Default 30 s. */
  timeoutMs?: number;
  /** Longest silence while blob bytes flow, either direction. Default 30 s. */
  idleMs?: number;
  /** How long a replicate request may take (the peer fetches the whole blob first). Default 10 min. */
  replicateTimeoutMs?: number;
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
  const idleMs = init.idleMs ?? DEFAULT_TIMEOUT_MS;
  const replicateTimeoutMs = init.replicateTimeoutMs ?? 10 * 60_000;
  // A large blob takes as long as it takes; a stalled peer is cut off after idleMs of silence.
  const idle =
    (outer?: AbortSignal): (() => AbortSignal) =>
    () =>
      AbortSignal.any([AbortSignal.timeout(idleMs), ...(outer ? [outer] : [])]);
  const maxReplications = init.maxConcurrentReplications ?? 4;
  // Replicate requests being served, by address: a second request for the same blob waits for the first.
  const replicating = new Map<string, Promise<PutResult>>();
  const transfers = c.metrics.blobTransfersTotal;

  async function open(peerId: string, op: Op, address: string, signal?: AbortSignal, headerTimeoutMs = timeoutMs) {
    const s = AbortSignal.any([AbortSignal.timeout(headerTimeoutMs), ...(signal ? [signal] : [])]);
    const stream = await c.libp2p.dialProtocol(peerIdFromString(peerId), BLOB_PROTOCOL, { signal: s });
    // One byte reader for the header and the body: unwrapping a reader and iterating the stream
    // hangs when the peer's end-of-stream arrived before the unwrap (libp2p 3, tried here).
    const bytes = byteStream(stream);
    await bytes.write(frame({ op, address }), { signal: s });
    const header = parseHeader(await readFrame(bytes, s));
    return { stream, bytes, header, signal: s };
  }

  function refusal(peerId: string, op: Op, address: string, h: Extract<Header, { ok: false }>): Error {
    const msg = `peer ${peerId} refused ${op} of ${address} (${h.reason}): ${h.message}`;
    return h.reason === 'not-found' ? new BlobUnavailableError(msg) : new BlobTransferError(msg);
  }

  async function fetchFrom(peerId: string, address: string, signal?: AbortSignal): Promise<PutResult> {
    const canonical = parseAddress(address);
    const { stream, bytes, header } = await open(peerId, 'get', canonical, signal);
    try {
      if (!header.ok) throw refusal(peerId, 'get', canonical, header);
      if (typeof header.size !== 'number' || header.size > init.maxBlobBytes) {
        throw new BlobTransferError(
          `peer ${peerId} offers ${canonical} with ${String(header.size)} bytes, more than the ${init.maxBlobBytes} accepted`,
        );
      }
      const result = await c.store.put(rest(bytes, idle(signal)), { expected: canonical, maxBytes: init.maxBlobBytes, signal });
      transfers.inc({ direction: 'in', outcome: 'ok' });
      await stream.close({ signal: idle(signal)() }).catch(() => undefined);
      return result;
    } catch (err) {
      transfers.inc({ direction: 'in', outcome: 'error' });
      stream.abort(err instanceof Error ? err : new Error(errorMessage(err)));
      throw err;
    }
  }

  async function request(peerId: string, op: 'has' | 'replicate', address: string, signal?: AbortSignal): Promise<Header & { ok: true }> {
    const canonical = parseAddress(address);
    const { stream, header, signal: s } = await open(peerId, op, canonical, signal, op === 'replicate' ? replicateTimeoutMs : timeoutMs);
    await stream.close({ signal: s }).catch(() => undefined);
    if (!header.ok) throw refusal(peerId, op, canonical, header);
    return header;
  }

  async function serve(stream: Stream, connection: Connection): Promise<void> {
    const remote = connection.remotePeer.toString();
    // Each step gets its own bound: a long replicate fetch or blob stream must not use up the
    // time of the reply that follows it.
    const step = () => AbortSignal.timeout(timeoutMs);
    const bytes = byteStream(stream);
    const reply = (h: Header) => bytes.write(frame(h), { signal: step() });
    if (c.isMember !== undefined && !c.isMember(remote)) {
      c.metrics.p2pRejectedTotal.inc({ reason: 'blob_non_member' });
      c.log.warn({ peer: remote }, 'blob request from a peer that is not a member refused');
      await reply({ ok: false, reason: 'forbidden', message: 'not a member of this cluster' });
      await stream.close({ signal: step() });
      return;
    }
    const req = parseRequest(await readFrame(bytes, step()));
    if (req === undefined) {
      await reply({ ok: false, reason: 'bad-request', message: 'expected {op: "get"|"has"|"replicate", address: "blake3:<hex>"}' });
      await stream.close({ signal: step() });
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
        await stream.close({ signal: step() });
        return;
      }
      await reply({ ok: true, size: reader.size });
      try {
        const next = idle();
        for await (const chunk of reader.stream) await bytes.write(chunk, { signal: next() });
        transfers.inc({ direction: 'out', outcome: 'ok' });
      } catch (err) {
        // A blob found corrupted while streaming: the store quarantines it (and repair starts);
        // the peer sees a reset stream and tries another provider.
        transfers.inc({ direction: 'out', outcome: 'error' });
        throw err;
      }
    } else {
      const running = replicating.get(address);
      if (running === undefined && (await c.store.has(address))) {
        await reply({ ok: true, stored: false });
      } else if (running === undefined && replicating.size >= maxReplications) {
        await reply({ ok: false, reason: 'busy', message: `already fetching ${replicating.size} blobs for peers; ask again later` });
      } else {
        let job = running;
        if (job === undefined) {
          job = fetchFrom(remote, address).then(async (r) => {
            await c.onReplicated(r.address);
            c.log.info({ address, from: remote }, "replicated a blob on a peer's request");
            return r;
          });
          const settled = job.finally(() => replicating.delete(address));
          settled.catch(() => undefined);
          replicating.set(address, job);
        }
        try {
          const r = await job;
          await reply({ ok: true, stored: running === undefined && r.created });
        } catch (err) {
          await reply({ ok: false, reason: 'failed', message: errorMessage(err).slice(0, 300) });
        }
      }
    }
    await stream.close({ signal: step() });
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

function frame(message: unknown): Uint8Array {
  const body = new TextEncoder().encode(JSON.stringify(message));
  const out = new Uint8Array(4 + body.byteLength);
  new DataView(out.buffer).setUint32(0, body.byteLength);
  out.set(body, 4);
  return out;
}

async function readFrame(bytes: ByteStream<Stream>, signal: AbortSignal): Promise<Uint8Array> {
  const head = (await bytes.read({ bytes: 4, signal })).subarray();
  // (A Node Buffer may be a view into a shared pool: read through its own offset.)
  const len = new DataView(head.buffer, head.byteOffset, 4).getUint32(0);
  if (len > MAX_HEADER_BYTES) throw new BlobTransferError(`peer sent a /bzzz/blob message of ${len} bytes, more than ${MAX_HEADER_BYTES}`);
  return (await bytes.read({ bytes: len, signal })).subarray();
}

/** Everything after the header, until the peer closes its side. */
async function* rest(bytes: ByteStream<Stream>, nextSignal: () => AbortSignal): AsyncGenerator<Uint8Array> {
  for (;;) {
    const chunk = await bytes.read({ signal: nextSignal() });
    if (chunk === null) return;
    yield chunk.subarray();
  }
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
      const reason = (['not-found', 'bad-request', 'busy', 'failed', 'forbidden'] as const).find((r) => r === o.reason) ?? 'failed';
      return { ok: false, reason, message: typeof o.message === 'string' ? o.message.slice(0, 500) : '' };
    }
  } catch {
    // fall through
  }
  throw new BlobTransferError('peer sent an unreadable /bzzz/blob response header');
}
