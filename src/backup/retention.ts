// Retention in the style of restic's `forget --keep-*`: newest first, keep-last keeps the newest
// n; keep-daily keeps the newest snapshot of each of the n most recent days that have one (likewise
// ISO weeks and months, in UTC). A snapshot is kept if any rule keeps it. A policy with no rule
// keeps everything (forgetting all is never a default). Snapshots dated after `now` (a clock
// ahead of ours) are always kept and count against no rule.
import type { RetentionPolicy, SnapshotSummary } from './types.js';

function dayKey(d: Date): string {
  return d.toISOString().slice(0, 10);
}

function monthKey(d: Date): string {
  return d.toISOString().slice(0, 7);
}

/** ISO 8601 week: `YYYY-Www` of the week's Thursday. */
export function isoWeekKey(d: Date): string {
  const t = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
  const dow = t.getUTCDay() || 7;
  t.setUTCDate(t.getUTCDate() + 4 - dow);
  const yearStart = Date.UTC(t.getUTCFullYear(), 0, 1);
  const week = Math.ceil(((t.getTime() - yearStart) / 86_400_000 + 1) / 7);
  return `${t.getUTCFullYear()}-W${String(week).padStart(2, '0')}`;
}

export function applyRetention(
  snapshots: SnapshotSummary[],
  policy: RetentionPolicy,
  now: Date,
): { keep: SnapshotSummary[]; remove: SnapshotSummary[] } {
  const rules: [number, (d: Date) => string][] = [
    [policy.keepLast ?? 0, () => ''],
    [policy.keepDaily ?? 0, dayKey],
    [policy.keepWeekly ?? 0, isoWeekKey],
    [policy.keepMonthly ?? 0, monthKey],
  ];
  for (const [n] of rules) if (!Number.isInteger(n) || n < 0) throw new RangeError('retention counts must be non-negative integers');
  const oldestFirst = [...snapshots].sort((a, b) => a.time.localeCompare(b.time) || a.id.localeCompare(b.id));
  if (rules.every(([n]) => n === 0)) return { keep: oldestFirst, remove: [] };
  const kept = new Set<string>();
  // Snapshots from a clock ahead of ours are kept and do not count against any rule.
  const future = (s: SnapshotSummary) => Date.parse(s.time) > now.getTime();
  for (const s of oldestFirst) if (future(s)) kept.add(s.id);
  const newestFirst = oldestFirst.filter((s) => !future(s)).reverse();
  rules.forEach(([n, key], ruleIndex) => {
    if (n === 0) return;
    const seen = new Set<string>();
    for (const s of newestFirst) {
      if (seen.size >= n) break;
      // keep-last: every snapshot is its own bucket.
      const k = ruleIndex === 0 ? s.id : key(new Date(s.time));
      if (seen.has(k)) continue;
      seen.add(k);
      kept.add(s.id);
    }
  });
  return { keep: oldestFirst.filter((s) => kept.has(s.id)), remove: oldestFirst.filter((s) => !kept.has(s.id)) };
}
