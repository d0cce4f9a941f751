// Cron schedules as pure functions of time: "the next slot after T in zone Z" and "the slots
// between T1 and T2", so the backup controller decides from a Clock (ManualClock in tests) and
// never from node-cron's own timers. node-cron parses the expression and is the single judge of
// whether an instant matches (its day-of-month/day-of-week tokens: L, LW, 5#2, 5L…); this file
// only walks the candidate instants in order, one local day at a time.
import { createHash } from 'node:crypto';
import { createTask, parse, type ParsedFields } from 'node-cron';
import { InvalidInputError } from './errors.js';

/** How far ahead a slot is looked for before the expression is called one that never fires (e.g. Feb 30 on a Monday). */
const HORIZON_DAYS = 366 * 8;
const DAY_MS = 86_400_000;
/** Wall-clock seconds before the start instant's still looked at (larger than any offset change). */
const WALL_MARGIN_S = 3 * 3600;

export interface CronSchedule {
  readonly expression: string;
  readonly timeZone: string;
  /** The first slot strictly after `after` (epoch ms), or undefined when there is none within 8 years. */
  next(after: number): number | undefined;
}

/** Whether `tz` is a time zone this Node knows (IANA name or UTC). */
export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** Why `expression` is not a cron expression node-cron runs, or undefined when it is. */
export function cronProblem(expression: string): string | undefined {
  try {
    parse(expression);
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

interface LocalTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function localParts(ms: number, tz: string): LocalTime {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(tz, f);
  }
  const p: Record<string, number> = {};
  for (const x of f.formatToParts(new Date(ms))) if (x.type !== 'literal') p[x.type] = Number(x.value);
  return { year: p.year, month: p.month, day: p.day, hour: p.hour === 24 ? 0 : p.hour, minute: p.minute, second: p.second };
}

function asUtc(t: LocalTime): number {
  return Date.UTC(t.year, t.month - 1, t.day, t.hour, t.minute, t.second);
}

/**
 * The instant a local wall time names in `tz`, or undefined when that wall time does not exist
 * there (skipped by a daylight-saving change). A wall time that happens twice gives the earlier.
 */
function instantOf(t: LocalTime, tz: string): number | undefined {
  const wall = asUtc(t);
  // The offset at an instant near the wall time, then at the corrected instant: two rounds settle
  // every real zone; trying the earlier of both offsets picks the first of a repeated hour.
  const off1 = asUtc(localParts(wall, tz)) - wall;
  const off2 = asUtc(localParts(wall - off1, tz)) - (wall - off1);
  for (const off of [Math.max(off1, off2), Math.min(off1, off2)]) {
    const at = wall - off;
    if (asUtc(localParts(at, tz)) === wall) return at;
  }
  return undefined;
}

function sortedNumbers(xs: readonly (number | string)[]): number[] {
  return xs.filter((x): x is number => typeof x === 'number').sort((a, b) => a - b);
}

/** Parses `expression` for `timeZone`; throws InvalidInputError naming what is wrong. */
export function parseCron(expression: string, timeZone = 'UTC'): CronSchedule {
  const problem = cronProblem(expression);
  if (problem) throw new InvalidInputError(`cron expression ${JSON.stringify(expression)}: ${problem}`);
  if (!isTimeZone(timeZone))
    throw new InvalidInputError(`time zone ${JSON.stringify(timeZone)} is not known: use an IANA name such as UTC or Europe/Berlin`);
  const fields: ParsedFields = parse(expression);
  // The task is only node-cron's matcher: created stopped and destroyed at once (no timer runs).
  const task = createTask(expression, () => undefined, { timezone: timeZone });
  void task.destroy();
  const seconds = sortedNumbers(fields.second);
  const minutes = sortedNumbers(fields.minute);
  const hours = sortedNumbers(fields.hour);
  const months = new Set(sortedNumbers(fields.month));
  return {
    expression,
    timeZone,
    next(after: number): number | undefined {
      const start = localParts(after, timeZone);
      for (let i = 0; i < HORIZON_DAYS; i++) {
        const d = new Date(Date.UTC(start.year, start.month - 1, start.day) + i * DAY_MS);
        const day = { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() };
        if (!months.has(day.month)) continue;
        // On the first day, wall times well before `after` cannot come after it (offsets move by
        // at most a few hours), so they are not even turned into instants.
        const floor = i === 0 ? start.hour * 3600 + start.minute * 60 + start.second - WALL_MARGIN_S : -1;
        const found = firstOnDay(day, after, floor, steadyOffset(day));
        if (found === 'no-day') continue;
        if (found !== undefined) return found;
      }
      return undefined;
    },
  };

  /** The first matching instant after `after` on a local day; 'no-day' when the day itself does not match. */
  /**
   * The zone's offset over the whole local day when it does not change that day (most days: two
   * formatter calls instead of several per candidate), else undefined.
   */
  function steadyOffset(day: { year: number; month: number; day: number }): number | undefined {
    const wall = Date.UTC(day.year, day.month - 1, day.day);
    const a = wall - 14 * 3600_000;
    const b = wall + 38 * 3600_000;
    const offA = asUtc(localParts(a, timeZone)) - a;
    return offA === asUtc(localParts(b, timeZone)) - b ? offA : undefined;
  }

  function firstOnDay(
    day: { year: number; month: number; day: number },
    after: number,
    floorS: number,
    offset: number | undefined,
  ): number | undefined | 'no-day' {
    for (const hour of hours) {
      if (hour * 3600 + 3599 < floorS) continue;
      for (const minute of minutes) {
        if (hour * 3600 + minute * 60 + 59 < floorS) continue;
        for (const second of seconds) {
          if (hour * 3600 + minute * 60 + second < floorS) continue;
          const wall = { ...day, hour, minute, second };
          const at = offset === undefined ? instantOf(wall, timeZone) : asUtc(wall) - offset;
          if (at === undefined || at <= after) continue;
          // Hour, minute and second are the expression's own, so a refusal here is the day's
          // (day of month, day of week): no later time on it matches either.
          return task.match(new Date(at)) ? at : 'no-day';
        }
      }
    }
    return undefined;
  }
}

/**
 * The slots in (from, to]: how many (counting stops at `limit`) and the last one. A controller
 * down over several slots runs once for the last of them, and reports how many it missed.
 */
export function slotsBetween(s: CronSchedule, from: number, to: number, limit = 1000): { count: number; last?: number } {
  let count = 0;
  let last: number | undefined;
  let t = from;
  for (;;) {
    const n = s.next(t);
    if (n === undefined || n > to) break;
    last = n;
    t = n;
    if (++count >= limit) {
      // Enough counted: the last slot is still the one just before `to`.
      const before = lastSlotBefore(s, to, n);
      return { count, last: before ?? last };
    }
  }
  return { count, ...(last !== undefined ? { last } : {}) };
}

/** The last slot in (floor, to], found by stepping back a day at a time from `to`. */
function lastSlotBefore(s: CronSchedule, to: number, floor: number): number | undefined {
  for (let back = DAY_MS; to - back >= floor - DAY_MS; back += DAY_MS) {
    let t = Math.max(floor, to - back);
    let last: number | undefined;
    for (let n = s.next(t); n !== undefined && n <= to; n = s.next(t)) {
      last = n;
      t = n;
    }
    if (last !== undefined) return last;
  }
  return undefined;
}

/**
 * The delay a slot's run starts after the slot, in [0, maxMs): derived from the key (cluster and
 * job) and the slot, so every controller and every restart picks the same instant.
 */
export function jitterMs(key: string, slot: number, maxMs: number): number {
  if (maxMs <= 0) return 0;
  const h = createHash('sha256').update(`${key}\0${slot}`).digest();
  return h.readUInt32BE(0) % Math.floor(maxMs);
}
