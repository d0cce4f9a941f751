// Leader election's one decision: may a candidate take the controller lease now?
import { describe, expect, it } from 'vitest';
import { mayTakeLease } from '../../../src/store/lease.js';

const lease = (holder: string, version: number) => ({ holder, version, ttlMs: 15_000 });

describe('mayTakeLease', () => {
  it('takes a lease nobody holds, and renews its own', () => {
    expect(mayTakeLease(lease('', 7), 'me', undefined, 0)).toBe(true);
    expect(mayTakeLease(lease('me', 7), 'me', undefined, 0)).toBe(true);
  });

  it('never takes a lease held by another on first sight, however old its timestamps look', () => {
    expect(mayTakeLease(lease('other', 7), 'me', undefined, 10 ** 12)).toBe(false);
  });

  it('takes it once the same version has been seen unchanged for a whole TTL by its own clock', () => {
    const seen = { version: 7, holder: 'other', seenAt: 1_000 };
    expect(mayTakeLease(lease('other', 7), 'me', seen, 1_000 + 14_999)).toBe(false);
    expect(mayTakeLease(lease('other', 7), 'me', seen, 1_000 + 15_000)).toBe(true);
  });

  it('a renewal (new version) or a new holder starts the wait again', () => {
    const seen = { version: 7, holder: 'other', seenAt: 1_000 };
    expect(mayTakeLease(lease('other', 8), 'me', seen, 100_000)).toBe(false);
    expect(mayTakeLease(lease('third', 7), 'me', seen, 100_000)).toBe(false);
  });
});
