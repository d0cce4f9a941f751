// The token bucket under a manual clock: tryTake refuses without spending, reserve queues up.
import { describe, expect, it } from 'vitest';
import { createTokenBucket } from '../../../src/controller/token-bucket.js';
import { ManualClock } from '../../../src/util/clock.js';

describe('createTokenBucket', () => {
  it('tryTake spends the burst, then says how long until the next token, spending nothing', () => {
    const clock = new ManualClock();
    const b = createTokenBucket(clock, 2, 3);
    expect([b.tryTake(), b.tryTake(), b.tryTake()]).toEqual([0, 0, 0]);
    expect(b.tryTake()).toBe(500);
    expect(b.tryTake()).toBe(500); // refusals spend nothing
    clock.advance(250);
    expect(b.tryTake()).toBe(250);
    clock.advance(250);
    expect(b.tryTake()).toBe(0);
    clock.advance(60_000);
    expect([b.tryTake(), b.tryTake(), b.tryTake(), b.tryTake()]).toEqual([0, 0, 0, 500]); // refilled up to the burst only
  });

  it('reserve always takes, and each reservation waits its turn', () => {
    const clock = new ManualClock();
    const b = createTokenBucket(clock, 10, 1);
    expect([b.reserve(), b.reserve(), b.reserve()]).toEqual([0, 100, 200]);
    expect(b.tryTake()).toBe(300);
  });
});
