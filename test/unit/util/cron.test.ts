// Cron slots as a function of time: the next slot in a time zone (daylight-saving days included),
// the slots a stopped controller missed, the jitter a slot gets. node-cron judges every match.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createTask } from 'node-cron';
import { cronProblem, isTimeZone, jitterMs, parseCron, slotsBetween } from '../../../src/util/cron.js';

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

function nextN(expr: string, tz: string, from: string, n: number): (string | undefined)[] {
  const s = parseCron(expr, tz);
  const out: (string | undefined)[] = [];
  let t = at(from);
  for (let i = 0; i < n; i++) {
    const x = s.next(t);
    out.push(iso(x));
    if (x === undefined) break;
    t = x;
  }
  return out;
}

describe('parseCron().next', () => {
  it.each([
    ['0 3 * * *', 'UTC', '2026-03-28T12:00:00Z', ['2026-03-29T03:00:00.000Z', '2026-03-30T03:00:00.000Z']],
    // Berlin: CET (+1) before 29 March 2026, CEST (+2) after.
    ['0 3 * * *', 'Europe/Berlin', '2026-03-28T12:00:00Z', ['2026-03-29T01:00:00.000Z', '2026-03-30T01:00:00.000Z']],
    // 02:30 does not exist in Berlin on 29 March: that day has no slot.
    ['30 2 * * *', 'Europe/Berlin', '2026-03-28T12:00:00Z', ['2026-03-30T00:30:00.000Z', '2026-03-31T00:30:00.000Z']],
    // 01:30 happens twice in New York on 1 November 2026: one run, at the first.
    ['30 1 * * *', 'America/New_York', '2026-10-31T12:00:00Z', ['2026-11-01T05:30:00.000Z', '2026-11-02T06:30:00.000Z']],
    ['0 5 * * 0', 'UTC', '2026-03-28T12:00:00Z', ['2026-03-29T05:00:00.000Z', '2026-04-05T05:00:00.000Z']],
    ['0 0 L * *', 'UTC', '2026-02-10T00:00:00Z', ['2026-02-28T00:00:00.000Z', '2026-03-31T00:00:00.000Z']],
    ['0 0 * * 5#2', 'UTC', '2026-03-01T00:00:00Z', ['2026-03-13T00:00:00.000Z', '2026-04-10T00:00:00.000Z']],
    ['*/15 * * * *', 'Asia/Kolkata', '2026-03-28T12:07:00Z', ['2026-03-28T12:15:00.000Z', '2026-03-28T12:30:00.000Z']],
    ['30 * * * * *', 'UTC', '2026-03-28T12:00:30Z', ['2026-03-28T12:01:30.000Z', '2026-03-28T12:02:30.000Z']],
  ])('%s in %s after %s', (expr, tz, from, want) => {
    expect(nextN(expr, tz, from, want.length)).toEqual(want);
  });

  it('a slot exactly at T is not after T', () => {
    expect(iso(parseCron('0 3 * * *').next(at('2026-03-29T03:00:00Z')))).toBe('2026-03-30T03:00:00.000Z');
  });

  it('agrees with node-cron: every slot matches and no instant in between does (random expressions)', () => {
    const field = (max: number) =>
      fc.oneof(fc.constant('*'), fc.integer({ min: 0, max }).map(String), fc.constant(`*/${Math.ceil(max / 4)}`));
    fc.assert(
      fc.property(
        field(59),
        field(23),
        fc.constantFrom('*', '1', '15', 'L'),
        fc.constantFrom('*', '1-5', '0', '3#1'),
        fc.constantFrom('UTC', 'Europe/Berlin', 'America/New_York', 'Australia/Lord_Howe'),
        fc.integer({ min: at('2026-01-01T00:00:00Z'), max: at('2027-01-01T00:00:00Z') }),
        (m, h, dom, dow, tz, from) => {
          const expr = `${m} ${h} ${dom} * ${dow}`;
          const judge = createTask(expr, () => undefined, { timezone: tz });
          void judge.destroy();
          const start = Math.floor(from / 60_000) * 60_000;
          const n = parseCron(expr, tz).next(start);
          if (n === undefined) return;
          expect(judge.match(new Date(n))).toBe(true);
          // Every minute between start and the slot is not a match (bounded walk).
          for (let t = start + 60_000; t < n && t < start + 86_400_000; t += 60_000) expect(judge.match(new Date(t))).toBe(false);
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe('parse errors and zones', () => {
  it.each([
    ['bad', /5 or 6 fields/],
    ['0 25 * * *', /hour|25/],
    ['0 0 30 2 *', /impossible/],
  ])('%s is refused with node-cron’s reason', (expr, why) => {
    expect(cronProblem(expr)).toMatch(why);
    expect(() => parseCron(expr)).toThrow(/cron expression/);
  });

  it('knows IANA zones and refuses others', () => {
    expect(isTimeZone('Europe/Berlin')).toBe(true);
    expect(isTimeZone('Mars/Olympus')).toBe(false);
    expect(() => parseCron('0 3 * * *', 'Mars/Olympus')).toThrow(/time zone "Mars\/Olympus"/);
  });
});

describe('slotsBetween', () => {
  it.each([
    ['0 3 * * *', '2026-03-28T12:00:00Z', '2026-03-28T20:00:00Z', 0, undefined],
    ['0 3 * * *', '2026-03-28T12:00:00Z', '2026-03-29T03:00:00Z', 1, '2026-03-29T03:00:00.000Z'],
    ['0 3 * * *', '2026-03-28T12:00:00Z', '2026-03-31T12:00:00Z', 3, '2026-03-31T03:00:00.000Z'],
    ['0 5 * * 0', '2026-03-01T00:00:00Z', '2026-03-31T00:00:00Z', 5, '2026-03-29T05:00:00.000Z'],
  ])('%s between %s and %s: %d slot(s), last %s', (expr, from, to, count, last) => {
    const r = slotsBetween(parseCron(expr), at(from), at(to));
    expect(r.count).toBe(count);
    expect(iso(r.last)).toBe(last);
  });

  it('stops counting at the limit and still names the last slot before T2', () => {
    const r = slotsBetween(parseCron('* * * * *'), at('2026-03-28T00:00:00Z'), at('2026-03-30T00:00:30Z'), 100);
    expect(r.count).toBe(100);
    expect(iso(r.last)).toBe('2026-03-30T00:00:00.000Z');
  });
});

describe('jitterMs', () => {
  it('is the same for the same slot, within [0, max), and differs between slots and clusters', () => {
    const a = jitterMs('prod/backup', 1000, 300_000);
    expect(jitterMs('prod/backup', 1000, 300_000)).toBe(a);
    expect(a).toBeGreaterThanOrEqual(0);
    expect(a).toBeLessThan(300_000);
    const spread = new Set([1, 2, 3, 4, 5, 6, 7, 8].map((s) => jitterMs('prod/backup', s, 300_000)));
    expect(spread.size).toBeGreaterThan(6);
    expect(jitterMs('other/backup', 1000, 300_000)).not.toBe(a);
    expect(jitterMs('prod/backup', 1000, 0)).toBe(0);
  });
});
