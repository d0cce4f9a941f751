// Key and secret rotation: what the spec asks (periods, the items that rotate) and what the
// operator records about each item (src/store/rotation-store.ts). Pure: periods, the schedule
// with its jitter, the record's types. The journal's steps are run by
// src/reconcilers/rotation-reconciler.ts; `bzzzctl keys status` shows the same record.
import { InvalidInputError } from '../util/errors.js';
import { jitterMs } from '../util/cron.js';
import { sumOfUnits } from './units.js';
import type { BzzzCluster, SecretRotateSpec } from './types.js';

export const DEFAULT_ROLE_KEY_PERIOD = '90d';
export const DEFAULT_ADMIN_KEY_PERIOD = '30d';
export const DEFAULT_SECRET_GRACE = '1h';
export const DEFAULT_JITTER = 0.05;

const PERIOD_UNIT_MS: Record<string, number> = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000 };
const PERIOD_PART = /([0-9]+)(d|h|m|s)/gy;

/** "90d", "1d12h", "30m", "0" (off) → milliseconds. Errors name the field. */
export function parsePeriodMs(value: string, field: string): number {
  const total = sumOfUnits(value, PERIOD_PART, PERIOD_UNIT_MS);
  if (total === undefined) {
    throw new InvalidInputError(`${field}: "${value}" is not a period; write a number and a unit d, h, m or s, e.g. "90d" or "12h"`);
  }
  return total;
}

/** One thing that rotates: the role keys, the admin key, or a generated secret. */
export type RotationItemId = 'role-keys' | 'admin-key' | `secret:${string}`;

export interface RotationItem {
  id: RotationItemId;
  /** 0: no scheduled rotation (a manual one still runs). */
  periodMs: number;
  graceMs: number;
  /** For secrets. */
  secret?: { logical: string; rotate: SecretRotateSpec };
}

/** The items the spec rotates, in a stable order. */
export function rotationItems(cluster: BzzzCluster): RotationItem[] {
  const items: RotationItem[] = [];
  const keys = cluster.spec.keys;
  if (keys?.generate !== false && cluster.spec.agent.instances.length > 0) {
    items.push({
      id: 'role-keys',
      periodMs: parsePeriodMs(keys?.rotation?.roleKeys ?? DEFAULT_ROLE_KEY_PERIOD, 'spec.keys.rotation.roleKeys'),
      graceMs: 0,
    });
    items.push({
      id: 'admin-key',
      periodMs: parsePeriodMs(keys?.rotation?.adminKey ?? DEFAULT_ADMIN_KEY_PERIOD, 'spec.keys.rotation.adminKey'),
      graceMs: 0,
    });
  }
  for (const [logical, s] of Object.entries(cluster.spec.secrets ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (!s.rotate || !s.generate) continue;
    items.push({
      id: `secret:${logical}`,
      periodMs: parsePeriodMs(s.rotate.period, `spec.secrets.${logical}.rotate.period`),
      graceMs: parsePeriodMs(s.rotate.grace ?? DEFAULT_SECRET_GRACE, `spec.secrets.${logical}.rotate.grace`),
      secret: { logical, rotate: s.rotate },
    });
  }
  return items;
}

/**
 * When an item is next due: its last rotation (or its creation) plus the period, plus a delay
 * in [0, jitter·period) — util/cron.ts's jitterMs, the backups' own: a pure function of cluster,
 * item and base time, the same on every pass and restart, different between clusters applied
 * together — so the schedule needs no stored random draw.
 */
export function nextRotationAt(
  cluster: string,
  item: RotationItemId,
  sinceMs: number,
  periodMs: number,
  jitter = DEFAULT_JITTER,
): number | undefined {
  if (periodMs <= 0) return undefined;
  return sinceMs + periodMs + jitterMs(`${cluster}/${item}`, sinceMs, jitter * periodMs);
}

// ---- the record ----

export type RotationOutcome = 'succeeded' | 'failed';

/** The steps of a secret rotation, in order. Each is idempotent: a resumed controller runs the recorded step again. */
export const SECRET_STEPS = ['stage', 'roll', 'retire-login', 'grace', 'remove-old'] as const;
export type SecretStep = (typeof SECRET_STEPS)[number];

export interface SecretRotationRun {
  id: string;
  step: SecretStep;
  startedAt: string;
  stepStartedAt: string;
  cause: 'schedule' | 'manual' | 'initial';
  /** The version being rolled out (Docker secret name) and, for postgres, its login role. */
  next?: { secret: string; login?: string };
  /** The version in use before (kept until the grace period ends). */
  previous?: { secret: string; login?: string };
  /** When every consumer task ran the new version (grace counts from here). */
  rolledAt?: string;
  attempts: number;
  lastError?: string;
}

export interface RotationResult {
  outcome: RotationOutcome;
  at: string;
  detail?: string;
}

export interface RotationItemState {
  /** When the current material was made (the last rotation's end, or first sight of the item). */
  since: string;
  /** The version in use: a Docker secret name (secrets), a keyset id (keys). */
  current?: string;
  /** postgres: the login role the current value names. */
  login?: string;
  last?: RotationResult;
  /** A rotation asked for by `bzzzctl keys rotate`, started on the next pass. */
  requested?: { at: string; by: string };
  run?: SecretRotationRun;
  /** Failures in a row (the run goes on; status shows it). */
  failures?: number;
}

export interface RotationState {
  version: 1;
  items: Partial<Record<RotationItemId, RotationItemState>>;
}

export function emptyRotationState(): RotationState {
  return { version: 1, items: {} };
}
