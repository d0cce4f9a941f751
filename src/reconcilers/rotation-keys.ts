// The role keys and the admin key as rotation items: their age counts from the keyset's creation
// (the newest secret carrying the keyset label), their next rotation from the spec's periods.
// Pure. The keyset rotation itself (new key pairs delivered beside the old ones, re-encryption
// by the agents, retirement) is not run by this release: a due key item is reported overdue.
import type { Secret } from '../swarm/api-types.js';
import { KEYSET_LABEL } from '../convert/keys-layout.js';
import { nextRotationAt, type RotationItem, type RotationItemId, type RotationItemState, type RotationState } from '../spec/rotation.js';
import { compareStrings } from '../util/compare.js';

export interface KeyItemsStatus {
  overdue: Array<{ id: RotationItemId; dueAt: number }>;
  /** When the next key item falls due (for the requeue). */
  wakeMs: number;
}

export function keyItemsStatus(
  cluster: string,
  items: readonly RotationItem[],
  state: RotationState,
  secrets: readonly Secret[],
  now: number,
  jitter?: number,
): KeyItemsStatus {
  const out: KeyItemsStatus = { overdue: [], wakeMs: Number.POSITIVE_INFINITY };
  const keyed = withKeysetAges(state, secrets);
  for (const item of items) {
    if (item.id !== 'role-keys' && item.id !== 'admin-key') continue;
    const s = keyed.items[item.id];
    if (!s) continue;
    const due = nextRotationAt(cluster, item.id, Date.parse(s.since), item.periodMs, jitter);
    if (due === undefined) continue;
    if (now >= due) out.overdue.push({ id: item.id, dueAt: due });
    else out.wakeMs = Math.min(out.wakeMs, due - now);
  }
  return out;
}

/**
 * The state with the role keys' and the admin key's age filled in from the keyset in use (the
 * newest secret carrying the keyset label) where the journal holds none: derived on every read,
 * never written, so a controller's first pass over a converged cluster writes nothing.
 */
export function withKeysetAges(state: RotationState, secrets: readonly Secret[]): RotationState {
  const newest = secrets.filter((s) => s.Spec.Labels?.[KEYSET_LABEL]).sort((a, b) => compareStrings(b.CreatedAt, a.CreatedAt))[0];
  if (!newest) return state;
  const derived: RotationItemState = { since: newest.CreatedAt, current: newest.Spec.Labels?.[KEYSET_LABEL] ?? '' };
  const items = { ...state.items };
  for (const id of ['role-keys', 'admin-key'] as const) items[id] ??= derived;
  return { ...state, items };
}
