// The per-member budget of election messages: a burst is allowed, a flood is cut to the rate,
// a quiet peer regains its burst, peers do not share a budget, and the table stays bounded.
import { describe, expect, it } from 'vitest';
import { createMessageBudget } from '../../../../src/agent/election/message-budget.js';
import { ManualClock } from '../../../../src/util/clock.js';

describe('election message budget', () => {
  const setup = () => {
    const clock = new ManualClock(0);
    return { clock, budget: createMessageBudget({ ratePerSecond: 10, burst: 20, clock, maxPeers: 3 }) };
  };
  const takeMany = (budget: ReturnType<typeof setup>['budget'], peer: string, n: number) =>
    Array.from({ length: n }, () => budget.take(peer)).filter(Boolean).length;

  it('GIVEN a quiet peer WHEN it sends a burst THEN up to `burst` pass and the rest are dropped', () => {
    const { budget } = setup();
    expect(takeMany(budget, 'a', 50)).toBe(20);
  });

  it('GIVEN a flooding peer WHEN time passes THEN it gets the rate, no more', () => {
    const { budget, clock } = setup();
    takeMany(budget, 'a', 20);
    clock.advance(1000);
    expect(takeMany(budget, 'a', 100)).toBe(10);
    clock.advance(10_000);
    expect(takeMany(budget, 'a', 100)).toBe(20); // refilled up to the burst, not beyond
  });

  it('GIVEN one peer flooding WHEN another sends THEN the other is not affected', () => {
    const { budget } = setup();
    takeMany(budget, 'a', 100);
    expect(takeMany(budget, 'b', 5)).toBe(5);
  });

  it('keeps at most maxPeers buckets, forgetting the least recently heard', () => {
    const { budget } = setup();
    takeMany(budget, 'a', 20); // a exhausted
    budget.take('b');
    budget.take('c');
    budget.take('d'); // a forgotten
    expect(budget.take('a')).toBe(true); // a fresh bucket
  });
});
