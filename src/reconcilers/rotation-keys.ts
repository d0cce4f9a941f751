// The role keys and the admin key as rotation items: their age counts from the keyset's creation
// (the newest secret carrying the keyset label), their next rotation from the spec's periods.
// Pure. The keyset rotation itself (new key pairs delivered beside the old ones, re-encryption
// by the agents, retirement) is not run by this release: a due key item is reported overdue.
import type { Secret } from '../swarm/api-types.js';
import { KEYSET_LABEL } from '../convert/keys-layout.js';
import { nextRotationAt, type RotationItem, type RotationItemId, type RotationItemState, type RotationState } from '../spec/rotation.js';
import { compareStrings } from '../util/compare.js';

export interface KeyItemsStatus {
  /** Items seen for the first time, to record. */
  init: Array<{ id: RotationItemId; state: RotationItemState }>;
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
  const out: KeyItemsStatus = { init: [], overdue: [], wakeMs: Number.POSITIVE_INFINITY };
  const keysets = secrets.filter((s) => s.Spec.Labels?.[KEYSET_LABEL]).sort((a, b) => compareStrings(b.CreatedAt, a.CreatedAt));
  const newest = keysets[0];
  for (const item of items) {
    if (item.id !== 'role-keys' && item.id !== 'admin-key') continue;
    const s = state.items[item.id];
    if (!s) {
      if (newest) out.init.push({ id: item.id, state: { since: newest.CreatedAt, current: newest.Spec.Labels?.[KEYSET_LABEL] ?? '' } });
      continue;
    }
    const due = nextRotationAt(cluster, item.id, Date.parse(s.since), item.periodMs, jitter);
    if (due === undefined) continue;
    if (now >= due) out.overdue.push({ id: item.id, dueAt: due });
    else out.wakeMs = Math.min(out.wakeMs, due - now);
  }
  return out;
}
