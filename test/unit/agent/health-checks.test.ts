import { describe, expect, it } from 'vitest';
import { diskCheck, electionCheck, memoryCheck, peersCheck, storeCheck } from '../../../src/agent/health/checks.js';
import { createHealthMonitor } from '../../../src/agent/health/monitor.js';
import { createAgentMetrics } from '../../../src/agent/metrics.js';
import { silentLogger } from '../../../src/util/log.js';
import { tmpdir } from 'node:os';

describe('health checks', () => {
  it('peers: none connected fails, some warns, all passes; a single-agent cluster passes', async () => {
    expect(await peersCheck({ connected: () => 0, expected: 4 }).run()).toMatchObject({ status: 'fail', score: 0 });
    expect(await peersCheck({ connected: () => 2, expected: 4 }).run()).toMatchObject({
      status: 'warn',
      score: 0.5,
      message: '2 of 4 other agents connected',
    });
    expect(await peersCheck({ connected: () => 4, expected: 4 }).run()).toMatchObject({ status: 'pass', score: 1 });
    expect(await peersCheck({ connected: () => 0, expected: 0 }).run()).toMatchObject({ status: 'pass' });
  });

  it('election: no admin fails, candidate warns, known admin passes', async () => {
    expect(await electionCheck({ status: () => ({ admin: null, state: 'follower', term: 3 }) }).run()).toMatchObject({ status: 'fail' });
    expect(await electionCheck({ status: () => ({ admin: null, state: 'candidate', term: 3 }) }).run()).toMatchObject({ status: 'warn' });
    expect(await electionCheck({ status: () => ({ admin: 'peerA', state: 'follower', term: 3 }) }).run()).toMatchObject({
      status: 'pass',
      message: 'admin is peerA (term 3)',
    });
  });

  it('store: a corrupted blob not yet fetched again fails; a repaired one passes', async () => {
    const stats = () => ({ blobs: 3, corruptions: 1, quarantined: 1 });
    expect(await storeCheck({ stats, repairs: () => ({ repaired: 0, pending: 0, unrepaired: 1 }) }).run()).toMatchObject({
      status: 'fail',
    });
    expect(await storeCheck({ stats, repairs: () => ({ repaired: 0, pending: 1, unrepaired: 0 }) }).run()).toMatchObject({
      status: 'warn',
    });
    expect(await storeCheck({ stats, repairs: () => ({ repaired: 1, pending: 0, unrepaired: 0 }) }).run()).toMatchObject({
      status: 'pass',
      message: expect.stringMatching(/repaired/),
    });
  });

  it('disk and memory read this machine', async () => {
    const disk = (await diskCheck({ dir: tmpdir() }).run()).details;
    expect(disk).toMatchObject({ freeBytes: expect.any(Number), totalBytes: expect.any(Number) });
    // The health port is unauthenticated: no paths in what it shows.
    expect(JSON.stringify(disk)).not.toContain(tmpdir());
    expect(await memoryCheck({ read: async () => ({ usageBytes: 95, limitBytes: 100 }) }).run()).toMatchObject({ status: 'fail' });
    expect(await memoryCheck({ read: async () => ({ usageBytes: 80, limitBytes: 100 }) }).run()).toMatchObject({ status: 'warn' });
    expect(await memoryCheck({ read: async () => ({ usageBytes: 10, limitBytes: 100 }) }).run()).toMatchObject({ status: 'pass' });
  });
});

describe('health monitor', () => {
  it('combines checks into a weighted score, sets the gauges, and a failing critical check makes it unhealthy', async () => {
    const metrics = createAgentMetrics();
    let unrepaired = 0;
    const monitor = createHealthMonitor(
      { metrics, log: silentLogger(), now: () => Date.now() },
      {
        cacheMs: 0,
        checks: [
          peersCheck({ connected: () => 2, expected: 4 }), // weight 2, score 0.5
          storeCheck({
            stats: () => ({ blobs: 1, corruptions: unrepaired, quarantined: unrepaired }),
            repairs: () => ({ repaired: 0, pending: 0, unrepaired }),
          }), // weight 2
        ],
      },
    );
    const ok = await monitor.report();
    expect(ok).toMatchObject({ status: 'degraded', score: 0.75 });
    unrepaired = 1;
    const bad = await monitor.report();
    expect(bad.status).toBe('unhealthy');
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/bzzz_system_health_score 0\.35/);
    expect(text).toMatch(/bzzz_component_health_score\{component="store"\} 0\.2/);
  });
});
