// A long randomized run per seed: crashes, restarts, partitions, message loss and delay, manual
// triggers and step-downs, with the safety invariants checked after every event (sim/cluster.ts):
// never two admins in one term, never two admins acting at the same instant. At the end the faults
// stop and the cluster must converge on one admin within the failover bound.
import { describe, expect, it } from 'vitest';
import { failoverBoundMs, stickyMs } from '../../../../src/agent/election/index.js';
import { closedSimKeys, SimCluster } from './sim/cluster.js';

const SEEDS = [101, 202, 303, 404, 505, 606];
const VIRTUAL_MS = 10 * 60 * 1000;

// Open clusters (no member list) and closed ones (signed votes, proofs in heartbeats, bounded
// term steps): the same faults, the same guarantees.
describe.each([
  ['open', false],
  ['closed', true],
])('election under random faults (%s cluster)', (_mode, closed) => {
  for (const seed of SEEDS) {
    it(`seed ${seed}: safe throughout, converges after the faults stop`, async () => {
      const size = seed % 2 === 0 ? 5 : 4;
      const keys = closed ? await closedSimKeys(size, seed) : undefined;
      const c = new SimCluster({ size, seed, heartbeatMs: 100, timeoutMs: 500, maxDelayMs: 40, direct: seed % 3 === 0, keys });
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(c.random() * xs.length)];
      await c.startAll();
      const end = c.clock.now() + VIRTUAL_MS;
      const kinds = new Map<string, number>();
      while (c.clock.now() < end) {
        c.clock.runFor(50 + c.random() * 2_500);
        const down = c.members.filter((m) => !c.net.isUp(m.id)).map((m) => m.id);
        const up = c.up().map((m) => m.id);
        const r = c.random();
        let kind: string;
        if (r < 0.15 && down.length < size - 1) {
          kind = 'kill';
          await c.kill(pick(up));
        } else if (r < 0.3 && down.length > 0) {
          kind = 'restart';
          await c.restart(pick(down));
        } else if (r < 0.45) {
          kind = 'partition';
          const shuffled = [...c.ids].sort(() => c.random() - 0.5);
          const cut = 1 + Math.floor(c.random() * (size - 1));
          c.net.partition([shuffled.slice(0, cut), shuffled.slice(cut)]);
        } else if (r < 0.6) {
          kind = 'heal';
          c.net.heal();
        } else if (r < 0.7) {
          kind = 'loss';
          c.net.lossRate = pick([0, 0, 0.05, 0.2, 0.5]);
          c.net.maxDelayMs = pick([5, 40, 200]);
        } else if (r < 0.8 && up.length > 0) {
          kind = 'trigger';
          void c.member(pick(up)).election.triggerElection();
        } else if (r < 0.9) {
          const admin = c.actingAdmins()[0];
          kind = admin === undefined ? 'idle' : 'step-down';
          if (admin !== undefined) void c.member(admin).election.stepDown({ waitMs: 300 });
        } else {
          kind = 'idle';
        }
        kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
        expect(c.violations, `seed ${seed}`).toEqual([]);
      }
      expect(c.maxActingAdmins).toBe(1);
      // The run exercised elections: several terms had an admin.
      expect(c.adminsByTerm.size).toBeGreaterThan(10);
      for (const k of ['kill', 'restart', 'partition', 'heal', 'trigger', 'step-down']) expect(kinds.get(k) ?? 0, k).toBeGreaterThan(0);

      // Faults stop: everyone up, one network, no loss. A restarted node is sticky for stickyMs.
      c.net.heal();
      c.net.lossRate = 0;
      c.net.maxDelayMs = 5;
      for (const m of c.members) if (!c.net.isUp(m.id)) await c.restart(m.id);
      const timing = { heartbeatMs: c.heartbeatMs, timeoutMs: c.timeoutMs };
      const settled = c.waitForAgreedAdmin(failoverBoundMs(timing) + stickyMs(timing));
      expect(settled, `seed ${seed}`).not.toBeNull();
      c.clock.runFor(10_000);
      expect(c.agreedAdmin()).toBe(settled!.admin);
      expect(c.violations).toEqual([]);
    });
  }
});
