// Admin key shares over libp2p: the newly elected admin asks the share holders for their shares
// and rebuilds the admin identity in memory.
//
// Protocol /bzzz/admin-share/1.0.0 — one request, one response, each a JSON message that ends
// when its sender closes its side of the stream:
//   request   {v: 1, adminRecipient: "age1…", replyTo: "age1…", proof?}   replyTo: the requester's
//             ephemeral key for this rebuild; proof: its proof of election (election/proof.ts),
//             required by holders in a closed cluster
//   response  {v: 1, ok: true, sealedShare: base64}                    the share file's JSON,
//             age-encrypted to replyTo
//             {v: 1, ok: false, reason: "not-authorized"|"wrong-admin-key"|"bad-request", message}
//
// The connection is already authenticated (Noise: the remote peer ID is proven) and encrypted.
// A holder answers only a requester that `authorizeRequester` accepts — in the agent: the admin it
// follows now, showing the signed votes of a majority of the member list for it in this term (a
// peer that merely claims term+1 gets nothing) — and seals the share to the requester's ephemeral
// key as well, so a share is never in the clear in any buffer between the two processes.
import type { Libp2p } from 'libp2p';
import { errorMessage } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import { AgeIdentity, isAgeRecipient } from '../crypto/age-identity.js';
import { AdminKeyCollectionError, ShareRequestRefusedError, type ShareOutcome } from '../crypto/errors.js';
import { decryptWithRole, encryptToRecipient } from '../crypto/role-crypto.js';
import { findAdminKey, parseShare, serializeShare, type AdminKeyShare } from '../crypto/shamir.js';
import { parseElectionProof, type ElectionProof } from './election/proof.js';

export const ADMIN_SHARE_PROTOCOL = '/bzzz/admin-share/1.0.0';
const MESSAGE_VERSION = 1;
/** Room for a proof of election of the largest member list (~500 signed votes). */
const MAX_REQUEST_BYTES = 96 * 1024;
const MAX_RESPONSE_BYTES = 16 * 1024;
const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;

type Stream = Awaited<ReturnType<Libp2p['dialProtocol']>>;
/** Whom to ask: a peer ID or its multiaddrs, as libp2p dials them. */
export type SharePeer = Parameters<Libp2p['dialProtocol']>[0];

type RefusalReason = 'not-authorized' | 'wrong-admin-key' | 'bad-request';
interface ShareRequest {
  v: number;
  adminRecipient: string;
  replyTo: string;
  proof?: ElectionProof;
}
type ShareResponse = { v: number; ok: true; sealedShare: string } | { v: number; ok: false; reason: RefusalReason; message: string };

// ---------------------------------------------------------------- holder side

export interface AdminShareServiceComponents {
  libp2p: Pick<Libp2p, 'handle' | 'unhandle'>;
  /** This agent's share of the admin key. */
  share: AdminKeyShare;
  /**
   * May this peer (its ID as a string, proven by Noise), showing `proof`, have the share? Null when
   * it may, else the reason (logged and sent back). Asked on every request.
   */
  authorizeRequester: (peerId: string, proof: ElectionProof | undefined) => string | null;
  log: Logger;
}

export interface AdminShareServiceInit {
  /** Time a requester gets to send its request. */
  requestTimeoutMs?: number;
}

export interface AdminShareService {
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function createAdminShareService(components: AdminShareServiceComponents, init: AdminShareServiceInit = {}): AdminShareService {
  const { libp2p, share, authorizeRequester, log } = components;
  const timeoutMs = init.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;

  const safeAuthorize = (peer: string, proof: ElectionProof | undefined): string | null => {
    try {
      return authorizeRequester(peer, proof);
    } catch (err) {
      return `authorization failed (${errorMessage(err)})`;
    }
  };

  async function answer(stream: Stream, remotePeer: string): Promise<void> {
    const signal = AbortSignal.timeout(timeoutMs);
    let response: ShareResponse;
    let denied: string | null;
    const request = parseRequest(await readMessage(stream, MAX_REQUEST_BYTES, signal));
    if (!request) {
      response = refusal('bad-request', `expected {v: ${MESSAGE_VERSION}, adminRecipient, replyTo} with age1… keys`);
    } else if ((denied = safeAuthorize(remotePeer, request.proof)) !== null) {
      log.warn({ peer: remotePeer, reason: denied }, 'refused an admin key share request');
      response = refusal('not-authorized', `this holder hands its share only to the elected admin with proof of its election: ${denied}`);
    } else if (request.adminRecipient !== share.adminRecipient) {
      response = refusal('wrong-admin-key', `this holder has a share of admin key ${share.adminRecipient}, not ${request.adminRecipient}`);
    } else {
      const sealed = await encryptToRecipient(serializeShare(share), request.replyTo);
      response = { v: MESSAGE_VERSION, ok: true, sealedShare: Buffer.from(sealed).toString('base64') };
      log.info({ peer: remotePeer, index: share.index }, "sent this agent's admin key share, sealed to the requester's key");
    }
    await writeMessage(stream, response, signal);
  }

  return {
    async start() {
      await libp2p.handle(
        ADMIN_SHARE_PROTOCOL,
        (stream, connection) => {
          const peer = connection.remotePeer.toString();
          answer(stream, peer).catch((err: unknown) => {
            log.warn({ peer, err: errorMessage(err) }, 'admin key share request failed');
            stream.abort(err instanceof Error ? err : new Error(errorMessage(err)));
          });
        },
        { maxInboundStreams: 4 },
      );
    },
    async stop() {
      await libp2p.unhandle(ADMIN_SHARE_PROTOCOL);
    },
  };
}

function refusal(reason: RefusalReason, message: string): ShareResponse {
  return { v: MESSAGE_VERSION, ok: false, reason, message };
}

// ---------------------------------------------------------------- requester side

export interface RequestShareOptions {
  adminRecipient: string;
  /** The requester's ephemeral identity: the share comes back sealed to its recipient. */
  replyTo: AgeIdentity;
  /** The requester's proof of election (closed clusters: holders refuse without one). */
  proof?: ElectionProof;
  signal?: AbortSignal;
}

/** Ask one holder for its share. ShareRequestRefusedError when it says no. */
export async function requestShare(
  libp2p: Pick<Libp2p, 'dialProtocol'>,
  peer: SharePeer,
  opts: RequestShareOptions,
): Promise<AdminKeyShare> {
  const name = peerName(peer);
  const signal = opts.signal ?? AbortSignal.timeout(DEFAULT_REQUEST_TIMEOUT_MS);
  const stream = await libp2p.dialProtocol(peer, ADMIN_SHARE_PROTOCOL, { signal });
  try {
    const request: ShareRequest = {
      v: MESSAGE_VERSION,
      adminRecipient: opts.adminRecipient,
      replyTo: opts.replyTo.recipient,
      ...(opts.proof === undefined ? {} : { proof: opts.proof }),
    };
    await writeMessage(stream, request, signal);
    const response = parseResponse(await readMessage(stream, MAX_RESPONSE_BYTES, signal));
    if (!response) throw new ShareRequestRefusedError(`peer ${name}: sent an unreadable answer to the admin share request`);
    if (!response.ok)
      throw new ShareRequestRefusedError(`peer ${name} refused its admin key share (${response.reason}): ${response.message}`);
    const plain = await decryptWithRole(new Uint8Array(Buffer.from(response.sealedShare, 'base64')), opts.replyTo);
    try {
      return parseShare(new TextDecoder().decode(plain), `share from peer ${name}`);
    } finally {
      plain.fill(0);
    }
  } catch (err) {
    stream.abort(err instanceof Error ? err : new Error(errorMessage(err)));
    throw err;
  }
}

export interface CollectAdminKeyOptions {
  libp2p: Pick<Libp2p, 'dialProtocol'>;
  /** The holders to ask (all at once). */
  peers: readonly SharePeer[];
  /** This agent's own share, if it holds one. */
  ownShare?: AdminKeyShare;
  /** The known admin public key: the rebuilt identity must map to it. */
  adminRecipient: string;
  threshold: number;
  /** This agent's proof of election, shown to every holder. */
  proof?: ElectionProof;
  /** Bounds the whole collection; on abort InsufficientSharesError says what arrived. */
  signal: AbortSignal;
  log?: Logger;
}

/**
 * Ask every peer for its share, and return the admin identity (in memory only) as soon as a set
 * of `threshold` shares rebuilds the known admin public key. Shares of another key or threshold
 * are ignored; a corrupt or forged share only means other subsets are tried. When every peer has
 * answered, or `signal` aborts, without a verified rebuild: AdminKeyCollectionError (an
 * InsufficientSharesError) with every peer's outcome.
 */
export async function collectAdminKey(opts: CollectAdminKeyOptions): Promise<AgeIdentity> {
  const { libp2p, peers, ownShare, adminRecipient, threshold, signal, log, proof } = opts;
  const candidates: AdminKeyShare[] = [];
  const outcomes = new Map<number, ShareOutcome>();
  if (ownShare) {
    if (ownShare.adminRecipient === adminRecipient && ownShare.threshold === threshold) candidates.push(ownShare);
    else log?.warn({ index: ownShare.index }, 'own admin key share belongs to another key or threshold: not used');
  }
  const replyTo = await AgeIdentity.generate(); // ephemeral: lives only for this rebuild
  const done = new AbortController();
  const requestSignal = AbortSignal.any([signal, done.signal]);

  type Settled = { i: number; share?: AdminKeyShare; error?: unknown };
  const inflight = new Map<number, Promise<Settled>>();
  peers.forEach((peer, i) => {
    outcomes.set(i, { peer: peerName(peer), result: 'pending', reason: 'no answer yet' });
    inflight.set(
      i,
      requestShare(libp2p, peer, { adminRecipient, replyTo, proof, signal: requestSignal }).then(
        (share) => ({ i, share }),
        (error: unknown) => ({ i, error }),
      ),
    );
  });
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<'aborted'>((resolve) => {
    onAbort = () => resolve('aborted');
    if (signal.aborted) resolve('aborted');
    else signal.addEventListener('abort', onAbort, { once: true });
  });

  try {
    const fromOwn = await findAdminKey(candidates, adminRecipient, threshold);
    if (fromOwn) return fromOwn;
    while (inflight.size > 0) {
      const next = await Promise.race([...inflight.values(), aborted]);
      if (next === 'aborted') break;
      inflight.delete(next.i);
      const peer = peerName(peers[next.i] as SharePeer);
      if (next.share) {
        const s = next.share;
        if (s.adminRecipient !== adminRecipient || s.threshold !== threshold) {
          outcomes.set(next.i, { peer, result: 'ignored', reason: `share of admin key ${s.adminRecipient} with threshold ${s.threshold}` });
          continue;
        }
        outcomes.set(next.i, { peer, result: 'received', index: s.index });
        candidates.push(s);
        const identity = await findAdminKey(candidates, adminRecipient, threshold, s);
        if (identity) {
          log?.info({ shares: candidates.length, threshold }, 'rebuilt the admin key from shares');
          return identity;
        }
      } else {
        const refused = next.error instanceof ShareRequestRefusedError;
        outcomes.set(next.i, { peer, result: refused ? 'refused' : 'failed', reason: errorMessage(next.error) });
      }
    }
    const list = [...outcomes.values()];
    const got = candidates.length;
    const why = signal.aborted ? 'stopped waiting (signal aborted)' : 'every holder has answered';
    throw new AdminKeyCollectionError(
      `admin key ${adminRecipient}: ${why} with ${got} usable share(s) of the ${threshold} needed, none verified (${list.map(describe).join('; ')}); make sure at least ${threshold} share holders are reachable and this agent is the elected admin`,
      list,
    );
  } finally {
    done.abort();
    if (onAbort) signal.removeEventListener('abort', onAbort);
  }
}

function describe(o: ShareOutcome): string {
  return o.result === 'received' ? `${o.peer}: share ${o.index}` : `${o.peer}: ${o.result} — ${o.reason}`;
}

function peerName(peer: SharePeer): string {
  return Array.isArray(peer) ? peer.map(String).join(',') : peer.toString();
}

// ---------------------------------------------------------------- messages

async function writeMessage(stream: Stream, message: ShareRequest | ShareResponse, signal: AbortSignal): Promise<void> {
  const bytes = new TextEncoder().encode(JSON.stringify(message));
  if (!stream.send(bytes)) await stream.onDrain({ signal });
  await stream.close({ signal }); // end of message: our side is done writing
}

/** Read until the sender closes its side; refuse more than `max` bytes. */
async function readMessage(stream: Stream, max: number, signal: AbortSignal): Promise<unknown> {
  const chunks: Uint8Array[] = [];
  let length = 0;
  const onAbort = () => stream.abort(new Error('admin share exchange timed out'));
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    for await (const chunk of stream) {
      const bytes = chunk.subarray();
      length += bytes.byteLength;
      if (length > max) throw new Error(`admin share message larger than ${max} bytes`);
      chunks.push(bytes);
    }
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
  if (signal.aborted) throw new Error('admin share exchange timed out');
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

function parseRequest(v: unknown): ShareRequest | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const o = v as Record<string, unknown>;
  if (o.v !== MESSAGE_VERSION || !isAgeRecipient(o.adminRecipient) || !isAgeRecipient(o.replyTo)) return undefined;
  if (o.proof === undefined) return { v: MESSAGE_VERSION, adminRecipient: o.adminRecipient, replyTo: o.replyTo };
  const proof = parseElectionProof(o.proof);
  return proof === null ? undefined : { v: MESSAGE_VERSION, adminRecipient: o.adminRecipient, replyTo: o.replyTo, proof };
}

function parseResponse(v: unknown): ShareResponse | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const o = v as Record<string, unknown>;
  if (o.v !== MESSAGE_VERSION) return undefined;
  if (o.ok === true && typeof o.sealedShare === 'string') return { v: MESSAGE_VERSION, ok: true, sealedShare: o.sealedShare };
  if (o.ok === false && typeof o.reason === 'string') {
    const reason = (['not-authorized', 'wrong-admin-key', 'bad-request'] as const).find((r) => r === o.reason) ?? 'bad-request';
    return refusal(reason, typeof o.message === 'string' ? o.message.slice(0, 500) : 'no reason given');
  }
  return undefined;
}
