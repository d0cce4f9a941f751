// What `bzzzctl keys status`, the cluster's conditions and the metrics say about rotations: per
// item its age, when it is next due, the last result and the run under way. Pure; no values.
import {
  nextRotationAt,
  type RotationItem,
  type RotationItemId,
  type RotationResult,
  type RotationState,
  type SecretRotationRun,
} from '../spec/rotation.js';

export interface RotationItemView {
  id: RotationItemId;
  /** The version in use (secret name, keyset id), when recorded. */
  current?: string;
  login?: string;
  ageMs?: number;
  periodMs: number;
  nextAt?: string;
  overdue: boolean;
  last?: RotationResult;
  run?: Pick<SecretRotationRun, 'step' | 'startedAt' | 'cause' | 'attempts' | 'lastError'>;
  requested: boolean;
  /** Rotations of this kind this release runs (role and admin keys: reported, not yet rotated). */
  automated: boolean;
}

export function rotationView(
  cluster: string,
  items: readonly RotationItem[],
  state: RotationState | undefined,
  now: number,
  jitter?: number,
): RotationItemView[] {
  return items.map((item) => {
    const s = state?.items[item.id];
    const since = s ? Date.parse(s.since) : undefined;
    const due = since === undefined ? undefined : nextRotationAt(cluster, item.id, since, item.periodMs, jitter);
    return {
      id: item.id,
      ...(s?.current ? { current: s.current } : {}),
      ...(s?.login ? { login: s.login } : {}),
      ...(since !== undefined ? { ageMs: now - since } : {}),
      periodMs: item.periodMs,
      ...(due !== undefined ? { nextAt: new Date(due).toISOString() } : {}),
      overdue: due !== undefined && now > due && !s?.run,
      ...(s?.last ? { last: s.last } : {}),
      ...(s?.run
        ? {
            run: {
              step: s.run.step,
              startedAt: s.run.startedAt,
              cause: s.run.cause,
              attempts: s.run.attempts,
              ...(s.run.lastError ? { lastError: s.run.lastError } : {}),
            },
          }
        : {}),
      requested: s?.requested !== undefined,
      automated: item.secret !== undefined,
    };
  });
}

/** Conditions for the cluster's status: rotations overdue and rotations failing. */
export function rotationProblems(
  views: readonly RotationItemView[],
): Array<{ reason: 'RotationOverdue' | 'RotationFailing'; message: string }> {
  const out: Array<{ reason: 'RotationOverdue' | 'RotationFailing'; message: string }> = [];
  for (const v of views) {
    // Only what this release rotates: role and admin keys are not rotated by it yet, and their
    // default periods would turn every cluster older than 30 days Degraded for something the
    // user cannot ask it to do (`bzzzctl keys status` still shows them OVERDUE).
    if (v.overdue && v.automated) out.push({ reason: 'RotationOverdue', message: `${v.id} was due at ${v.nextAt}` });
    if (v.run?.lastError)
      out.push({ reason: 'RotationFailing', message: `${v.id}: step ${v.run.step} failed ${v.run.attempts} time(s): ${v.run.lastError}` });
  }
  return out;
}

export function formatAge(ms: number): string {
  const d = Math.floor(ms / 86_400_000);
  const h = Math.floor((ms % 86_400_000) / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  return d > 0 ? `${d}d${h}h` : h > 0 ? `${h}h${m}m` : `${m}m`;
}
