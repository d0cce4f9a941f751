// Signed ballots: this node signs its votes with its libp2p Ed25519 key, and checks the votes and
// election proofs of others against the member list (a member's peer ID embeds its public key).
// node:crypto's Ed25519 is synchronous, which the election's run loop needs (a vote is persisted,
// signed and queued in one step). Public keys are cached per member: bounded by the member list.
import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import type { PrivateKey } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import type { MemberList } from '../../crypto/membership.js';
import { InvalidInputError } from '../../util/errors.js';
import { type ElectionProof, type ProofVerdict, verifyElectionProof, voteStatement, type VoteVerifier } from './proof.js';

// DER headers of an Ed25519 key in PKCS#8 (private) and SPKI (public) form (RFC 8410).
const PKCS8_ED25519 = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_ED25519 = Buffer.from('302a300506032b6570032100', 'hex');
/** Proofs verified recently, remembered so a heartbeat's proof is checked once per term, not once per heartbeat. */
const PROVEN_CACHE = 64;

export interface Ballots {
  readonly members: MemberList;
  /** This node's signature (base64) of its vote for `candidate` in `term`. */
  sign(term: number, candidate: string): string;
  /** Is `sig` a member `voter`'s vote for `candidate` in `term`? Never throws. */
  verifyVote(voter: string, term: number, candidate: string, sig: string): boolean;
  /** Does `proof` show that `admin` won (term, when given)? Never throws. */
  verifyProof(proof: ElectionProof, admin: string, term?: number): ProofVerdict;
}

export function createBallots(privateKey: PrivateKey, members: MemberList): Ballots {
  if (privateKey.type !== 'Ed25519') {
    throw new InvalidInputError(
      `election ballots need an Ed25519 peer key, not ${privateKey.type}: give the agent the key the operator generated`,
    );
  }
  const seed = privateKey.raw.subarray(0, 32);
  const own = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519, seed]), format: 'der', type: 'pkcs8' });
  const keys = new Map<string, KeyObject | null>();
  const proven = new Set<string>();

  const publicKey = (peer: string): KeyObject | null => {
    if (!members.has(peer)) return null;
    let key = keys.get(peer);
    if (key === undefined) {
      try {
        const raw = peerIdFromString(peer).publicKey?.raw;
        key = raw === undefined ? null : createPublicKey({ key: Buffer.concat([SPKI_ED25519, raw]), format: 'der', type: 'spki' });
      } catch {
        key = null;
      }
      keys.set(peer, key);
    }
    return key;
  };

  const check: VoteVerifier = (voter, statement, sig) => {
    const key = publicKey(voter);
    if (key === null) return false;
    try {
      return verify(null, statement, key, Buffer.from(sig, 'base64'));
    } catch {
      return false;
    }
  };

  return {
    members,
    sign: (term, candidate) => sign(null, voteStatement(members.cluster, term, candidate), own).toString('base64'),
    verifyVote: (voter, term, candidate, sig) => check(voter, voteStatement(members.cluster, term, candidate), sig),
    verifyProof(proof, admin, term) {
      // Keyed by the whole proof: the same proof (every heartbeat of a term repeats it) is
      // checked once; any other proof is checked in full.
      const key = `${proof.cluster}\n${proof.term}\n${proof.admin}\n${proof.votes.map((v) => `${v.voter}:${v.sig}`).join(',')}`;
      if (proof.admin === admin && (term === undefined || term === proof.term) && proven.has(key)) return { ok: true };
      const verdict = verifyElectionProof(proof, members, check, { admin, term });
      if (verdict.ok) {
        if (proven.size >= PROVEN_CACHE) proven.clear();
        proven.add(key);
      }
      return verdict;
    },
  };
}
