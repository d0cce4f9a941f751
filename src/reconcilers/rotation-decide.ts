// What a secret's rotation does next: a pure function of the spec's item, the journal's record,
// the time and what the swarm shows of the consumers. The reconciler (rotation-reconciler.ts)
// runs the effect and writes the journal. The one rule every branch keeps: the old credential
// stays valid (its login enabled, its Docker secret present) until every running task of every
// consumer service runs the new version.
import type { RotationItem, RotationItemState, SecretRotationRun } from '../spec/rotation.js';
import { nextRotationAt } from '../spec/rotation.js';

/** A service that mounts some version of the rotated secret, as the swarm shows it now. */
export interface ConsumerView {
  service: string;
  /** The version its spec mounts. */
  specVersion: string;
  /** Versions its live tasks (any task whose container has not stopped yet) mount. */
  taskVersions: string[];
  /** The swarm's update state ('updating', 'paused', 'rollback_started', …; undefined: none). */
  updateState?: string;
}

export interface SecretObservation {
  now: number;
  cluster: string;
  item: RotationItem;
  state: RotationItemState | undefined;
  /** The version the services mount now (the newest made, or the journal's) and when it was made. */
  mounted?: { name: string; createdAt: string };
  /** Versions of this logical secret present in the swarm. */
  versions: ReadonlySet<string>;
  consumers: readonly ConsumerView[];
  jitter?: number;
}

export type SecretDecision =
  /** Record the item for the first time (its age counts from the version's creation). */
  | { kind: 'init'; state: RotationItemState }
  | { kind: 'start'; cause: SecretRotationRun['cause'] }
  /** Make the new value, write it as a new version, set it at the consumer (postgres: the idle login's password). */
  | { kind: 'stage'; run: SecretRotationRun }
  /** A step whose work is observing: advance the journal. */
  | { kind: 'advance'; run: SecretRotationRun; to: SecretRotationRun['step']; rolledAt?: string }
  /** Disable the old login (postgres) — only once no task runs the old version. */
  | { kind: 'retire-login'; run: SecretRotationRun }
  | { kind: 'remove-old'; run: SecretRotationRun }
  | { kind: 'wait'; reason: string; untilMs?: number }
  | { kind: 'idle'; nextAt?: number };

export function decideSecretRotation(o: SecretObservation): SecretDecision {
  const s = o.state;
  const pg = o.item.secret?.rotate.consumer.type === 'postgres';
  if (!s) {
    if (!o.mounted) return { kind: 'wait', reason: 'the secret has no version yet: the cluster reconciler makes the first one' };
    return { kind: 'init', state: { since: o.mounted.createdAt, current: o.mounted.name } };
  }
  const run = s.run;
  if (!run) {
    // A postgres consumer needs a working login from the start: the first generated value is
    // a bare random string, so the first rotation makes login <login>_a at once.
    if (pg && !s.login) return { kind: 'start', cause: 'initial' };
    if (s.requested) return { kind: 'start', cause: 'manual' };
    const nextAt = nextRotationAt(o.cluster, o.item.id, Date.parse(s.since), o.item.periodMs, o.jitter);
    if (nextAt !== undefined && o.now >= nextAt) return { kind: 'start', cause: 'schedule' };
    return { kind: 'idle', ...(nextAt !== undefined ? { nextAt } : {}) };
  }
  switch (run.step) {
    case 'stage':
      return { kind: 'stage', run };
    case 'roll': {
      const next = run.next?.secret;
      if (!next) return { kind: 'stage', run };
      const behind = o.consumers.filter(
        (c) => c.specVersion !== next || c.taskVersions.some((v) => v !== next) || c.taskVersions.length === 0,
      );
      if (behind.length > 0) {
        const c = behind[0]!;
        return {
          kind: 'wait',
          reason: `service ${c.service} still runs ${c.taskVersions.filter((v) => v !== next).length || 'no'} task(s) on the old version${c.updateState ? ` (update ${c.updateState})` : ''}`,
        };
      }
      return { kind: 'advance', run, to: 'retire-login', rolledAt: new Date(o.now).toISOString() };
    }
    case 'retire-login':
      return pg && run.previous?.login && run.previous.login !== run.next?.login
        ? { kind: 'retire-login', run }
        : { kind: 'advance', run, to: 'grace' };
    case 'grace': {
      const until = Date.parse(run.rolledAt ?? run.stepStartedAt) + o.item.graceMs;
      if (o.now < until) return { kind: 'wait', reason: 'grace period of the old version', untilMs: until };
      return { kind: 'advance', run, to: 'remove-old' };
    }
    case 'remove-old':
      return { kind: 'remove-old', run };
  }
}

/** The login role a rotation moves to: the other one of the pair (a first rotation: _a). */
export function nextLogin(base: string, current: string | undefined): string {
  return current === `${base}_a` ? `${base}_b` : `${base}_a`;
}
