// Rollout records the rollout tests share: generation 5 rolling out over the stable generation 4.
import type { RolloutPhase } from '../../src/spec/rollout.js';
import type { RolloutState } from '../../src/store/rollout-store.js';

/** When the shared rollout started. */
export const ROLLOUT_STARTED = '2026-12-01T11:00:00.000Z';

/** The rollout of generation 5 (stable: 4) in `phase`, with `extra` on top. */
export function rolloutOf5(phase: RolloutPhase, extra: Partial<RolloutState> = {}): RolloutState {
  return { generation: 5, stable: 4, phase, startedAt: ROLLOUT_STARTED, ...extra };
}
