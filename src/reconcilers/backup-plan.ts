// When the backup controller starts a job, as a pure function of the journal and the time:
// a slot comes due (plus its jitter) → start; a job running here or elsewhere with a live
// heartbeat → wait; one whose heartbeat stopped (its controller died) → record it interrupted;
// slots that passed while no controller ran → one run for the last of them, reported missed.
// A failed run is not retried before the next slot: the slot counts as handled once started.
import type { CronSchedule } from '../util/cron.js';
import { jitterMs, slotsBetween } from '../util/cron.js';
import type {
  BackupJobKind,
  BackupRunning,
  BackupState,
  BackupStepKind,
  BackupStepOutcome,
  BackupStepRecord,
} from '../store/backup-store.js';

/** A running job's heartbeat older than this means its runner died (it beats every third of it). */
export const DEFAULT_STALE_MS = 60_000;

export interface BackupPlanInput {
  now: number;
  state: BackupState | undefined;
  schedules: Partial<Record<BackupJobKind, CronSchedule>>;
  /** Cluster name: the jitter's key, so every controller picks the same instant for a slot. */
  cluster: string;
  jitterMaxMs: number;
  /** This process runs a job of the cluster right now. */
  runningHere: boolean;
  /** A running job whose heartbeat is older than this is taken for dead. */
  staleMs: number;
  /** A slot started more than this after its time (jitter included) counts as missed. */
  lateMs: number;
}

export type BackupDecision =
  | { action: 'arm'; kinds: BackupJobKind[]; reason: string }
  | { action: 'wait'; until?: number; reason: string }
  | { action: 'busy'; running: BackupRunning; here: boolean; reason: string }
  | { action: 'interrupted'; running: BackupRunning; reason: string }
  | { action: 'start'; kind: BackupJobKind; slot: number; missed: number; reason: string };

const KINDS: readonly BackupJobKind[] = ['backup', 'drill'];

export function decideBackup(i: BackupPlanInput): BackupDecision {
  const running = i.state?.running;
  if (running) {
    if (i.runningHere) return { action: 'busy', running, here: true, reason: `the ${running.kind} started ${running.started} is running` };
    const age = i.now - Date.parse(running.heartbeat);
    if (age <= i.staleMs)
      return { action: 'busy', running, here: false, reason: `${running.holder} runs the ${running.kind} started ${running.started}` };
    return {
      action: 'interrupted',
      running,
      reason: `the ${running.kind} ${running.holder} started ${running.started} stopped sending heartbeats ${Math.round(age / 1000)} s ago: its runner died`,
    };
  }
  const kinds = KINDS.filter((k) => i.schedules[k] !== undefined);
  // A schedule seen for the first time, or changed, counts its slots from now: the old one's
  // handled slot says nothing about the new one's (daily → hourly is not 20 missed slots).
  const unarmed = kinds.filter(
    (k) => !i.state?.handled[k] || (i.state.armedFor?.[k] ?? scheduleKey(i.schedules[k])) !== scheduleKey(i.schedules[k]),
  );
  if (unarmed.length) return { action: 'arm', kinds: unarmed, reason: `slots counted from now for ${unarmed.join(', ')}` };
  let until: number | undefined;
  for (const kind of kinds) {
    const s = i.schedules[kind] as CronSchedule;
    const handled = Date.parse(i.state?.handled[kind] as string);
    const { count, last } = slotsBetween(s, handled, i.now);
    if (count > 0 && last !== undefined) {
      const fireAt = last + jitterMs(`${i.cluster}/${kind}`, last, i.jitterMaxMs);
      if (i.now >= fireAt) {
        const missed = count - 1 + (i.now - fireAt > i.lateMs ? 1 : 0);
        return {
          action: 'start',
          kind,
          slot: last,
          missed,
          reason: missed
            ? `${missed} slot(s) of ${kind} passed without a run (last ${new Date(last).toISOString()}): running once now`
            : `slot ${new Date(last).toISOString()} is due`,
        };
      }
      until = Math.min(until ?? fireAt, fireAt);
      continue;
    }
    const n = s.next(Math.max(handled, i.now));
    if (n !== undefined) {
      const fireAt = n + jitterMs(`${i.cluster}/${kind}`, n, i.jitterMaxMs);
      until = Math.min(until ?? fireAt, fireAt);
    }
  }
  return {
    action: 'wait',
    ...(until !== undefined ? { until } : {}),
    reason: until ? `next run ${new Date(until).toISOString()}` : 'no slot ahead',
  };
}

// ---- the journal's transitions (pure: the store's compare-and-swap calls them on fresh state) ----

/** The schedule a job's slots are counted by, as the journal keeps it. */
export function scheduleKey(s: CronSchedule | undefined): string {
  return s ? `${s.timeZone} ${s.expression}` : '';
}

/** Counts the jobs' slots from `now` by their current schedules. */
export function armed(
  state: BackupState | undefined,
  schedules: Partial<Record<BackupJobKind, CronSchedule>>,
  kinds: readonly BackupJobKind[],
  now: number,
): BackupState {
  const s = state ?? { handled: {}, last: {} };
  const handled = { ...s.handled };
  const armedFor = { ...(s.armedFor ?? {}) };
  for (const k of kinds) {
    handled[k] = new Date(now).toISOString();
    armedFor[k] = scheduleKey(schedules[k]);
  }
  return { ...s, handled, armedFor };
}

/** Marks the slot handled and the job running; undefined when another runner got there first. */
export function started(
  state: BackupState | undefined,
  o: { kind: BackupJobKind; slot?: number; missed: number; holder: string; now: number },
): BackupState | undefined {
  const s = state ?? { handled: {}, last: {} };
  if (s.running) return undefined;
  const slot = o.slot === undefined ? undefined : new Date(o.slot).toISOString();
  if (slot && s.handled[o.kind] && Date.parse(s.handled[o.kind] as string) >= (o.slot as number)) return undefined;
  const at = new Date(o.now).toISOString();
  return {
    ...s,
    handled: slot ? { ...s.handled, [o.kind]: slot } : s.handled,
    running: {
      kind: o.kind,
      holder: o.holder,
      started: at,
      heartbeat: at,
      ...(slot ? { slot } : {}),
      ...(o.missed ? { missed: o.missed } : {}),
    },
  };
}

/** Renews the running job's heartbeat; undefined (nothing written) when it is no longer ours. */
export function beat(state: BackupState | undefined, holder: string, now: number): BackupState | undefined {
  if (!state?.running || state.running.holder !== holder) return undefined;
  return { ...state, running: { ...state.running, heartbeat: new Date(now).toISOString() } };
}

/** Records the steps' outcomes and ends the running job (only `holder`'s: a job taken for dead is not overwritten). */
export function finished(
  state: BackupState | undefined,
  o: { holder: string; kind: BackupJobKind; steps: readonly BackupStepOutcome[] },
): BackupState | undefined {
  const s = state ?? { handled: {}, last: {} };
  if (s.running && s.running.holder !== o.holder) return undefined;
  const run = s.running;
  const last = { ...s.last };
  const inRow = { ...(s.failuresInRow ?? {}) };
  const lastSuccess = { ...(s.lastSuccess ?? {}) };
  for (const step of o.steps) {
    last[step.kind] = stepRecord(step, run?.slot);
    if (step.ok) lastSuccess[step.kind] = last[step.kind];
    inRow[step.kind] = step.ok ? 0 : (inRow[step.kind] ?? 0) + 1;
  }
  const missed = { ...(s.missed ?? {}) };
  if (run?.slot) missed[o.kind] = { slots: run.missed ?? 0, slot: run.slot };
  const { running: _gone, ...rest } = s;
  return { ...rest, last, lastSuccess, failuresInRow: inRow, missed };
}

/** Records steps run by hand outside a job (`bzzzctl backup verify`); nothing while a job runs (its own outcome follows). */
export function recorded(state: BackupState | undefined, steps: readonly BackupStepOutcome[]): BackupState | undefined {
  if (state?.running) return undefined;
  return finished(state, { holder: '', kind: 'backup', steps });
}

/** A job whose runner died: recorded as a failed step so status and Slack say so; the next slot runs. */
export function interrupted(state: BackupState | undefined, r: BackupRunning, now: number): BackupState | undefined {
  if (!state?.running || state.running.holder !== r.holder || state.running.started !== r.started) return undefined;
  const started = Date.parse(r.started);
  return finished(state, {
    holder: r.holder,
    kind: r.kind,
    steps: [
      {
        kind: r.kind,
        ok: false,
        started,
        finished: now,
        error: `interrupted: ${r.holder} stopped while running it (last heartbeat ${r.heartbeat}); the repository keeps only complete snapshots, the next slot runs again`,
      },
    ],
  });
}

function stepRecord(o: BackupStepOutcome, slot: string | undefined): BackupStepRecord {
  return {
    ok: o.ok,
    started: new Date(o.started).toISOString(),
    finished: new Date(o.finished).toISOString(),
    durationMs: Math.max(0, o.finished - o.started),
    ...(o.snapshot ? { snapshot: o.snapshot } : {}),
    ...(o.bytes !== undefined ? { bytes: o.bytes } : {}),
    ...(o.addedBytes !== undefined ? { addedBytes: o.addedBytes } : {}),
    ...(o.files !== undefined ? { files: o.files } : {}),
    ...(o.error ? { error: o.error.slice(0, 500) } : {}),
    ...(o.problems?.length ? { problems: o.problems.slice(0, 20) } : {}),
    ...(slot ? { slot } : {}),
  };
}

/** The steps whose last outcome failed, for conditions and notifications. */
export function failedSteps(state: BackupState | undefined): BackupStepKind[] {
  return (['backup', 'verify', 'prune', 'drill'] as const).filter((k) => state?.last[k]?.ok === false);
}
