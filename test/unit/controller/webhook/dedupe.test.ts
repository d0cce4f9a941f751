// One action per alert firing: copies (retries, the HA peer's) are refused, claims expire and are bounded.
import { describe, expect, it } from 'vitest';
import { alertKey, createAlertDedupe } from '../../../../src/controller/webhook/dedupe.js';
import { ManualClock } from '../../../../src/util/clock.js';

const parts = {
  cluster: 'dev',
  groupKey: '{}:{alertname="BzzzErrorRate"}',
  fingerprint: 'abcdef0123456789',
  startsAt: '2026-11-30T10:00:00Z',
};

describe('alertKey', () => {
  it('is the same for the same instant however it is written', () => {
    expect(alertKey(parts)).toBe(alertKey({ ...parts, startsAt: '2026-11-30T10:00:00.000000000Z' }));
    expect(alertKey(parts)).toBe(alertKey({ ...parts, startsAt: '2026-11-30T11:00:00+01:00' }));
  });
  it('differs in cluster, group key, fingerprint and startsAt', () => {
    const base = alertKey(parts);
    for (const change of [
      { cluster: 'prod' },
      { groupKey: 'other' },
      { fingerprint: '0000000000000001' },
      { startsAt: '2026-11-30T10:00:01Z' },
    ]) {
      expect(alertKey({ ...parts, ...change })).not.toBe(base);
    }
  });
  it('has a fixed size whatever the group key', () => {
    expect(alertKey({ ...parts, groupKey: 'g'.repeat(2000) })).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('createAlertDedupe', () => {
  it('claims a key once', () => {
    const d = createAlertDedupe(new ManualClock());
    expect(d.claim('a')).toBe(true);
    expect(d.claim('a')).toBe(false);
    expect(d.claim('b')).toBe(true);
  });

  it('lets a released key be claimed again (its action failed)', () => {
    const d = createAlertDedupe(new ManualClock());
    d.claim('a');
    d.release('a');
    expect(d.claim('a')).toBe(true);
  });

  it('forgets a claim after its lifetime', () => {
    const clock = new ManualClock();
    const d = createAlertDedupe(clock, { ttlMs: 1000 });
    d.claim('a');
    clock.advance(999);
    expect(d.claim('a')).toBe(false);
    clock.advance(1);
    d.claim('z'); // expiry runs on claims
    expect(d.size).toBe(1);
    expect(d.claim('a')).toBe(true);
  });

  it('keeps at most maxEntries, dropping the oldest', () => {
    const d = createAlertDedupe(new ManualClock(), { maxEntries: 3 });
    for (const k of ['a', 'b', 'c', 'd']) d.claim(k);
    expect(d.size).toBe(3);
    expect(d.claim('a')).toBe(true); // dropped, so new again
    expect(d.claim('d')).toBe(false);
  });
});
