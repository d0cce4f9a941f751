// Report: the cluster's status rebuilt from what exists (kubebuilder: status is observed, not
// remembered). Pure, so it is tested by value; conditions keep their transition time while
// their status does not change, so an unchanged cluster writes no status.
import type { Service, Task } from '../swarm/api-types.js';
import type { DesiredService } from '../convert/services.js';
import { stripDigest } from '../convert/project.js';
import type {
  ClusterStatus,
  ComponentStatus,
  Condition,
  ConditionType,
  BackupSummary,
  GenerationFailure,
  MigrationSummary,
  RolloutSummary,
  V1Summary,
} from '../spec/status.js';
import { servingSide, type V1PlanState } from '../spec/v1.js';
import type { MigrationState } from '../spec/migration.js';
import type { BackupState, BackupStepKind } from '../store/backup-store.js';
import type { MigrationPhase } from '../spec/types.js';
import { nextStep } from './v1-plan.js';
import type { Problem } from './types.js';
import { ROLLED_BACK_PHASES } from '../spec/rollout.js';
import type { RolloutState } from '../store/rollout-store.js';
import { compareStrings } from '../util/compare.js';

export interface StatusInput {
  generation: number;
  desired: DesiredService[];
  services: Service[];
  tasks: Task[];
  problems: Problem[];
  /** Writes still planned (a pass that changed things is not converged yet). */
  pendingChanges: number;
  /** Agent instances waiting for their turn in the operator's rolling update (or every held service). */
  deferred?: string[];
  /** Why every service write is held (a paused rollout, one not started yet). */
  held?: string;
  /** The cluster's rollout, when a rollout controller keeps one. */
  rollout?: RolloutState;
  /** The cluster's last v1 plan, when there was one. */
  v1?: V1PlanState;
  /** The cluster's migration, when spec.migration is set. */
  migration?: MigrationState;
  migrationTarget?: MigrationPhase;
  /** The cluster's backup journal, when spec.backups is set. */
  backup?: BackupState;
  previous?: ClusterStatus;
  /** The current generation failed terminally (the engine refused it): reported, not retried. */
  failure?: GenerationFailure;
  /** Labelled as the cluster's but not proven: reported, never touched. */
  lookAlikes?: string[];
  now: Date;
}

const FAILED_UPDATE = new Set(['paused', 'rollback_started', 'rollback_paused', 'rollback_completed']);

export function componentStatuses(desired: DesiredService[], services: Service[], tasks: Task[]): ComponentStatus[] {
  const byName = new Map(services.map((s) => [s.Spec.Name, s]));
  return desired.map((d) => {
    const s = byName.get(d.spec.Name);
    // A task counts once it runs the service's current image: right after an update is pushed the
    // old tasks still run, and counting them would report the new release as converged.
    const image = s ? stripDigest(s.Spec.TaskTemplate.ContainerSpec.Image) : undefined;
    const running = s
      ? tasks.filter(
          (t) =>
            t.ServiceID === s.ID &&
            t.DesiredState === 'running' &&
            t.Status.State === 'running' &&
            (t.Spec.ContainerSpec?.Image === undefined || stripDigest(t.Spec.ContainerSpec.Image) === image),
        ).length
      : 0;
    const c: ComponentStatus = {
      service: d.spec.Name,
      component: d.component,
      image: stripDigest(s?.Spec.TaskTemplate.ContainerSpec.Image ?? d.spec.TaskTemplate.ContainerSpec.Image),
      desired: d.spec.Mode?.Replicated?.Replicas ?? 0,
      running,
    };
    if (s?.UpdateStatus?.State && s.UpdateStatus.State !== 'completed') {
      c.update = s.UpdateStatus.State;
      if (s.UpdateStatus.Message) c.updateMessage = s.UpdateStatus.Message;
    }
    return c;
  });
}

/** Latest task error of a service that is not running all its tasks (what `docker service ps` shows). */
function taskErrors(components: ComponentStatus[], services: Service[], tasks: Task[]): string[] {
  const out: string[] = [];
  for (const c of components) {
    if (c.running >= c.desired) continue;
    const s = services.find((x) => x.Spec.Name === c.service);
    const failed = tasks
      .filter((t) => t.ServiceID === s?.ID && (t.Status.Err || t.Status.State === 'rejected' || t.Status.State === 'failed'))
      .sort((a, b) => compareStrings(b.UpdatedAt, a.UpdatedAt))[0];
    if (failed) out.push(`${c.service}: ${failed.Status.Err ?? failed.Status.State}`);
  }
  return out;
}

export function computeStatus(i: StatusInput): ClusterStatus {
  const components = componentStatuses(i.desired, i.services, i.tasks);
  const failedUpdates = components.filter((c) => c.update && FAILED_UPDATE.has(c.update));
  const updating = components.filter((c) => c.update === 'updating');
  const notRunning = components.filter((c) => c.running < c.desired);
  const errors = taskErrors(components, i.services, i.tasks);

  const failed = i.failure;
  const back = i.rollout?.generation === i.generation && ROLLED_BACK_PHASES.has(i.rollout.phase) ? i.rollout : undefined;
  const degraded: [boolean, string, string] = back
    ? [true, rolledBackReason(back), rolledBackMessage(back)]
    : failed
      ? [true, 'GenerationFailed', `generation ${failed.generation} failed: ${failed.message}; fix the spec and apply again`]
      : i.problems.length
        ? [true, i.problems[0].reason, i.problems.map((p) => p.message).join('; ')]
        : failedUpdates.length
          ? [
              true,
              'UpdateFailed',
              failedUpdates.map((c) => `${c.service}: update ${c.update}${c.updateMessage ? ` (${c.updateMessage})` : ''}`).join('; '),
            ]
          : errors.length && notRunning.length
            ? [true, 'TasksFailing', errors.join('; ')]
            : [false, 'AsExpected', 'no problems'];
  // While rolled back, Progressing tells how far the stable revision has come back (the rollout
  // controller waits for it to go False), not that the failed generation goes no further.
  const progressing: [boolean, string, string] =
    failed && !back
      ? [false, 'GenerationFailed', `generation ${failed.generation} is not rolled out any further`]
      : i.held && i.deferred?.length
        ? [true, i.rollout?.phase === 'Paused' && i.rollout.generation === i.generation ? 'RolloutPaused' : 'RolloutHeld', i.held]
        : i.deferred?.length
          ? [true, 'RollingUpdate', `updating agent instances one batch at a time; waiting: ${i.deferred.join(', ')}`]
          : i.pendingChanges > 0
            ? [true, 'Applying', `${i.pendingChanges} change(s) being written`]
            : updating.length
              ? [true, 'RollingUpdate', `updating ${updating.map((c) => c.service).join(', ')}`]
              : notRunning.length
                ? [true, 'TasksStarting', notRunning.map((c) => `${c.service} ${c.running}/${c.desired}`).join(', ')]
                : [false, 'Converged', 'every service runs its desired tasks'];
  const onV1 = i.v1 && servingSide(i.v1) === 'v1' ? i.v1 : undefined;
  const ready: [boolean, string, string] = onV1
    ? [
        false,
        'OnV1',
        `the cluster runs on the v1 hosts${onV1.parked ? ' and the v2 services are parked at zero replicas' : ''} (plan ${onV1.id}, ${onV1.cause.kind}: ${onV1.cause.message}); bzzzctl rollback --to v2 brings v2 back`,
      ]
    : i.migration?.parkV2
      ? [
          false,
          'OnV1',
          `the migration holds the v2 services parked at zero replicas (phase ${i.migration.phase}${i.migrationTarget ? `, target ${i.migrationTarget}` : ''}); raise spec.migration.targetPhase to bring v2 up`,
        ]
      : back
        ? [false, degraded[1], degraded[2]]
        : !degraded[0] && !progressing[0]
          ? [true, 'Converged', `generation ${i.generation} is running`]
          : [false, degraded[0] ? degraded[1] : progressing[1], degraded[0] ? degraded[2] : progressing[2]];

  const cond = (type: ConditionType, [on, reason, message]: [boolean, string, string]): Condition => {
    const status = on ? 'True' : 'False';
    const prev = i.previous?.conditions.find((c) => c.type === type);
    const lastTransitionTime = prev && prev.status === status ? prev.lastTransitionTime : i.now.toISOString();
    return { type, status, reason, message, lastTransitionTime };
  };
  const conditions = [cond('Ready', ready), cond('Progressing', progressing), cond('Degraded', degraded)];
  if (back) conditions.push(cond('Failed', [true, rolledBackReason(back), rolledBackMessage(back)]));
  else if (failed) conditions.push(cond('Failed', [true, failed.reason, `${failed.object}: ${failed.message}`]));
  if (i.backup) conditions.push(...backupConditions(i.backup).map(([type, c]) => cond(type, c)));
  return {
    observedGeneration: i.generation,
    ...(failed ? { failure: failed } : {}),
    ...(i.rollout ? { rollout: rolloutSummary(i.rollout) } : {}),
    ...(i.v1 ? { v1: v1Summary(i.v1) } : {}),
    ...(i.migration ? { migration: migrationSummary(i.migration, i.migrationTarget) } : {}),
    ...(i.lookAlikes?.length ? { lookAlikes: i.lookAlikes } : {}),
    ...(i.backup ? { backups: backupSummary(i.backup) } : {}),
    conditions,
    components,
  };
}

/** The backup conditions: each True with the failing step's error, False once the step succeeds again. */
export function backupConditions(b: BackupState): Array<[ConditionType, [boolean, string, string]]> {
  const step = (type: ConditionType, kind: BackupStepKind, what: string): [ConditionType, [boolean, string, string]] => {
    const r = b.last[kind];
    if (r && !r.ok)
      return [
        type,
        [
          true,
          r.error?.startsWith('interrupted') ? 'Interrupted' : `${capitalise(kind)}Failed`,
          `${what} at ${r.finished}: ${r.error ?? 'no reason given'}`,
        ],
      ];
    return [type, [false, r ? 'Succeeded' : 'NotRunYet', r ? `last ${kind} succeeded at ${r.finished}` : `no ${kind} has run yet`]];
  };
  const backupOrPrune: [ConditionType, [boolean, string, string]] =
    b.last.backup?.ok === false || b.last.prune?.ok !== false
      ? step('BackupFailed', 'backup', 'the last backup failed')
      : step('BackupFailed', 'prune', 'the last prune failed');
  const missed = b.missed?.backup;
  const drillMissed = b.missed?.drill;
  const anyMissed = (missed?.slots ?? 0) > 0 ? missed : (drillMissed?.slots ?? 0) > 0 ? drillMissed : undefined;
  return [
    backupOrPrune,
    step('BackupVerifyFailed', 'verify', 'the last verification found problems'),
    step('BackupDrillFailed', 'drill', 'the last restore drill failed'),
    [
      'BackupMissed',
      anyMissed
        ? [
            true,
            'SlotsMissed',
            `${anyMissed.slots} slot(s) passed without a run (no controller ran); one run for the slot of ${anyMissed.slot} stood in for them`,
          ]
        : [false, 'OnSchedule', 'the last runs started on their slots'],
    ],
  ];
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function backupSummary(b: BackupState): BackupSummary {
  const ok = b.lastSuccess?.backup;
  return {
    ...(b.running ? { running: { kind: b.running.kind, holder: b.running.holder, since: b.running.started } } : {}),
    ...(ok?.snapshot ? { lastSnapshot: { id: ok.snapshot, at: ok.finished, ...(ok.bytes !== undefined ? { bytes: ok.bytes } : {}) } } : {}),
    ...(ok ? { lastSuccess: ok.finished } : {}),
  };
}

function migrationSummary(m: MigrationState, target?: MigrationPhase): MigrationSummary {
  const t = m.transition;
  const step = t?.steps.find((x) => x.state === 'running' || x.state === 'pending' || x.state === 'failed')?.name;
  const failing = t ? [...t.gates, ...t.exits].filter((c) => !c.ok).map((c) => `${c.name}: ${c.value}`) : [];
  return {
    phase: m.phase,
    ...(target ? { target } : {}),
    ...(t ? { transition: { from: t.from, to: t.to, ...(step ? { step } : {}), ...(failing.length ? { failing } : {}) } } : {}),
    ...(m.paused ? { paused: m.paused.message } : {}),
  };
}

function v1Summary(p: V1PlanState): V1Summary {
  const step = nextStep(p)?.name;
  return {
    serving: servingSide(p),
    parked: p.parked,
    plan: { id: p.id, to: p.to, phase: p.phase, ...(step ? { step } : {}), cause: p.cause },
  };
}

function rolledBackReason(r: RolloutState): string {
  return r.phase === 'Aborted' ? 'RolloutAborted' : 'RolledBack';
}

function rolledBackMessage(r: RolloutState): string {
  const to = r.stable === undefined ? '' : ` to generation ${r.stable}`;
  const done = r.phase === 'RollingBack' ? 'rolling back' : 'rolled back';
  const c = r.cause;
  const why = !c
    ? ''
    : c.kind === 'analysis' && c.rule
      ? `: analysis rule ${c.rule} saw ${c.value} (threshold ${c.threshold})${c.message ? `: ${c.message}` : ''}`
      : `: ${c.kind}: ${c.message}`;
  return `generation ${r.generation} ${done}${to}${why}; it is not rolled forward again until the spec changes`;
}

/** What status shows of a rollout: no measurements (they change every interval; `bzzzctl rollout status` shows them). */
function rolloutSummary(r: RolloutState): RolloutSummary {
  return {
    generation: r.generation,
    phase: r.phase,
    ...(r.stable !== undefined ? { stable: r.stable } : {}),
    ...(r.cause ? { cause: r.cause } : {}),
  };
}

export function isReady(s: ClusterStatus | undefined, generation: number): boolean {
  return !!s && s.observedGeneration >= generation && s.conditions.some((c) => c.type === 'Ready' && c.status === 'True');
}

export function condition(s: ClusterStatus | undefined, type: ConditionType): Condition | undefined {
  return s?.conditions.find((c) => c.type === type);
}
