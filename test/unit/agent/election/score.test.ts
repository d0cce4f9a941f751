import { describe, expect, it } from 'vitest';
import { computeScore, electionTimeoutMs, systemScoreProvider, type ScoreInputs } from '../../../../src/agent/election/index.js';

const base: ScoreInputs = { uptimeMs: 0, capabilities: [], freeMemoryRatio: 0, cpuIdleRatio: 0, connectedPeers: 0 };

describe('candidate score', () => {
  it('is 0 for a fresh, idle-less, isolated node without capabilities and 1 for the ideal one', () => {
    expect(computeScore(base, 5)).toBe(0);
    expect(
      computeScore(
        {
          uptimeMs: 7_200_000,
          capabilities: ['admin', 'shamir-share', 'dht-server'],
          freeMemoryRatio: 1,
          cpuIdleRatio: 1,
          connectedPeers: 4,
        },
        5,
      ),
    ).toBe(1);
  });

  it('rises with each input: uptime, capabilities, resources, network quality', () => {
    const s0 = computeScore(base, 5);
    expect(computeScore({ ...base, uptimeMs: 30 * 60_000 }, 5)).toBeGreaterThan(s0);
    expect(computeScore({ ...base, capabilities: ['admin'] }, 5)).toBeGreaterThan(s0);
    expect(computeScore({ ...base, freeMemoryRatio: 0.5 }, 5)).toBeGreaterThan(s0);
    expect(computeScore({ ...base, cpuIdleRatio: 0.5 }, 5)).toBeGreaterThan(s0);
    expect(computeScore({ ...base, connectedPeers: 2 }, 5)).toBeGreaterThan(s0);
    // Network quality is relative to the cluster: 2 of 4 other peers is half of what 4 of 4 is.
    expect(computeScore({ ...base, connectedPeers: 4 }, 5)).toBeCloseTo(2 * computeScore({ ...base, connectedPeers: 2 }, 5), 2);
  });

  it('clamps nonsense inputs into 0..1', () => {
    const s = computeScore({ uptimeMs: -5, capabilities: [], freeMemoryRatio: 7, cpuIdleRatio: Number.NaN, connectedPeers: 99 }, 3);
    expect(s).toBeGreaterThanOrEqual(0);
    expect(s).toBeLessThanOrEqual(1);
  });

  it('system provider reads this machine', () => {
    const p = systemScoreProvider({ startedAt: 1000, now: () => 4000, capabilities: ['admin'], connectedPeers: () => 2 });
    const inputs = p();
    expect(inputs.uptimeMs).toBe(3000);
    expect(inputs.connectedPeers).toBe(2);
    expect(inputs.freeMemoryRatio).toBeGreaterThan(0);
    expect(inputs.freeMemoryRatio).toBeLessThanOrEqual(1);
  });
});

describe('election timeout', () => {
  const t = { heartbeatMs: 5000, timeoutMs: 15000 };
  it('stays in [timeout, 2·timeout) whatever the rank', () => {
    for (const [rank, n] of [
      [0, 1],
      [0, 4],
      [3, 4],
      [9, 4],
      [-1, 0],
    ]) {
      for (const r of [0, 0.5, 0.9999999, 2]) {
        const e = electionTimeoutMs(t, rank, n, r);
        expect(e).toBeGreaterThanOrEqual(15000);
        expect(e).toBeLessThan(30000);
      }
    }
  });

  it('staggers by rank: the best of n always draws before the second best', () => {
    for (const n of [2, 3, 5]) {
      for (let rank = 0; rank < n - 1; rank++) {
        expect(electionTimeoutMs(t, rank, n, 0.9999)).toBeLessThan(electionTimeoutMs(t, rank + 1, n, 0));
      }
    }
    // Two candidates: the better one draws from [1, 1.25)·timeout, the other from [1.25, 1.5).
    expect(electionTimeoutMs(t, 0, 2, 0)).toBe(15000);
    expect(electionTimeoutMs(t, 0, 2, 0.9999)).toBeLessThan(18750);
    expect(electionTimeoutMs(t, 1, 2, 0.9999)).toBeLessThan(22500);
    // Alone (nothing known of others): plain Raft randomness over the whole range.
    expect(electionTimeoutMs(t, 0, 1, 0.5)).toBe(22500);
  });
});
