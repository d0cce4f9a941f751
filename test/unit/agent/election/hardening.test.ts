// Issue 7's election attacks, replayed in the simulated cluster (virtual clock, real wire codec,
// real Ed25519 ballots): an impostor holding a member's key but no votes, a stranger, terms far
// ahead, resigns from someone who is not the admin. The safety invariants are checked after every
// event (sim/cluster.ts) as in every election test.
import { describe, expect, it } from 'vitest';
import {
  createBallots,
  createElection,
  failoverBoundMs,
  MAX_STATUS_PEERS,
  MAX_TERM_STEP,
  memoryVoteStore,
  type ElectionMessage,
  type ElectionTransport,
} from '../../../../src/agent/election/index.js';
import { silentLogger } from '../../../../src/util/log.js';
import { closedSimKeys, SimCluster } from './sim/cluster.js';

const timing = { heartbeatMs: 100, timeoutMs: 500 };
const bound = failoverBoundMs(timing);

/** A closed cluster of `size` where the last member never runs: its transport is the impostor's. */
async function closedWithImpostor(size: number, seed: number) {
  const keys = await closedSimKeys(size, seed);
  const c = new SimCluster({ size, seed, keys });
  const impostorId = c.members[size - 1].id;
  await c.startAll();
  await c.kill(impostorId);
  c.net.setUp(impostorId, true);
  const honest = c.ids.filter((id) => id !== impostorId);
  const first = c.waitForAgreedAdmin(bound * 2, honest);
  expect(first).not.toBeNull();
  c.clock.runFor(1_000);
  const impostor = c.net.transport(impostorId);
  const term = () => c.member(honest[0]).election.status().term;
  // The impostor signs like a member: its own vote is valid, it just has no others.
  const ballots = createBallots(keys[size - 1], c.memberList!);
  return { c, impostorId, impostor, ballots, honest, admin: first!.admin, term };
}

function expectUnmoved(c: SimCluster, honest: string[], admin: string, term: number): void {
  for (const id of honest) {
    const s = c.member(id).election.status();
    expect(s.admin, id).toBe(admin);
    expect(s.term, id).toBe(term);
  }
  expect(c.violations).toEqual([]);
}

describe('closed cluster: an impostor with a member key but no votes', () => {
  it('is not followed for a heartbeat of term+1, with no proof or with a proof of its own vote only', async () => {
    const { c, impostorId, impostor, ballots, honest, admin, term } = await closedWithImpostor(4, 1);
    const t = term();
    await impostor.broadcast({ type: 'heartbeat', term: t + 1, score: 1, seq: 1, roster: [] });
    const ownVote = { voter: impostorId, sig: ballots.sign(t + 1, impostorId) };
    await impostor.broadcast({
      type: 'heartbeat',
      term: t + 1,
      score: 1,
      seq: 2,
      roster: [],
      proof: { v: 1, cluster: 'sim', term: t + 1, admin: impostorId, votes: [ownVote] },
    });
    c.clock.runFor(50);
    expectUnmoved(c, honest, admin, t);
    for (const id of honest) expect(c.member(id).election.isAdmin(impostorId)).toBe(false);
    c.clock.runFor(5_000);
    expectUnmoved(c, honest, admin, t);
  });

  it('wins nothing with granted votes that carry no valid signature', async () => {
    // Size 3: the candidate plus one liar granting many unsigned votes would be 2 of 3.
    const keys = await closedSimKeys(3, 7);
    const c = new SimCluster({ size: 3, seed: 7, keys });
    await c.startAll();
    c.clock.runFor(10);
    const [candidate, liarId, third] = c.ids;
    c.net.partition([[candidate, liarId]]);
    await c.kill(liarId);
    c.net.setUp(liarId, true);
    const liar = c.net.transport(liarId);
    liar.onMessage((from, msg) => {
      if (from !== candidate || msg.type !== 'vote-request') return;
      void liar.broadcast({
        type: 'vote',
        term: msg.term,
        score: 0.5,
        to: candidate,
        electionTerm: msg.electionTerm,
        prevote: msg.prevote,
        granted: true,
        // A signature, but of another term: it must not count either.
        ...(msg.prevote ? {} : { sig: Buffer.alloc(64, 1).toString('base64') }),
      });
    });
    c.clock.runFor(10_000);
    expect(c.member(candidate).election.isAdmin()).toBe(false);
    expect([...c.adminsByTerm.values()]).not.toContain(candidate);
    expect(third).toBeDefined();
  });

  it('moves no term with messages more than MAX_TERM_STEP ahead, and resigning for the admin hands off nothing', async () => {
    const { c, impostor, honest, admin, term } = await closedWithImpostor(4, 3);
    const t = term();
    const victim = honest.find((id) => id !== admin)!;
    const far = t + MAX_TERM_STEP + 1;
    const forged: ElectionMessage[] = [
      { type: 'announce', term: far, score: 1 },
      { type: 'resign', term: far, score: 1, handoffTo: victim },
      { type: 'vote-request', term: far, score: 1, electionTerm: far, prevote: false },
      { type: 'heartbeat-ack', term: far, score: 1, to: admin, seq: 1, ok: false },
      // Same term, not the admin: no hand-off, no release of stickiness.
      { type: 'resign', term: t, score: 1, handoffTo: victim },
    ];
    for (const m of forged) await impostor.broadcast(m);
    c.clock.runFor(50);
    expectUnmoved(c, honest, admin, t);
    expect(c.member(victim).election.status().state).toBe('follower');
  });
});

describe('closed cluster: liveness with bounded terms', () => {
  it('a member that missed more than MAX_TERM_STEP elections catches up from the proof in the admin heartbeat', async () => {
    const keys = await closedSimKeys(3, 11);
    const c = new SimCluster({ size: 3, seed: 11, keys });
    await c.startAll();
    const lagging = c.ids[2];
    c.waitForAgreedAdmin(bound);
    await c.kill(lagging);
    const up = c.ids.filter((id) => id !== lagging);
    const start = c.member(up[0]).election.status().term;
    // Hand-offs between the two others raise the term one election at a time.
    while (c.member(up[0]).election.status().term < start + MAX_TERM_STEP + 4) {
      const admin = c.waitForAgreedAdmin(bound * 2, up);
      expect(admin).not.toBeNull();
      void c.member(admin!.admin).election.stepDown({ waitMs: 300 });
      c.clock.runFor(400);
    }
    const settled = c.waitForAgreedAdmin(bound * 2, up)!;
    const clusterTerm = c.member(settled.admin).election.status().term;
    expect(clusterTerm - c.member(lagging).election.status().term).toBeGreaterThan(MAX_TERM_STEP);
    await c.restart(lagging);
    expect(c.waitForAgreedAdmin(bound * 2)).not.toBeNull();
    expect(c.member(lagging).election.status().term).toBe(c.member(settled.admin).election.status().term);
    expect(c.violations).toEqual([]);
  });
});

describe('open cluster: bounds', () => {
  it('terms more than MAX_TERM_STEP ahead are ignored (except an admin heartbeat, the only catch-up an open cluster has)', async () => {
    const c = new SimCluster({ size: 3, seed: 5 });
    await c.startAll();
    const { admin } = c.waitForAgreedAdmin(bound)!;
    c.clock.runFor(500);
    const t = c.member(admin).election.status().term;
    const stranger = c.net.transport('stranger');
    const victim = c.ids.find((id) => id !== admin)!;
    await stranger.broadcast({ type: 'resign', term: t + MAX_TERM_STEP + 1, score: 1, handoffTo: victim });
    await stranger.broadcast({ type: 'vote-request', term: t + 1000, score: 1, electionTerm: t + 1000, prevote: false });
    c.clock.runFor(50);
    for (const id of c.ids) expect(c.member(id).election.status().term, id).toBe(t);
  });

  it('the peer table and the status stay bounded however many peers talk', async () => {
    let deliver: ((from: string, msg: ElectionMessage) => void) | undefined;
    const transport: ElectionTransport = {
      selfId: 'self',
      broadcast: async () => undefined,
      onMessage: (h) => {
        deliver = h;
        return () => undefined;
      },
      peers: () => [],
    };
    const e = createElection({ transport, selfId: 'self', clusterSize: 3, ...timing, store: memoryVoteStore(), log: silentLogger() });
    await e.start();
    for (let i = 0; i < 5 * MAX_STATUS_PEERS; i++) deliver!(`peer-${i}`, { type: 'announce', term: 0, score: 0.5 });
    expect(e.status().peers.length).toBeLessThanOrEqual(MAX_STATUS_PEERS);
    // The newest are kept (the oldest forgotten).
    expect(e.status().peers.map((p) => p.id)).toContain(`peer-${5 * MAX_STATUS_PEERS - 1}`);
    await e.stop();
  });
});
