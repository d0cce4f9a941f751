// The election's wire messages and their strict parser. The sender of a message is never read from
// the payload: the transport hands it over authenticated (GossipSub with strict signing: the peer
// that signed it). Fields named `to` only say whom an answer is meant for.
//
// Every message carries the sender's current term (`term`) and its candidate score (`score`), so
// each node keeps an up-to-date view of the others' scores for hand-off and vote preference.
//
// Closed clusters (a member list and signed ballots, ballots.ts) add: a granted real vote carries
// the voter's signature (`sig`) of (cluster, term, candidate); the admin's heartbeat carries the
// proof of its election (`proof`: a majority of those signatures); a candidate's real vote request
// may carry the newest proof it knows, so a node that lagged many terms behind can catch up.
// Terms are bounded (terms.ts): a term above MAX_TERM is refused here, before anything sees it.
import { type ElectionProof, parseElectionProof } from './proof.js';
import { isTerm } from './terms.js';

/** The GossipSub topic of the election (one per protocol version). */
export const ELECTION_TOPIC = 'bzzz/election/v1';

interface Common {
  /** The sender's current term. */
  readonly term: number;
  /** The sender's candidate score, 0..1 (see score.ts). */
  readonly score: number;
}

/** A follower the admin heard from recently, with the score it reported. */
export interface RosterEntry {
  readonly id: string;
  readonly score: number;
}

/**
 * The admin's periodic heartbeat. `seq` numbers the heartbeats of one term. `roster` lists the
 * followers that acked recently: followers answer only the admin, so this is how they learn who
 * else is live and how good a candidate each is (for staggered timeouts and vote preference).
 */
export interface HeartbeatMessage extends Common {
  readonly type: 'heartbeat';
  readonly seq: number;
  readonly roster: readonly RosterEntry[];
  /** Closed clusters: the signed votes that elected the sender in `term`. */
  readonly proof?: ElectionProof;
}

/** A follower's answer to a heartbeat. `ok: false` with a higher term tells a stale admin to step down. */
export interface HeartbeatAckMessage extends Common {
  readonly type: 'heartbeat-ack';
  readonly to: string;
  readonly seq: number;
  readonly ok: boolean;
}

/**
 * A candidate asks for votes in `electionTerm`. A pre-vote (`prevote: true`) asks "would you vote
 * for me in term+1?" without anyone changing term; only a real request has electionTerm === term.
 */
export interface VoteRequestMessage extends Common {
  readonly type: 'vote-request';
  readonly electionTerm: number;
  readonly prevote: boolean;
  /** Closed clusters, real requests: the newest proof of election the candidate knows (lets a lagging voter catch up). */
  readonly proof?: ElectionProof;
}

/** A voter's answer for `electionTerm`; `term` is the voter's own term. */
export interface VoteMessage extends Common {
  readonly type: 'vote';
  readonly to: string;
  readonly electionTerm: number;
  readonly prevote: boolean;
  readonly granted: boolean;
  /** Closed clusters, granted real votes: the voter's signature (base64) of (cluster, electionTerm, to). */
  readonly sig?: string;
}

/**
 * The admin of `term` has stopped acting as admin (step-down, SIGTERM, manual re-election). Voters
 * no longer wait out its heartbeat timeout, and `handoffTo` (TimeoutNow in Raft's terms) starts
 * its election at once.
 */
export interface ResignMessage extends Common {
  readonly type: 'resign';
  readonly handoffTo: string | null;
}

/** A follower with no admin in sight says it is alive (and how good a candidate it is). */
export interface AnnounceMessage extends Common {
  readonly type: 'announce';
}

export type ElectionMessage = HeartbeatMessage | HeartbeatAckMessage | VoteRequestMessage | VoteMessage | ResignMessage | AnnounceMessage;
export type ElectionMessageType = ElectionMessage['type'];

const MAX_ID_LENGTH = 256;
/** Roster entries a heartbeat may carry (clusters are a handful of agents). */
export const MAX_ROSTER = 128;
/** A bound on wire size: a heartbeat with a full roster and the proof of a 1000-member cluster stays under it. */
export const MAX_MESSAGE_BYTES = 128 * 1024;
const MAX_SIG_LENGTH = 128;

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export function encodeElectionMessage(msg: ElectionMessage): Uint8Array {
  return encoder.encode(JSON.stringify(msg));
}

/** Decodes and validates bytes from the wire; null when they are not a well-formed message. */
export function decodeElectionMessage(bytes: Uint8Array): ElectionMessage | null {
  if (bytes.byteLength > MAX_MESSAGE_BYTES) return null;
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(bytes));
  } catch {
    return null;
  }
  return parseElectionMessage(value);
}

/**
 * Checks the shape of a decoded value and returns a clean copy holding only the known fields, or
 * null. Strict on purpose: a malformed message is dropped (and, on GossipSub, not forwarded).
 */
export function parseElectionMessage(value: unknown): ElectionMessage | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const v = value as Record<string, unknown>;
  if (!isTerm(v.term) || !isScore(v.score)) return null;
  const common = { term: v.term, score: v.score };
  switch (v.type) {
    case 'heartbeat': {
      if (!isTerm(v.seq) || !Array.isArray(v.roster) || v.roster.length > MAX_ROSTER) return null;
      const roster: RosterEntry[] = [];
      for (const e of v.roster as unknown[]) {
        const r = e as Record<string, unknown> | null;
        if (typeof r !== 'object' || r === null || !isId(r.id) || !isScore(r.score)) return null;
        roster.push({ id: r.id, score: r.score });
      }
      const proof = optionalProof(v.proof);
      if (proof === null) return null;
      return { type: 'heartbeat', ...common, seq: v.seq, roster, ...(proof === undefined ? {} : { proof }) };
    }
    case 'heartbeat-ack':
      return isId(v.to) && isTerm(v.seq) && typeof v.ok === 'boolean'
        ? { type: 'heartbeat-ack', ...common, to: v.to, seq: v.seq, ok: v.ok }
        : null;
    case 'vote-request':
      if (!isTerm(v.electionTerm) || typeof v.prevote !== 'boolean') return null;
      // A real request is for the sender's own term, a pre-vote for the one after it.
      if (v.electionTerm !== v.term + (v.prevote ? 1 : 0)) return null;
      {
        const proof = optionalProof(v.proof);
        if (proof === null) return null;
        return {
          type: 'vote-request',
          ...common,
          electionTerm: v.electionTerm,
          prevote: v.prevote,
          ...(proof === undefined ? {} : { proof }),
        };
      }
    case 'vote':
      if (!isId(v.to) || !isTerm(v.electionTerm) || typeof v.prevote !== 'boolean' || typeof v.granted !== 'boolean') return null;
      if (v.sig !== undefined && (typeof v.sig !== 'string' || v.sig.length === 0 || v.sig.length > MAX_SIG_LENGTH)) return null;
      return {
        type: 'vote',
        ...common,
        to: v.to,
        electionTerm: v.electionTerm,
        prevote: v.prevote,
        granted: v.granted,
        ...(typeof v.sig === 'string' ? { sig: v.sig } : {}),
      };
    case 'resign':
      if (v.handoffTo !== null && !isId(v.handoffTo)) return null;
      return { type: 'resign', ...common, handoffTo: v.handoffTo };
    case 'announce':
      return { type: 'announce', ...common };
    default:
      return null;
  }
}

/** undefined: absent; null: present but not a proof (the message is refused). */
function optionalProof(x: unknown): ElectionProof | undefined | null {
  return x === undefined ? undefined : parseElectionProof(x);
}

function isScore(x: unknown): x is number {
  return typeof x === 'number' && Number.isFinite(x) && x >= 0 && x <= 1;
}

function isId(x: unknown): x is string {
  return typeof x === 'string' && x.length > 0 && x.length <= MAX_ID_LENGTH;
}
