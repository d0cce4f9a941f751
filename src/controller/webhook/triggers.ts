// Which of a cluster's `spec.rollback.triggers` an alert sets off. Pure: the alerts of one
// payload, the compiled triggers, the time and when the last rollout started → one decision per
// alert. Rules:
//   - a resolved alert never acts (an alert that stopped firing is no reason to roll back);
//   - the first trigger, in spec order, whose matchers all hold and whose window (if any) is
//     open acts; a trigger outside its window is passed over, so a later one (say a plain
//     `notify`) can still take the alert;
//   - a window is open while the last rollout started at most `window` ago; with no rollout
//     known it is closed.
import type { RollbackTrigger, TriggerAction } from '../../spec/types.js';
import { parseDurationMs } from '../../spec/units.js';
import { parseMatchers, type Matcher } from '../../spec/matchers.js';
import type { Alert } from './payload.js';

export interface CompiledTrigger {
  readonly name: string;
  readonly action: TriggerAction;
  readonly matchers: readonly Matcher[];
  /** Acts only this long after the last rollout started; undefined: always. */
  readonly windowMs?: number;
}

export type AlertDecision =
  | { outcome: 'act'; alert: Alert; trigger: CompiledTrigger }
  | { outcome: 'resolved'; alert: Alert }
  | { outcome: 'no_match'; alert: Alert; outsideWindow: string[] };

export interface TriggerContext {
  now: Date;
  lastRolloutStartedAt?: Date;
}

/** Compiles triggers; errors name the trigger and matcher (`spec.rollback.triggers[1].matchers[0]: …`). */
export function compileTriggers(triggers: readonly RollbackTrigger[], where = 'spec.rollback.triggers'): CompiledTrigger[] {
  return triggers.map((t, i) => ({
    name: t.name,
    action: t.action,
    matchers: parseMatchers(t.matchers, `${where}[${i}] (${t.name}).matchers`),
    windowMs: t.window === undefined ? undefined : parseDurationMs(t.window, `${where}[${i}] (${t.name}).window`),
  }));
}

export function decideAlerts(alerts: readonly Alert[], triggers: readonly CompiledTrigger[], context: TriggerContext): AlertDecision[] {
  return alerts.map((alert) => decideAlert(alert, triggers, context));
}

export function decideAlert(alert: Alert, triggers: readonly CompiledTrigger[], context: TriggerContext): AlertDecision {
  if (alert.status !== 'firing') return { outcome: 'resolved', alert };
  const outsideWindow: string[] = [];
  for (const trigger of triggers) {
    if (!trigger.matchers.every((m) => m.matches(alert.labels))) continue;
    if (!windowOpen(trigger, context)) {
      outsideWindow.push(trigger.name);
      continue;
    }
    return { outcome: 'act', alert, trigger };
  }
  return { outcome: 'no_match', alert, outsideWindow };
}

function windowOpen(trigger: CompiledTrigger, { now, lastRolloutStartedAt }: TriggerContext): boolean {
  if (trigger.windowMs === undefined) return true;
  if (lastRolloutStartedAt === undefined) return false;
  // A rollout "in the future" (clocks a little apart) counts as just started.
  return Math.max(0, now.getTime() - lastRolloutStartedAt.getTime()) <= trigger.windowMs;
}
