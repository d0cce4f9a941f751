// Proof of election: the signed votes of a majority of the member list for one candidate in one
// term. The admin carries it in its heartbeats and shows it to share holders; anyone holding the
// member list checks it offline, without trusting whoever relays it. Pure: bytes in, verdict out
// (the signature check itself is handed in, see ballots.ts).
//
// A vote signature covers   "bzzz/election-vote/v1\n<cluster>\n<term>\n<candidate peer id>"
// (domain-separated, and bound to the cluster so votes of one cluster are no proof in another).
//
// Wire/JSON form:
//   { "v": 1, "cluster": "dev", "term": 7, "admin": "12D3Koo…",
//     "votes": [ { "voter": "12D3Koo…", "sig": "<base64 Ed25519 signature>" }, … ] }
import type { MemberList } from '../../crypto/membership.js';
import { isTerm } from './terms.js';

export const PROOF_VERSION = 1;
/** A majority of the largest member list (crypto/membership MAX_MEMBERS = 1000). */
export const MAX_PROOF_VOTES = 501;
const MAX_ID_LENGTH = 128;
/** An Ed25519 signature is 64 bytes: 88 characters of base64. */
const SIG_LENGTH = 88;
const SIG = /^[A-Za-z0-9+/]{86}==$/;

export interface SignedVote {
  readonly voter: string;
  /** base64 of the voter's Ed25519 signature over voteStatement(cluster, term, admin). */
  readonly sig: string;
}

export interface ElectionProof {
  readonly v: typeof PROOF_VERSION;
  readonly cluster: string;
  readonly term: number;
  readonly admin: string;
  readonly votes: readonly SignedVote[];
}

/** The bytes a voter signs to vote for `candidate` in `term` of `cluster`. */
export function voteStatement(cluster: string, term: number, candidate: string): Uint8Array {
  return new TextEncoder().encode(`bzzz/election-vote/v1\n${cluster}\n${term}\n${candidate}`);
}

/** Checks one signature: true only if `sig` (base64) is `voter`'s signature of `statement`. Never throws. */
export type VoteVerifier = (voter: string, statement: Uint8Array, sig: string) => boolean;

export type ProofVerdict = { readonly ok: true } | { readonly ok: false; readonly reason: string };

export interface ProofExpectation {
  /** The peer that must be the admin (the authenticated sender of the heartbeat or share request). */
  readonly admin: string;
  /** The term it must prove; omit to accept any term (the caller compares it). */
  readonly term?: number;
}

/**
 * Parses the JSON value of a proof: a clean copy with only the known fields, or null. Bounded: at
 * most MAX_PROOF_VOTES votes, ids and signatures of fixed size; never throws.
 */
export function parseElectionProof(value: unknown): ElectionProof | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const v = value as Record<string, unknown>;
  if (v.v !== PROOF_VERSION || !isShortString(v.cluster) || !isTerm(v.term) || !isShortString(v.admin)) return null;
  if (!Array.isArray(v.votes) || v.votes.length === 0 || v.votes.length > MAX_PROOF_VOTES) return null;
  const votes: SignedVote[] = [];
  for (const e of v.votes as unknown[]) {
    if (typeof e !== 'object' || e === null) return null;
    const r = e as Record<string, unknown>;
    if (!isShortString(r.voter) || typeof r.sig !== 'string' || r.sig.length !== SIG_LENGTH || !SIG.test(r.sig)) return null;
    votes.push({ voter: r.voter, sig: r.sig });
  }
  return { v: PROOF_VERSION, cluster: v.cluster, term: v.term, admin: v.admin, votes };
}

/**
 * Is `proof` a proof that `expect.admin` won `expect.term` in this cluster? Every vote must come
 * from a distinct member and verify; a majority of the member list must have voted. The admin
 * itself must be a member. Never throws.
 */
export function verifyElectionProof(
  proof: ElectionProof,
  members: MemberList,
  verify: VoteVerifier,
  expect: ProofExpectation,
): ProofVerdict {
  if (proof.cluster !== members.cluster) return { ok: false, reason: `proof is for cluster ${proof.cluster}, not ${members.cluster}` };
  if (proof.admin !== expect.admin) return { ok: false, reason: 'proof names another admin than the peer that shows it' };
  if (expect.term !== undefined && proof.term !== expect.term) {
    return { ok: false, reason: `proof is for term ${proof.term}, not ${expect.term}` };
  }
  if (!members.has(proof.admin)) return { ok: false, reason: 'the admin is not on the member list' };
  const statement = voteStatement(proof.cluster, proof.term, proof.admin);
  const counted = new Set<string>();
  for (const vote of proof.votes) {
    if (counted.has(vote.voter)) return { ok: false, reason: 'a voter appears twice' };
    if (!members.has(vote.voter)) return { ok: false, reason: 'a vote comes from a peer not on the member list' };
    let good = false;
    try {
      good = verify(vote.voter, statement, vote.sig);
    } catch {
      good = false;
    }
    if (!good) return { ok: false, reason: 'a vote signature does not verify' };
    counted.add(vote.voter);
  }
  if (counted.size < members.majority) {
    return { ok: false, reason: `${counted.size} vote(s), a majority of the ${members.members.length} members is ${members.majority}` };
  }
  return { ok: true };
}

function isShortString(x: unknown): x is string {
  return typeof x === 'string' && x.length > 0 && x.length <= MAX_ID_LENGTH;
}
