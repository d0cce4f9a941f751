// The controller lease (src/swarm/lease.ts) as candidates campaign for it on the in-memory port:
// acquire, renew, take over a lease whose holder stopped renewing, and lose races, each decided
// by the engine's compare-and-swap. Time is the candidates' own clocks, passed in; no sleeps.
import { describe, expect, it } from 'vitest';
import { EngineCallError } from '../../../src/swarm/errors.js';
import { createLeaseElector, LEASE_NAME, leaseIsLive, readLease, releaseLease } from '../../../src/store/lease.js';
import { createMemorySwarmPort } from '../../../src/swarm/memory-port.js';

const TTL = 15_000;
const T = 1_000_000;

describe('the controller lease on the in-memory port', () => {
  it('GIVEN no lease WHEN a candidate campaigns THEN it creates the lease, holds it, and apply sees a live controller', async () => {
    const port = createMemorySwarmPort();
    const a = createLeaseElector(port, 'ctl-a', TTL);
    expect(await a.tryAcquire(T)).toBe(true);
    expect(a.lastHolder).toBe('ctl-a');
    expect(port.writeLog).toEqual([`createConfig ${LEASE_NAME}`]);
    const lease = await readLease(port);
    expect(lease).toEqual({ holder: 'ctl-a', renewedAt: T, ttlMs: TTL });
    expect(leaseIsLive(lease, T + TTL - 1)).toBe(true);
    expect(leaseIsLive(lease, T + TTL)).toBe(false);
  });

  it('GIVEN a held lease WHEN its holder campaigns again THEN it renews: one version-checked write, a newer renewal time', async () => {
    const port = createMemorySwarmPort();
    const a = createLeaseElector(port, 'ctl-a', TTL);
    await a.tryAcquire(T);
    const before = (await port.listConfigs({ names: [LEASE_NAME] }))[0].Version.Index;
    port.clearWriteLog();
    expect(await a.tryAcquire(T + 5_000)).toBe(true);
    expect(port.writeLog).toEqual([`updateConfig ${LEASE_NAME}`]);
    expect((await readLease(port))?.renewedAt).toBe(T + 5_000);
    expect((await port.listConfigs({ names: [LEASE_NAME] }))[0].Version.Index).toBeGreaterThan(before);
  });

  it('GIVEN a holder that keeps renewing WHEN another candidate campaigns for longer than a TTL THEN it never takes the lease', async () => {
    const port = createMemorySwarmPort();
    const a = createLeaseElector(port, 'ctl-a', TTL);
    const b = createLeaseElector(port, 'ctl-b', TTL);
    for (let t = T; t <= T + 4 * TTL; t += TTL / 3) {
      expect(await a.tryAcquire(t)).toBe(true);
      expect(await b.tryAcquire(t + 1)).toBe(false);
    }
    expect(b.lastHolder).toBe('ctl-a');
    expect((await readLease(port))?.holder).toBe('ctl-a');
  });

  it.each([
    ['one TTL minus 1 ms', TTL - 1, false, 'ctl-a'],
    ['one whole TTL', TTL, true, 'ctl-b'],
  ])(
    'GIVEN a holder that stopped renewing WHEN a candidate has seen the same version for %s by its own clock THEN takeover is %s',
    async (_, waited, taken, holder) => {
      const port = createMemorySwarmPort();
      const a = createLeaseElector(port, 'ctl-a', TTL);
      const b = createLeaseElector(port, 'ctl-b', TTL);
      await a.tryAcquire(T);
      // b's clock is far ahead of a's: the renewal time a wrote must not count, only what b saw.
      const bNow = T + 10 * TTL;
      expect(await b.tryAcquire(bNow)).toBe(false);
      expect(await b.tryAcquire(bNow + waited)).toBe(taken);
      expect((await readLease(port))?.holder).toBe(holder);
      if (taken) {
        // The old holder, back, finds it gone and does not take it back on first sight.
        expect(await a.tryAcquire(T + 1)).toBe(false);
        expect(a.lastHolder).toBe('ctl-b');
      }
    },
  );

  it('GIVEN two candidates that both may take an expired lease WHEN they write at once THEN exactly one wins and the other is told it lost', async () => {
    const port = createMemorySwarmPort();
    await createLeaseElector(port, 'gone', TTL).tryAcquire(T);
    const b = createLeaseElector(port, 'ctl-b', TTL);
    const c = createLeaseElector(port, 'ctl-c', TTL);
    await Promise.all([b.tryAcquire(T), c.tryAcquire(T)]);
    port.clearWriteLog();
    const won = await Promise.all([b.tryAcquire(T + TTL), c.tryAcquire(T + TTL)]);
    expect(won.filter(Boolean)).toHaveLength(1);
    // Both wrote; the engine refused the second with "update out of sequence".
    expect(port.writeLog).toEqual([`updateConfig ${LEASE_NAME}`, `updateConfig ${LEASE_NAME}`]);
    expect((await readLease(port))?.holder).toBe(won[0] ? 'ctl-b' : 'ctl-c');
  });

  it('GIVEN no lease WHEN two candidates create it at once THEN one holds it and the other does not', async () => {
    const port = createMemorySwarmPort();
    const won = await Promise.all([
      createLeaseElector(port, 'ctl-a', TTL).tryAcquire(T),
      createLeaseElector(port, 'ctl-b', TTL).tryAcquire(T),
    ]);
    expect(won.sort()).toEqual([false, true]);
    expect(await port.listConfigs({ names: [LEASE_NAME] })).toHaveLength(1);
  });

  it('GIVEN the engine failing a renewal WHEN the holder campaigns THEN the error reaches the caller and the lease is not given up', async () => {
    const port = createMemorySwarmPort();
    const a = createLeaseElector(port, 'ctl-a', TTL);
    await a.tryAcquire(T);
    port.failNext('updateConfig', { statusCode: 500, message: 'rpc error: code = Unknown desc = raft: leader lost' });
    await expect(a.tryAcquire(T + 1_000)).rejects.toBeInstanceOf(EngineCallError);
    expect((await readLease(port))?.holder).toBe('ctl-a');
    expect(await a.tryAcquire(T + 2_000)).toBe(true);
  });

  it('GIVEN a clean shutdown WHEN the holder releases THEN no live controller remains and the next candidate takes it at once', async () => {
    const port = createMemorySwarmPort();
    const a = createLeaseElector(port, 'ctl-a', TTL);
    await a.tryAcquire(T);
    port.clearWriteLog();
    await releaseLease(port, 'ctl-b'); // not the holder: nothing happens
    expect(port.writes).toBe(0);
    await releaseLease(port, 'ctl-a');
    expect(await readLease(port)).toBeUndefined();
    expect(await createLeaseElector(port, 'ctl-b', TTL).tryAcquire(T + 1)).toBe(true);
  });
});
