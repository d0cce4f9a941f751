// The manager and leader election, driven by a fake clock and an in-memory lease elector: several
// controllers under one lease; nothing reconciles before the lease is held; a lost lease stops
// every controller at once.
import { afterEach, describe, expect, it } from 'vitest';
import { createLeaderElection } from '../../../src/controller/leader-election.js';
import { createManager, type Manager } from '../../../src/controller/manager.js';
import type { ReconcileResult } from '../../../src/reconcilers/reconciler.js';
import type { LeaseElector } from '../../../src/store/lease.js';
import { ManualClock } from '../../../src/util/clock.js';
import { flush } from '../../support/flush.js';

/** A lease register shared by electors, with the same take-over rule as the real one (holder or free). */
function leaseRegister() {
  let holder = '';
  return {
    get holder() {
      return holder;
    },
    steal(by: string) {
      holder = by;
    },
    release() {
      holder = '';
    },
    elector(me: string): LeaseElector {
      return {
        get lastHolder() {
          return holder;
        },
        async tryAcquire() {
          if (holder === '' || holder === me) {
            holder = me;
            return true;
          }
          return false;
        },
      };
    },
  };
}

function recorder(name: string, log: string[]) {
  return {
    reconcile: async (key: string): Promise<ReconcileResult> => {
      log.push(`${name}:${key}`);
      return {};
    },
  };
}

const lister = (keys: string[]) => ({ listClusters: async () => keys });

let cleanup: Array<{ manager: Manager; clock: ManualClock }> = [];
afterEach(async () => {
  const stops = cleanup.map(({ manager }) => manager.stop());
  await flush();
  for (const { clock } of cleanup) clock.advance(60_000);
  await Promise.all(stops);
  cleanup = [];
});

function setup(lease = leaseRegister(), me = 'a') {
  const clock = new ManualClock(1_000_000);
  const leaderElection = createLeaderElection({ elector: lease.elector(me), clock, renewMs: 1000 });
  const leader: boolean[] = [];
  const manager = createManager({ leaderElection, onLeader: (h) => leader.push(h) });
  const calls: string[] = [];
  manager.add({ name: 'cluster', reconciler: recorder('cluster', calls), lister: lister(['dev']), clock, resyncMs: 60_000 });
  manager.add({ name: 'backups', reconciler: recorder('backups', calls), lister: lister(['dev']), clock, resyncMs: 60_000 });
  cleanup.push({ manager, clock });
  return { clock, manager, calls, lease, leader };
}

describe('manager with several controllers under one lease', () => {
  it('GIVEN a free lease WHEN started THEN every controller reconciles its keys and the manager is ready', async () => {
    const { manager, calls, leader } = setup();
    await manager.start();
    await flush();
    expect(manager.leading).toBe(true);
    expect(calls.sort()).toEqual(['backups:dev', 'cluster:dev']);
    expect(manager.ready).toBe(true);
    expect(leader).toEqual([true]);
    expect(Object.keys(manager.healthy().checks).sort()).toEqual(['backups.workers', 'cluster.workers']);
  });

  it('GIVEN another holder WHEN started THEN nothing reconciles, health says standing by, and it takes over once the lease is free', async () => {
    const lease = leaseRegister();
    lease.steal('b');
    const { manager, calls, clock } = setup(lease);
    await manager.start();
    await flush();
    expect(manager.leading).toBe(false);
    expect(manager.ready).toBe(false);
    expect(manager.healthy()).toEqual({ ok: true, checks: { lease: { ok: true, detail: 'standing by: b holds the controller lease' } } });
    clock.advance(5_000);
    await flush();
    expect(calls).toEqual([]);

    lease.release();
    clock.advance(1_000);
    await flush();
    expect(manager.leading).toBe(true);
    expect(calls.sort()).toEqual(['backups:dev', 'cluster:dev']);
  });

  it('GIVEN a leader WHEN its renewal finds the lease taken THEN every controller stops, lost names the new holder, no more reconciles', async () => {
    const { manager, calls, clock, lease, leader } = setup();
    await manager.start();
    await flush();
    lease.steal('b');
    clock.advance(1_000);
    await flush();
    await expect(manager.lost).resolves.toBe('b');
    expect(manager.leading).toBe(false);
    expect(leader).toEqual([true, false]);
    const before = calls.length;
    manager.controller('cluster')?.enqueue('dev');
    clock.advance(120_000);
    await flush();
    expect(calls.length).toBe(before);
  });

  it('refuses a second controller of the same name and controllers added after start', async () => {
    const { manager, clock } = setup();
    expect(() => manager.add({ name: 'cluster', reconciler: recorder('x', []), lister: lister([]), clock })).toThrow(/already added/);
    await manager.start();
    expect(() => manager.add({ name: 'late', reconciler: recorder('x', []), lister: lister([]), clock })).toThrow(/after start/);
  });

  it('without leader election (a single writer by construction) starts at once', async () => {
    const clock = new ManualClock(1_000_000);
    const calls: string[] = [];
    const manager = createManager();
    manager.add({ name: 'cluster', reconciler: recorder('cluster', calls), lister: lister(['x']), clock });
    cleanup.push({ manager, clock });
    await manager.start();
    await flush();
    expect(calls).toEqual(['cluster:x']);
  });
});
