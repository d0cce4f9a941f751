// The election's behaviour in a simulated cluster on a virtual clock (no sleeps). Every run checks
// the safety invariants after every event (see sim/cluster.ts).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { failoverBoundMs, stickyMs, VOTE_FILE } from '../../../../src/agent/election/index.js';
import { SimCluster } from './sim/cluster.js';

const timing = { heartbeatMs: 100, timeoutMs: 500 };
const bound = failoverBoundMs(timing);

function noViolations(c: SimCluster): void {
  expect(c.violations).toEqual([]);
  expect(c.maxActingAdmins).toBeLessThanOrEqual(1);
}

describe('election in a stable cluster', () => {
  it('elects exactly one admin that every node agrees on, and keeps it', async () => {
    for (const direct of [false, true]) {
      const c = new SimCluster({ size: 5, seed: 1, direct });
      await c.startAll();
      const first = c.waitForAgreedAdmin(bound);
      expect(first).not.toBeNull();
      const term = c.member(first!.admin).election.status().term;

      c.clock.runFor(60_000);
      expect(c.actingAdmins()).toEqual([first!.admin]);
      expect(c.agreedAdmin()).toBe(first!.admin);
      for (const m of c.members) {
        const s = m.election.status();
        expect(s.term).toBe(term);
        expect(s.state).toBe(m.id === first!.admin ? 'admin' : 'follower');
        expect(m.election.stateAsNumber()).toBe(m.id === first!.admin ? 2 : 0);
        expect(m.election.isAdmin(first!.admin)).toBe(true);
      }
      noViolations(c);
    }
  });

  it('a single-node cluster elects itself', async () => {
    const c = new SimCluster({ size: 1, seed: 2 });
    await c.startAll();
    expect(c.waitForAgreedAdmin(bound)?.admin).toBe('node-0');
    c.clock.runFor(10_000);
    expect(c.actingAdmins()).toEqual(['node-0']);
  });
});

describe('failover', () => {
  it('a killed admin is replaced within the bound, in a higher term, by a survivor all survivors agree on', async () => {
    for (let seed = 10; seed < 30; seed++) {
      const c = new SimCluster({ size: 5, seed, lossRate: 0.02, maxDelayMs: 20 });
      await c.startAll();
      const { admin: old } = c.waitForAgreedAdmin(bound)!;
      c.clock.runFor(2_000);
      const oldTerm = c.member(old).election.status().term;

      await c.kill(old);
      const survivors = c.ids.filter((id) => id !== old);
      const next = c.waitForAgreedAdmin(bound, survivors);
      expect(next, `seed ${seed}`).not.toBeNull();
      expect(next!.admin).not.toBe(old);
      expect(c.member(next!.admin).election.status().term).toBeGreaterThan(oldTerm);
      noViolations(c);
    }
  });

  it('a restarted old admin rejoins as a follower without deposing the new admin', async () => {
    const c = new SimCluster({ size: 3, seed: 5 });
    await c.startAll();
    const { admin: old } = c.waitForAgreedAdmin(bound)!;
    await c.kill(old);
    const { admin: next } = c.waitForAgreedAdmin(
      bound,
      c.ids.filter((id) => id !== old),
    )!;
    const term = c.member(next).election.status().term;

    await c.restart(old);
    expect(c.waitForAgreedAdmin(bound)?.admin).toBe(next);
    c.clock.runFor(10_000);
    expect(c.agreedAdmin()).toBe(next);
    expect(c.member(next).election.status().term).toBe(term);
    noViolations(c);
  });
});

describe('partitions', () => {
  it('split 2 | 3: only the 3 side elects; the 2 side has no admin; healing leaves one admin', async () => {
    for (let seed = 40; seed < 50; seed++) {
      const c = new SimCluster({ size: 5, seed });
      await c.startAll();
      const { admin: old } = c.waitForAgreedAdmin(bound)!;
      // Put the admin on the minority side so the majority must elect a new one.
      const others = c.ids.filter((id) => id !== old);
      const minority = [old, others[0]];
      const majority = others.slice(1);
      const electedBefore = new Set(c.adminsByTerm.keys());
      c.net.partition([minority, majority]);

      const next = c.waitForAgreedAdmin(bound, majority);
      expect(next, `seed ${seed}`).not.toBeNull();
      expect(majority).toContain(next!.admin);
      // Long after: the minority has no admin, and never elected one.
      c.clock.runFor(30_000);
      for (const id of minority) {
        expect(c.member(id).election.status().admin).toBeNull();
        expect(c.member(id).election.isAdmin()).toBe(false);
      }
      for (const [term, admin] of c.adminsByTerm) if (!electedBefore.has(term)) expect(majority).toContain(admin);
      expect(c.agreedAdmin(majority)).toBe(next!.admin);

      c.net.heal();
      const healed = c.waitForAgreedAdmin(bound);
      expect(healed?.admin).toBe(next!.admin);
      c.clock.runFor(10_000);
      expect(c.agreedAdmin()).toBe(next!.admin);
      noViolations(c);
    }
  });

  it('an admin cut off from the majority stops acting (quorum loss) before the majority elects', async () => {
    const c = new SimCluster({ size: 5, seed: 7 });
    await c.startAll();
    const { admin: old } = c.waitForAgreedAdmin(bound)!;
    const cutAt = c.clock.now();
    c.net.partition([[old], c.ids.filter((id) => id !== old)]);
    let stoppedAt: number | null = null;
    c.member(old).election.on('state-changed', (e) => {
      if (e.previous === 'admin' && e.reason === 'quorum-loss') stoppedAt = c.clock.now();
    });
    const next = c.waitForAgreedAdmin(
      bound,
      c.ids.filter((id) => id !== old),
    );
    expect(next).not.toBeNull();
    expect(stoppedAt).not.toBeNull();
    expect(stoppedAt!).toBeLessThanOrEqual(cutAt + stickyMs(timing));
    expect(c.member(old).election.isAdmin()).toBe(false);
    noViolations(c);
  });

  it("the admin's lease counts from when the heartbeat was sent, not from when slow acks arrive", async () => {
    // Heartbeats reach the followers in 1 ms, their acks take 200 ms back. Then the admin's
    // outgoing links fail (acks still arrive) and a follower starts an election the moment its
    // stickiness ends. A lease counted from ack arrival would still be running then.
    const c = new SimCluster({ size: 3, seed: 21 });
    await c.startAll();
    const { admin } = c.waitForAgreedAdmin(bound)!;
    const others = c.ids.filter((id) => id !== admin);
    for (const f of others) {
      c.net.setLinkDelay(admin, f, 1);
      c.net.setLinkDelay(f, admin, 200);
      for (const g of others) if (g !== f) c.net.setLinkDelay(f, g, 1);
    }
    c.clock.runFor(2_000);
    for (const f of others) c.net.block(admin, f);
    const lastHeard = Math.max(...others.map((f) => c.member(f).election.status().lastHeartbeatAt!));
    c.clock.runUntilTime(lastHeard + stickyMs(timing));
    await c.member(others[0]).election.triggerElection();
    const next = c.waitForAgreedAdmin(timing.timeoutMs, others);
    expect(next?.admin).toBe(others[0]);
    expect(c.member(admin).election.isAdmin()).toBe(false);
    noViolations(c);
  });

  it('a minority node does not raise its term while cut off (pre-vote), so healing does not disturb the admin', async () => {
    const c = new SimCluster({ size: 5, seed: 8 });
    await c.startAll();
    const { admin } = c.waitForAgreedAdmin(bound)!;
    const lone = c.ids.find((id) => id !== admin)!;
    const term = c.member(admin).election.status().term;
    c.net.partition([[lone]]);
    c.clock.runFor(30_000);
    expect(c.member(lone).election.status().term).toBe(term);
    expect(c.member(lone).election.status().state).toBe('candidate');
    c.net.heal();
    c.clock.runFor(5_000);
    expect(c.agreedAdmin()).toBe(admin);
    expect(c.member(admin).election.status().term).toBe(term);
    noViolations(c);
  });
});

describe('persistence', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('a restarted node keeps its vote on disk and does not vote twice in a term', async () => {
    dir = mkdtempSync(join(tmpdir(), 'bzzz-election-'));
    const c = new SimCluster({ size: 3, seed: 9, dataDir: dir });
    await c.startAll();
    const { admin } = c.waitForAgreedAdmin(bound)!;
    const term = c.member(admin).election.status().term;
    const voter = c.ids.find((id) => id !== admin)!;
    const onDisk = JSON.parse(readFileSync(join(dir, voter, VOTE_FILE), 'utf8')) as { term: number; votedFor: string | null };
    expect(onDisk).toEqual({ term, votedFor: admin });

    await c.restart(voter);
    expect(c.member(voter).election.status()).toMatchObject({ term, votedFor: admin });

    // A third node asks the restarted voter for its vote in the same term: refused.
    const rival = c.ids.find((id) => id !== admin && id !== voter)!;
    await c.kill(admin);
    await c.kill(rival);
    c.clock.runFor(stickyMs(timing) + 1);
    let answer: boolean | null = null;
    const probe = c.net.transport(rival);
    c.net.setUp(rival, true);
    const off = probe.onMessage((from, msg) => {
      if (from === voter && msg.type === 'vote' && !msg.prevote && msg.electionTerm === term) answer = msg.granted;
    });
    await probe.broadcast({ type: 'vote-request', term, score: 1, electionTerm: term, prevote: false });
    c.clock.runFor(50);
    off();
    expect(answer).toBe(false);
    expect(c.member(voter).election.status().votedFor).toBe(admin);
  });
});

describe('manual trigger and step-down', () => {
  it('step-down hands off to the best-scored follower at once, without waiting for a timeout', async () => {
    const scores = [0.5, 0.6, 0.9, 0.4, 0.7];
    const c = new SimCluster({ size: 5, seed: 11, scores });
    await c.startAll();
    const { admin: old } = c.waitForAgreedAdmin(bound)!;
    expect(old).toBe('node-2');
    c.clock.runFor(1_000);

    const result = c.member(old).election.stepDown();
    const took = c.waitForAgreedAdmin(timing.timeoutMs, c.ids);
    expect(took).not.toBeNull();
    expect(took!.admin).toBe('node-4');
    // A hand-off is a few message delays, far from a heartbeat timeout.
    expect(took!.afterMs).toBeLessThan(timing.heartbeatMs);
    c.clock.runFor(1);
    await expect(result).resolves.toEqual({ handedOffTo: 'node-4', newAdmin: 'node-4' });
    noViolations(c);
  });

  it('step-down to a named follower; an unknown target is refused with a reason', async () => {
    const c = new SimCluster({ size: 3, seed: 12 });
    await c.startAll();
    const { admin } = c.waitForAgreedAdmin(bound)!;
    c.clock.runFor(500);
    const target = c.ids.find((id) => id !== admin)!;
    await expect(c.member(admin).election.stepDown({ handoffTo: 'nobody' })).rejects.toThrow(/handoffTo nobody has not been heard from/);
    const p = c.member(admin).election.stepDown({ handoffTo: target });
    expect(c.waitForAgreedAdmin(timing.timeoutMs)?.admin).toBe(target);
    c.clock.runFor(1);
    await expect(p).resolves.toMatchObject({ handedOffTo: target, newAdmin: target });
    noViolations(c);
  });

  it('step-down of a follower does nothing', async () => {
    const c = new SimCluster({ size: 3, seed: 13 });
    await c.startAll();
    const { admin } = c.waitForAgreedAdmin(bound)!;
    const follower = c.ids.find((id) => id !== admin)!;
    await expect(c.member(follower).election.stepDown()).resolves.toEqual({ handedOffTo: null, newAdmin: admin });
    expect(c.agreedAdmin()).toBe(admin);
  });

  it('manual trigger on the admin re-elects (hand-off); on a follower it cannot depose a live admin', async () => {
    const c = new SimCluster({ size: 5, seed: 14 });
    await c.startAll();
    const { admin } = c.waitForAgreedAdmin(bound)!;
    const term = c.member(admin).election.status().term;
    const follower = c.ids.find((id) => id !== admin)!;

    await c.member(follower).election.triggerElection();
    c.clock.runFor(5_000);
    expect(c.agreedAdmin()).toBe(admin);
    expect(c.member(admin).election.status().term).toBe(term);

    void c.member(admin).election.triggerElection();
    const next = c.waitForAgreedAdmin(timing.timeoutMs);
    expect(next).not.toBeNull();
    expect(next!.admin).not.toBe(admin);
    noViolations(c);
  });

  it('manual trigger on a follower that lost its admin elects sooner than the timeout', async () => {
    const c = new SimCluster({ size: 3, seed: 15 });
    await c.startAll();
    const { admin } = c.waitForAgreedAdmin(bound)!;
    await c.kill(admin);
    const survivors = c.ids.filter((id) => id !== admin);
    // Wait until the voters have let go of the dead admin, then trigger by hand.
    c.clock.runFor(stickyMs(timing));
    await c.member(survivors[0]).election.triggerElection();
    const next = c.waitForAgreedAdmin(timing.heartbeatMs, survivors);
    expect(next?.admin).toBe(survivors[0]);
    noViolations(c);
  });
});

describe('scoring', () => {
  it('with all else equal, the better-scored node wins the first election and the failover', async () => {
    for (let seed = 60; seed < 80; seed++) {
      const scores = [0.3, 0.5, 0.9, 0.4, 0.7];
      const c = new SimCluster({ size: 5, seed, scores });
      await c.startAll();
      expect(c.waitForAgreedAdmin(bound)?.admin, `seed ${seed}`).toBe('node-2');
      c.clock.runFor(1_000);
      await c.kill('node-2');
      expect(
        c.waitForAgreedAdmin(
          bound,
          c.ids.filter((id) => id !== 'node-2'),
        )?.admin,
        `seed ${seed}`,
      ).toBe('node-4');
      noViolations(c);
    }
  });

  it('a better node that died with the admin delays the election by at most the preference window', async () => {
    const c = new SimCluster({ size: 5, seed: 81, scores: [0.3, 0.5, 0.9, 0.4, 0.8] });
    await c.startAll();
    expect(c.waitForAgreedAdmin(bound)?.admin).toBe('node-2');
    c.clock.runFor(1_000);
    await c.kill('node-2');
    await c.kill('node-4');
    const next = c.waitForAgreedAdmin(bound, ['node-0', 'node-1', 'node-3']);
    expect(next).not.toBeNull();
    noViolations(c);
  });
});

describe('authentication and membership', () => {
  it('votes are counted by authenticated sender: repeated grants from one peer count once', async () => {
    const c = new SimCluster({ size: 5, seed: 20 });
    await c.startAll();
    c.clock.runFor(10);
    const candidate = 'node-0';
    // Isolate the candidate with one peer; that peer (controlled by the test) answers many times.
    c.net.partition([[candidate, 'node-1']]);
    await c.kill('node-1');
    c.net.setUp('node-1', true);
    const liar = c.net.transport('node-1');
    const off = liar.onMessage((from, msg) => {
      if (from !== candidate || msg.type !== 'vote-request') return;
      for (let i = 0; i < 5; i++)
        void liar.broadcast({
          type: 'vote',
          term: msg.term,
          score: 0.5,
          to: candidate,
          electionTerm: msg.electionTerm,
          prevote: msg.prevote,
          granted: true,
        });
    });
    c.clock.runFor(10_000);
    off();
    expect(c.member(candidate).election.isAdmin()).toBe(false);
    expect([...c.adminsByTerm.values()]).not.toContain(candidate);
    expect(c.member(candidate).election.status().state).toBe('candidate');
  });
});
