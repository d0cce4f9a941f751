// The backup controller's passes on the in-memory swarm, its time on a ManualClock: the schedule
// is armed, fires at its slot, the job runs in the background (the pass returns at once) and its
// outcome lands in the journal and in the cluster's status conditions; a failure waits for the
// next slot; slots missed while no controller ran give one run and BackupMissed; a controller
// killed mid-job is found by its stopped heartbeat, recorded interrupted, and the next slot runs.
// The runner is a function of the test's: the repository itself is tested in src/backup's suite.
import { describe, expect, it } from 'vitest';
import { createBackupReconciler, type BackupJobReport, type BackupRunner } from '../../../src/reconcilers/backup-reconciler.js';
import { BackupStore, type BackupStepOutcome } from '../../../src/store/backup-store.js';
import type { BackupJobKind } from '../../../src/store/backup-store.js';
import { ManualClock } from '../../../src/util/clock.js';
import { silentLogger } from '../../../src/util/log.js';
import { memoryCluster, type MemoryCluster } from '../../support/memory-cluster.js';
import { backupNotifications } from '../../../src/controller/backups.js';
import { slackMessage } from '../../../src/controller/notify/slack-message.js';

const DEV = 'stacks/examples/dev.yaml';
const at = (iso: string) => Date.parse(iso);
const HOUR = 3_600_000;

async function cluster(drill = false): Promise<MemoryCluster> {
  const c = await memoryCluster(DEV);
  await c.apply((x) => {
    x.spec.secrets = { ...(x.spec.secrets ?? {}), backup_key: { external: 'bkc-backup-key' } };
    x.spec.backups = {
      repository: '/tmp/bkc-repo',
      identitySecret: 'backup_key',
      schedule: '0 3 * * *',
      ...(drill ? { drill: { schedule: '0 5 * * 0' } } : {}),
    };
  });
  return c;
}

/** A runner whose outcome the test sets; `hang` makes the next job never end (its controller dies with it). */
function runner(clock: ManualClock) {
  const calls: Array<{ kind: BackupJobKind; reason: string; at: number }> = [];
  let outcome: (kind: BackupJobKind) => BackupStepOutcome[] = (kind) => [
    { kind, ok: true, started: clock.now(), finished: clock.now() + 1000, snapshot: 'a1b2c3', bytes: 4096, addedBytes: 1024 },
  ];
  let hang = false;
  const r: BackupRunner = {
    async run({ kind, reason }) {
      calls.push({ kind, reason, at: clock.now() });
      if (hang) return new Promise(() => {});
      return outcome(kind);
    },
  };
  return {
    r,
    calls,
    set(f: typeof outcome) {
      outcome = f;
    },
    hangNext() {
      hang = true;
    },
  };
}

function controller(c: MemoryCluster, clock: ManualClock, run: BackupRunner, holder = 'node1/1') {
  const reports: BackupJobReport[] = [];
  const rec = createBackupReconciler({
    store: c.store,
    backups: new BackupStore(c.port, c.store),
    runner: run,
    clock,
    holder,
    log: silentLogger(),
    staleMs: 60_000,
    onJob: (r) => reports.push(r),
  });
  return { rec, reports, pass: () => rec.reconcile(c.name, new AbortController().signal) };
}

async function conditions(c: MemoryCluster): Promise<Record<string, string>> {
  await c.pass();
  const s = (await c.store.get(c.name))?.status;
  return Object.fromEntries(
    (s?.conditions ?? []).filter((x) => x.type.startsWith('Backup')).map((x) => [x.type, `${x.status} ${x.reason}`]),
  );
}

describe('backup reconciler on a ManualClock', () => {
  it('GIVEN a daily schedule THEN nothing runs before 03:00, one job runs at it, and the result is in the journal and status', async () => {
    const c = await cluster();
    const clock = new ManualClock(at('2026-03-28T12:00:00Z'));
    const job = runner(clock);
    const k = controller(c, clock, job.r);
    const store = new BackupStore(c.port, c.store);

    expect(await k.pass()).toMatchObject({ requeueAfterMs: 1 }); // armed
    const wait = await k.pass();
    expect(wait.requeueAfterMs).toBe(5 * 60_000); // capped; the slot is 15 h away
    clock.advance(15 * HOUR - 1000); // 02:59:59
    expect((await k.pass()).requeueAfterMs).toBe(1000);
    expect(job.calls).toEqual([]);

    clock.advance(1000); // 03:00:00
    await k.pass();
    expect((await store.get(c.name))?.running).toMatchObject({ kind: 'backup', holder: 'node1/1', slot: '2026-03-29T03:00:00.000Z' });
    await k.rec.idle();
    expect(job.calls).toEqual([{ kind: 'backup', reason: 'schedule', at: at('2026-03-29T03:00:00Z') }]);
    const s = await store.get(c.name);
    expect(s?.running).toBeUndefined();
    expect(s?.last.backup).toMatchObject({ ok: true, snapshot: 'a1b2c3', bytes: 4096, durationMs: 1000 });
    expect(k.reports).toHaveLength(1);

    // The same slot never runs twice, however often the cluster is reconciled.
    await k.pass();
    await k.pass();
    expect(job.calls).toHaveLength(1);
    expect(await conditions(c)).toEqual({
      BackupFailed: 'False Succeeded',
      BackupVerifyFailed: 'False NotRunYet',
      BackupDrillFailed: 'False NotRunYet',
      BackupMissed: 'False OnSchedule',
    });
    expect((await c.store.get(c.name))?.status?.backups).toMatchObject({ lastSnapshot: { id: 'a1b2c3', bytes: 4096 } });
  });

  it('GIVEN a failing backup THEN BackupFailed with its reason, no retry before the next slot, cleared by the next success', async () => {
    const c = await cluster();
    const clock = new ManualClock(at('2026-03-28T12:00:00Z'));
    const job = runner(clock);
    const k = controller(c, clock, job.r);
    await k.pass();
    job.set((kind) => [
      { kind, ok: false, started: clock.now(), finished: clock.now(), error: 'spec.backups.repository: /tmp/bkc-repo is not writable' },
    ]);
    clock.advance(15 * HOUR);
    await k.pass();
    await k.rec.idle();
    expect(await conditions(c)).toMatchObject({ BackupFailed: 'True BackupFailed' });
    expect((await c.store.get(c.name))?.status?.conditions.find((x) => x.type === 'BackupFailed')?.message).toMatch(/is not writable/);
    const note = backupNotifications(k.reports[0], new Date(clock.now()));
    expect(slackMessage(note[0]).text).toMatch(/backup failed/);

    clock.advance(HOUR);
    await k.pass();
    await k.pass();
    expect(job.calls).toHaveLength(1);

    job.set((kind) => [{ kind, ok: true, started: clock.now(), finished: clock.now() }]);
    clock.advance(23 * HOUR);
    await k.pass();
    await k.rec.idle();
    expect(job.calls).toHaveLength(2);
    expect(await conditions(c)).toMatchObject({ BackupFailed: 'False Succeeded' });
  });

  it('GIVEN no controller for three days THEN one run for the last slot, BackupMissed, and a Slack notice', async () => {
    const c = await cluster();
    const clock = new ManualClock(at('2026-03-28T12:00:00Z'));
    const job = runner(clock);
    const k = controller(c, clock, job.r);
    await k.pass();
    clock.advance(3 * 24 * HOUR); // 2026-03-31T12:00
    await k.pass();
    await k.rec.idle();
    expect(job.calls).toEqual([{ kind: 'backup', reason: 'schedule (missed)', at: at('2026-03-31T12:00:00Z') }]);
    expect(k.reports[0].missed).toBe(3);
    expect(await conditions(c)).toMatchObject({ BackupMissed: 'True SlotsMissed' });
    expect(backupNotifications(k.reports[0], new Date()).map((n) => n.event)).toEqual(['backup-missed']);
    // On time the next day: no longer missed.
    clock.advance(15 * HOUR);
    await k.pass();
    await k.rec.idle();
    expect(await conditions(c)).toMatchObject({ BackupMissed: 'False OnSchedule' });
  });

  it('GIVEN a controller killed mid-backup THEN another finds its heartbeat stopped, records it interrupted, and runs the next slot', async () => {
    const c = await cluster();
    const clockA = new ManualClock(at('2026-03-29T02:00:00Z'));
    const jobA = runner(clockA);
    const a = controller(c, clockA, jobA.r, 'node1/1');
    await a.pass();
    clockA.advance(HOUR);
    jobA.hangNext();
    await a.pass(); // starts; the job never ends and A's clock stops with it (killed)
    expect(jobA.calls).toHaveLength(1);

    const clockB = new ManualClock(at('2026-03-29T03:00:30Z'));
    const jobB = runner(clockB);
    const b = controller(c, clockB, jobB.r, 'node2/2');
    const busy = await b.pass();
    expect(busy.requeueAfterMs).toBe(30_000); // A's heartbeat is 30 s old: still alive
    expect(jobB.calls).toEqual([]);

    clockB.advance(2 * 60_000);
    await b.pass(); // heartbeat 150 s old: interrupted
    expect(b.reports[0]).toMatchObject({ interrupted: true, kind: 'backup' });
    expect(await conditions(c)).toMatchObject({ BackupFailed: 'True Interrupted' });
    await b.pass();
    expect(jobB.calls).toEqual([]); // the interrupted slot is not run again

    clockB.advance(24 * HOUR);
    await b.pass();
    await b.rec.idle();
    expect(jobB.calls).toHaveLength(1);
    expect(await conditions(c)).toMatchObject({ BackupFailed: 'False Succeeded' });
  });

  it('GIVEN a drill schedule THEN the Sunday drill runs after the daily backup, a failed drill is BackupDrillFailed', async () => {
    const c = await cluster(true);
    const clock = new ManualClock(at('2026-03-28T12:00:00Z'));
    const job = runner(clock);
    const k = controller(c, clock, job.r);
    await k.pass();
    job.set((kind) =>
      kind === 'drill'
        ? [
            {
              kind,
              ok: false,
              started: clock.now(),
              finished: clock.now(),
              error: 'table messages: 90 rows restored of 100',
              problems: ['table messages: 90 rows restored of 100'],
            },
          ]
        : [{ kind, ok: true, started: clock.now(), finished: clock.now() }],
    );
    clock.advance(15 * HOUR); // Sunday 03:00
    await k.pass();
    await k.rec.idle();
    clock.advance(2 * HOUR); // Sunday 05:00
    await k.pass();
    await k.rec.idle();
    expect(job.calls.map((x) => x.kind)).toEqual(['backup', 'drill']);
    expect(await conditions(c)).toMatchObject({ BackupDrillFailed: 'True DrillFailed', BackupFailed: 'False Succeeded' });
    expect(backupNotifications(k.reports[1], new Date()).map((n) => n.event)).toEqual(['drill-failed']);
  });
});
