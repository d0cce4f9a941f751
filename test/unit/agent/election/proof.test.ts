// The proof of election (proof.ts) and signed ballots (ballots.ts): table tests over real Ed25519
// keys. A proof holds only with distinct members' valid signatures, a majority of the member
// list, for the admin that shows it, in the term asked about, in this cluster.
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys';
import type { PrivateKey } from '@libp2p/interface';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  createBallots,
  MAX_PROOF_VOTES,
  parseElectionProof,
  verifyElectionProof,
  type Ballots,
  type ElectionProof,
} from '../../../../src/agent/election/index.js';
import { memberList, type MemberList } from '../../../../src/crypto/membership.js';

let keys: PrivateKey[];
let ids: string[];
let members: MemberList;
let ballots: Ballots[];
let outsider: Ballots;
let outsiderId: string;

async function key(i: number): Promise<PrivateKey> {
  const seed = new Uint8Array(32);
  seed[0] = i + 1;
  return generateKeyPairFromSeed('Ed25519', seed);
}

beforeAll(async () => {
  keys = await Promise.all([0, 1, 2, 3, 4].map(key));
  ids = keys.map((k) => peerIdFromPrivateKey(k).toString());
  members = memberList(
    'dev',
    ids.map((peerId, i) => ({ name: `a${i}`, peerId, role: 'observer' as const })),
  );
  ballots = keys.map((k) => createBallots(k, members));
  const outsiderKey = await key(9);
  outsiderId = peerIdFromPrivateKey(outsiderKey).toString();
  // The outsider signs with its own key, against a list that names it (so it can sign at all).
  outsider = createBallots(outsiderKey, memberList('dev', [{ name: 'x', peerId: outsiderId, role: 'observer' }]));
});

/** A proof for admin ids[0] in `term`, with the votes of members `voters`. */
function proof(term: number, voters: number[], over: Partial<ElectionProof> = {}): ElectionProof {
  return {
    v: 1,
    cluster: 'dev',
    term,
    admin: ids[0],
    votes: voters.map((i) => ({ voter: ids[i], sig: ballots[i].sign(term, ids[0]) })),
    ...over,
  };
}

describe('verifyElectionProof', () => {
  it.each<[string, () => ElectionProof, { admin?: number; term?: number }, RegExp | null]>([
    ['a majority (3 of 5) for the admin in its term', () => proof(7, [0, 1, 2]), { term: 7 }, null],
    ['all five', () => proof(7, [0, 1, 2, 3, 4]), { term: 7 }, null],
    ['any term, when none is asked for', () => proof(9, [1, 2, 3]), {}, null],
    ['two votes: no majority', () => proof(7, [0, 1]), { term: 7 }, /2 vote\(s\), a majority of the 5 members is 3/],
    ['one voter twice', () => proof(7, [0, 1, 1]), { term: 7 }, /a voter appears twice/],
    ['another term than asked', () => proof(7, [0, 1, 2]), { term: 8 }, /for term 7, not 8/],
    ['another admin than the one showing it', () => proof(7, [0, 1, 2]), { admin: 1, term: 7 }, /names another admin/],
    ['another cluster', () => proof(7, [0, 1, 2], { cluster: 'prod' }), { term: 7 }, /cluster prod, not dev/],
    [
      'a signature for another term',
      () => ({ ...proof(7, [0, 1]), votes: [...proof(7, [0, 1]).votes, { voter: ids[2], sig: ballots[2].sign(6, ids[0]) }] }),
      { term: 7 },
      /does not verify/,
    ],
    [
      'a signature by someone else under a member name',
      () => ({ ...proof(7, [0, 1]), votes: [...proof(7, [0, 1]).votes, { voter: ids[2], sig: ballots[3].sign(7, ids[0]) }] }),
      { term: 7 },
      /does not verify/,
    ],
    [
      'a non-member voter',
      () => ({ ...proof(7, [0, 1]), votes: [...proof(7, [0, 1]).votes, { voter: outsiderId, sig: outsider.sign(7, ids[0]) }] }),
      { term: 7 },
      /not on the member list/,
    ],
  ])('%s', (_name, make, expectation, refused) => {
    const p = make();
    const admin = ids[expectation.admin ?? 0];
    const verdict = ballots[4].verifyProof(p, admin, expectation.term);
    if (refused === null) expect(verdict).toEqual({ ok: true });
    else {
      expect(verdict.ok).toBe(false);
      expect(verdict.ok ? '' : verdict.reason).toMatch(refused);
    }
    // The pure function with the same signature check gives the same verdict.
    const pure = verifyElectionProof(p, members, checkRaw, { admin, term: expectation.term });
    expect(pure.ok).toBe(verdict.ok);
  });

  it('an admin that is not a member proves nothing, whatever the votes', () => {
    const p: ElectionProof = {
      v: 1,
      cluster: 'dev',
      term: 3,
      admin: outsiderId,
      votes: [0, 1, 2].map((i) => ({ voter: ids[i], sig: ballots[i].sign(3, outsiderId) })),
    };
    expect(ballots[0].verifyProof(p, outsiderId, 3)).toMatchObject({ ok: false, reason: /not on the member list/ });
  });

  it('a verifier that throws counts as a bad signature, never as an exception', () => {
    const verdict = verifyElectionProof(
      proof(7, [0, 1, 2]),
      members,
      () => {
        throw new Error('boom');
      },
      { admin: ids[0] },
    );
    expect(verdict).toMatchObject({ ok: false, reason: /does not verify/ });
  });
});

/** The signature check handed to the pure function: another member's ballot box, reading the statement back. */
function checkRaw(voter: string, statement: Uint8Array, sig: string): boolean {
  const text = new TextDecoder().decode(statement).split('\n');
  return ballots[3].verifyVote(voter, Number(text[2]), text[3], sig);
}

describe('parseElectionProof', () => {
  it('round-trips a proof through JSON and keeps only known fields', () => {
    const p = proof(5, [0, 1, 2]);
    expect(parseElectionProof(JSON.parse(JSON.stringify({ ...p, extra: 'x' })))).toEqual(p);
  });

  it.each<[string, unknown]>([
    ['null', null],
    ['an array', []],
    ['another version', { ...proofShape(), v: 2 }],
    ['a negative term', { ...proofShape(), term: -1 }],
    ['a term above MAX_TERM', { ...proofShape(), term: Number.MAX_SAFE_INTEGER }],
    ['a fractional term', { ...proofShape(), term: 1.5 }],
    ['no votes', { ...proofShape(), votes: [] }],
    [
      'too many votes',
      { ...proofShape(), votes: Array.from({ length: MAX_PROOF_VOTES + 1 }, () => ({ voter: 'a', sig: `${'A'.repeat(86)}==` })) },
    ],
    ['a signature of the wrong length', { ...proofShape(), votes: [{ voter: 'a', sig: 'AAAA' }] }],
    ['a voter that is not a string', { ...proofShape(), votes: [{ voter: 5, sig: `${'A'.repeat(86)}==` }] }],
    ['an overlong admin id', { ...proofShape(), admin: 'x'.repeat(500) }],
  ])('refuses %s', (_name, value) => {
    expect(parseElectionProof(value)).toBeNull();
  });
});

function proofShape(): Record<string, unknown> {
  return { v: 1, cluster: 'dev', term: 1, admin: 'a', votes: [{ voter: 'a', sig: `${'A'.repeat(86)}==` }] };
}

describe('ballots', () => {
  it('a vote verifies for its voter, term and candidate only', () => {
    const sig = ballots[1].sign(4, ids[0]);
    expect(ballots[2].verifyVote(ids[1], 4, ids[0], sig)).toBe(true);
    expect(ballots[2].verifyVote(ids[1], 5, ids[0], sig)).toBe(false);
    expect(ballots[2].verifyVote(ids[1], 4, ids[2], sig)).toBe(false);
    expect(ballots[2].verifyVote(ids[3], 4, ids[0], sig)).toBe(false);
    expect(ballots[2].verifyVote(ids[1], 4, ids[0], 'not base64 !!')).toBe(false);
    expect(ballots[2].verifyVote(outsiderId, 4, ids[0], outsider.sign(4, ids[0]))).toBe(false);
  });

  it('votes of one cluster prove nothing in another (the cluster name is signed)', () => {
    const other = createBallots(keys[0], memberList('prod', members.members));
    expect(other.verifyProof(proof(7, [0, 1, 2]), ids[0], 7).ok).toBe(false);
    const sig = ballots[1].sign(7, ids[0]);
    expect(other.verifyVote(ids[1], 7, ids[0], sig)).toBe(false);
  });
});
