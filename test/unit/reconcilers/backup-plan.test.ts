// The backup controller's decision as a table over the journal and the time: when a job starts,
// waits, is taken for dead, and how slots missed while no controller ran are counted. Then the
// journal's transitions: a started slot is never started twice, a dead runner's late result is
// not written over the record, failures count in a row.
import { describe, expect, it } from 'vitest';
import {
  armed,
  beat,
  decideBackup,
  failedSteps,
  finished,
  interrupted,
  started,
  type BackupPlanInput,
} from '../../../src/reconcilers/backup-plan.js';
import type { BackupState } from '../../../src/store/backup-store.js';
import { parseCron } from '../../../src/util/cron.js';
import { ManualClock } from '../../../src/util/clock.js';

const at = (iso: string) => Date.parse(iso);
const DAILY = parseCron('0 3 * * *', 'UTC');
const SUNDAYS = parseCron('0 5 * * 0', 'UTC');

function input(now: string, state: BackupState | undefined, over: Partial<BackupPlanInput> = {}): BackupPlanInput {
  return {
    now: at(now),
    state,
    schedules: { backup: DAILY },
    cluster: 'lab',
    jitterMaxMs: 0,
    runningHere: false,
    staleMs: 60_000,
    lateMs: 15 * 60_000,
    ...over,
  };
}

const handled = (backup: string, drill?: string): BackupState => ({ handled: { backup, ...(drill ? { drill } : {}) }, last: {} });

describe('decideBackup', () => {
  it.each<[string, string, BackupState | undefined, Partial<BackupPlanInput>, Record<string, unknown>]>([
    ['first sight: arms from now, runs nothing yet', '2026-03-28T12:00:00Z', undefined, {}, { action: 'arm', kinds: ['backup'] }],
    [
      'armed, before the slot: waits for it',
      '2026-03-28T12:00:00Z',
      handled('2026-03-28T11:00:00Z'),
      {},
      { action: 'wait', until: at('2026-03-29T03:00:00Z') },
    ],
    [
      'the slot is due: starts it, none missed',
      '2026-03-29T03:00:05Z',
      handled('2026-03-28T11:00:00Z'),
      {},
      { action: 'start', kind: 'backup', slot: at('2026-03-29T03:00:00Z'), missed: 0 },
    ],
    [
      'down over the slot, back 2 h later: runs once, missed 1',
      '2026-03-29T05:00:00Z',
      handled('2026-03-28T11:00:00Z'),
      {},
      { action: 'start', slot: at('2026-03-29T03:00:00Z'), missed: 1 },
    ],
    [
      'down three days: runs once for the last slot, missed 3',
      '2026-03-31T06:00:00Z',
      handled('2026-03-28T11:00:00Z'),
      {},
      { action: 'start', slot: at('2026-03-31T03:00:00Z'), missed: 3 },
    ],
    [
      'down over two slots, back just in time for the third: missed 2',
      '2026-03-31T03:01:00Z',
      handled('2026-03-28T11:00:00Z'),
      {},
      { action: 'start', slot: at('2026-03-31T03:00:00Z'), missed: 2 },
    ],
    [
      'the slot handled (run or failed): waits for the next, no retry',
      '2026-03-29T04:00:00Z',
      handled('2026-03-29T03:00:00Z'),
      {},
      { action: 'wait', until: at('2026-03-30T03:00:00Z') },
    ],
    [
      'drill due on Sunday, backup not: starts the drill',
      '2026-03-29T05:00:01Z',
      handled('2026-03-29T03:00:00Z', '2026-03-28T00:00:00Z'),
      { schedules: { backup: DAILY, drill: SUNDAYS } },
      { action: 'start', kind: 'drill', slot: at('2026-03-29T05:00:00Z') },
    ],
    [
      'a drill schedule added later: armed on its own',
      '2026-03-29T04:00:00Z',
      handled('2026-03-29T03:00:00Z'),
      { schedules: { backup: DAILY, drill: SUNDAYS } },
      { action: 'arm', kinds: ['drill'] },
    ],
    [
      'both waiting: wakes for the earlier',
      '2026-03-29T04:00:00Z',
      handled('2026-03-29T03:00:00Z', '2026-03-28T00:00:00Z'),
      { schedules: { backup: DAILY, drill: SUNDAYS } },
      { action: 'wait', until: at('2026-03-29T05:00:00Z') },
    ],
  ])('%s', (_name, now, state, over, want) => {
    expect(decideBackup(input(now, state, over))).toMatchObject(want);
  });

  it('a changed schedule is armed again from now: daily → hourly is not a run of missed slots', () => {
    const hourly = parseCron('0 * * * *', 'UTC');
    const s: BackupState = { ...handled('2026-03-29T03:00:00Z'), armedFor: { backup: 'UTC 0 3 * * *' } };
    expect(decideBackup(input('2026-03-29T12:30:00Z', s))).toMatchObject({ action: 'wait' });
    expect(decideBackup(input('2026-03-29T12:30:00Z', s, { schedules: { backup: hourly } }))).toMatchObject({
      action: 'arm',
      kinds: ['backup'],
    });
    const rearmed = armed(s, { backup: hourly }, ['backup'], at('2026-03-29T12:30:00Z'));
    expect(rearmed.armedFor).toEqual({ backup: 'UTC 0 * * * *' });
    expect(decideBackup(input('2026-03-29T13:00:00Z', rearmed, { schedules: { backup: hourly } }))).toMatchObject({
      action: 'start',
      missed: 0,
    });
  });

  it('a job running here: busy, whatever its heartbeat', () => {
    const s: BackupState = { ...handled('2026-03-29T03:00:00Z'), running: run('me', '2026-03-29T03:00:00Z') };
    expect(decideBackup(input('2026-03-30T03:30:00Z', s, { runningHere: true }))).toMatchObject({ action: 'busy', here: true });
  });

  it('running elsewhere with a live heartbeat: waits, names the holder', () => {
    const s: BackupState = { ...handled('2026-03-29T03:00:00Z'), running: run('node2/77', '2026-03-29T03:00:30Z') };
    const d = decideBackup(input('2026-03-29T03:01:00Z', s));
    expect(d).toMatchObject({ action: 'busy', here: false });
    expect(d.reason).toMatch(/node2\/77 runs the backup/);
  });

  it('running elsewhere with a heartbeat that stopped: interrupted', () => {
    const s: BackupState = { ...handled('2026-03-29T03:00:00Z'), running: run('node2/77', '2026-03-29T03:00:30Z') };
    expect(decideBackup(input('2026-03-29T03:05:00Z', s))).toMatchObject({ action: 'interrupted' });
  });

  it('jitter delays the start within its bound, the same for every controller', () => {
    const state = handled('2026-03-28T11:00:00Z');
    const wait = decideBackup(input('2026-03-28T12:00:00Z', state, { jitterMaxMs: 5 * 60_000 }));
    expect(wait.action).toBe('wait');
    const until = (wait as { until: number }).until;
    expect(until).toBeGreaterThanOrEqual(at('2026-03-29T03:00:00Z'));
    expect(until).toBeLessThan(at('2026-03-29T03:05:00Z'));
    expect(decideBackup(input(new Date(until - 1).toISOString(), state, { jitterMaxMs: 5 * 60_000 })).action).toBe('wait');
    expect(decideBackup(input(new Date(until).toISOString(), state, { jitterMaxMs: 5 * 60_000 }))).toMatchObject({
      action: 'start',
      missed: 0,
    });
  });
});

function run(holder: string, heartbeat: string) {
  return { kind: 'backup' as const, holder, started: '2026-03-29T03:00:00.000Z', heartbeat, slot: '2026-03-29T03:00:00.000Z' };
}

describe('journal transitions', () => {
  const clock = new ManualClock(at('2026-03-29T03:00:00Z'));
  const slot = at('2026-03-29T03:00:00Z');

  it('a slot starts once: a second start (another controller, a replay) writes nothing', () => {
    const s1 = started(armed(undefined, { backup: DAILY }, ['backup'], clock.now() - 3_600_000), {
      kind: 'backup',
      slot,
      missed: 0,
      holder: 'a/1',
      now: clock.now(),
    });
    expect(s1?.running?.holder).toBe('a/1');
    expect(s1?.handled.backup).toBe('2026-03-29T03:00:00.000Z');
    expect(started(s1, { kind: 'backup', slot, missed: 0, holder: 'b/2', now: clock.now() })).toBeUndefined();
    const done = finished(s1, {
      holder: 'a/1',
      kind: 'backup',
      steps: [{ kind: 'backup', ok: true, started: slot, finished: slot + 9000 }],
    });
    expect(started(done, { kind: 'backup', slot, missed: 0, holder: 'b/2', now: clock.now() })).toBeUndefined();
  });

  it('records results, counts failures in a row, and keeps the missed count of the run', () => {
    let s = started(armed(undefined, { backup: DAILY }, ['backup'], 0), { kind: 'backup', slot, missed: 2, holder: 'a/1', now: slot });
    s = beat(s, 'a/1', slot + 20_000);
    expect(s?.running?.heartbeat).toBe('2026-03-29T03:00:20.000Z');
    expect(beat(s, 'someone/else', slot + 30_000)).toBeUndefined();
    s = finished(s, {
      holder: 'a/1',
      kind: 'backup',
      steps: [
        { kind: 'backup', ok: true, started: slot, finished: slot + 7000, snapshot: 'ab12', bytes: 100, addedBytes: 10 },
        {
          kind: 'verify',
          ok: false,
          started: slot + 7000,
          finished: slot + 8000,
          error: 'pack 3f… chunk 9a… hash mismatch',
          problems: ['pack 3f…'],
        },
      ],
    });
    expect(s?.running).toBeUndefined();
    expect(s?.last.backup).toMatchObject({ ok: true, snapshot: 'ab12', durationMs: 7000, slot: '2026-03-29T03:00:00.000Z' });
    expect(s?.last.verify).toMatchObject({ ok: false, error: 'pack 3f… chunk 9a… hash mismatch' });
    expect(s?.missed?.backup).toEqual({ slots: 2, slot: '2026-03-29T03:00:00.000Z' });
    expect(s?.failuresInRow).toEqual({ backup: 0, verify: 1 });
    expect(failedSteps(s)).toEqual(['verify']);
  });

  it('a runner taken for dead is recorded interrupted; its late result is then not written', () => {
    const r = started(armed(undefined, { backup: DAILY }, ['backup'], 0), {
      kind: 'backup',
      slot,
      missed: 0,
      holder: 'a/1',
      now: slot,
    }) as BackupState;
    const after = interrupted(r, r.running as NonNullable<BackupState['running']>, slot + 300_000);
    expect(after?.running).toBeUndefined();
    expect(after?.last.backup?.ok).toBe(false);
    expect(after?.last.backup?.error).toMatch(/^interrupted: a\/1 stopped/);
    const next = started(after, { kind: 'backup', slot: slot + 86_400_000, missed: 0, holder: 'b/2', now: slot + 86_400_000 });
    expect(
      finished(next, { holder: 'a/1', kind: 'backup', steps: [{ kind: 'backup', ok: true, started: slot, finished: slot + 1 }] }),
    ).toBeUndefined();
  });
});
