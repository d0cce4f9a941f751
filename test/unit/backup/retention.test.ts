import { describe, expect, it } from 'vitest';
import { applyRetention, isoWeekKey } from '../../../src/backup/retention.js';
import type { RetentionPolicy, SnapshotSummary } from '../../../src/backup/types.js';

function snap(time: string): SnapshotSummary {
  return { id: time, cluster: 'c', time, reason: 'schedule', parts: ['files'], files: 1, bytes: 1, addedBytes: 0 };
}

// Two snapshots a day (03:00 and 15:00 UTC) from 2026-01-01 to 2026-03-10.
const series: SnapshotSummary[] = [];
for (let d = Date.UTC(2026, 0, 1); d <= Date.UTC(2026, 2, 10); d += 86_400_000) {
  series.push(snap(new Date(d + 3 * 3_600_000).toISOString()), snap(new Date(d + 15 * 3_600_000).toISOString()));
}
const now = new Date('2026-03-11T00:00:00Z');

const table: { name: string; policy: RetentionPolicy; kept: string[] }[] = [
  {
    name: 'keep-last 3',
    policy: { keepLast: 3 },
    kept: ['2026-03-09T15:00:00.000Z', '2026-03-10T03:00:00.000Z', '2026-03-10T15:00:00.000Z'],
  },
  {
    name: 'keep-daily 3: the newest of each of the last 3 days',
    policy: { keepDaily: 3 },
    kept: ['2026-03-08T15:00:00.000Z', '2026-03-09T15:00:00.000Z', '2026-03-10T15:00:00.000Z'],
  },
  {
    name: 'keep-weekly 2: the newest of each of the last 2 ISO weeks (Mon 2026-03-09 starts W11)',
    policy: { keepWeekly: 2 },
    kept: ['2026-03-08T15:00:00.000Z', '2026-03-10T15:00:00.000Z'],
  },
  {
    name: 'keep-monthly 2',
    policy: { keepMonthly: 2 },
    kept: ['2026-02-28T15:00:00.000Z', '2026-03-10T15:00:00.000Z'],
  },
  {
    name: 'rules combine: a snapshot any rule keeps is kept',
    policy: { keepLast: 2, keepDaily: 2, keepMonthly: 3 },
    kept: [
      '2026-01-31T15:00:00.000Z',
      '2026-02-28T15:00:00.000Z',
      '2026-03-09T15:00:00.000Z',
      '2026-03-10T03:00:00.000Z',
      '2026-03-10T15:00:00.000Z',
    ],
  },
  { name: 'more than there are keeps all', policy: { keepLast: 1000 }, kept: series.map((s) => s.time) },
  { name: 'an empty policy keeps everything', policy: {}, kept: series.map((s) => s.time) },
];

describe('applyRetention', () => {
  for (const row of table) {
    it(row.name, () => {
      const { keep, remove } = applyRetention([...series].reverse(), row.policy, now);
      expect(keep.map((s) => s.time)).toEqual(row.kept);
      expect(keep.length + remove.length).toBe(series.length);
      // Oldest first, both lists.
      expect(remove.map((s) => s.time)).toEqual([...remove.map((s) => s.time)].sort());
    });
  }

  it('keeps snapshots dated after now whatever the policy', () => {
    const future = snap('2026-04-01T00:00:00.000Z');
    const { keep } = applyRetention([...series, future], { keepLast: 1 }, now);
    expect(keep.map((s) => s.time)).toEqual(['2026-03-10T15:00:00.000Z', future.time].sort());
  });

  it('refuses negative or fractional counts', () => {
    expect(() => applyRetention(series, { keepLast: -1 }, now)).toThrow(/non-negative/);
    expect(() => applyRetention(series, { keepDaily: 1.5 }, now)).toThrow(/non-negative/);
  });

  it('numbers ISO weeks across a year end', () => {
    expect(isoWeekKey(new Date('2026-01-01T12:00:00Z'))).toBe('2026-W01');
    expect(isoWeekKey(new Date('2027-01-01T12:00:00Z'))).toBe('2026-W53');
    expect(isoWeekKey(new Date('2025-12-29T12:00:00Z'))).toBe('2026-W01');
  });
});
