// The in-memory port's task model: deterministic, and only as rich as a reconciler can observe.
// Each replicated service gets one task per slot (global: one, on the one node); a change of the
// task template is a rolling update batch by batch (UpdateConfig.Parallelism), which completes,
// pauses on a failed task, or rolls the service back to PreviousSpec (FailureAction: rollback)
// the way swarmkit's updater does. Tasks start at once in state `running` unless the placement
// constraints exclude the node (pending, as the scheduler leaves them) or the test's hook says
// otherwise. Not modelled: restart policies, monitor windows, task retries, ports, resources.
import type { Service, SwarmNode, Task, TaskState, UpdateConfig } from '../api-types.js';
import { stableStringify } from '../labels.js';

/** What a task becomes when it is started (the hook's answer). */
export interface TaskOutcome {
  state: TaskState;
  /** The task's error, as `docker service ps` shows it (e.g. "No such image: …"). */
  err?: string;
}

/** Decides how a new task ends up; undefined means `running`. */
export type TaskOutcomeHook = (task: { service: Service; slot: number; image: string }) => TaskOutcome | undefined;

export interface TaskModelDeps {
  ids: { next(): string; container(): string };
  now(): string;
  node: SwarmNode;
  outcome?: TaskOutcomeHook;
}

/** swarmkit's default TaskHistoryRetentionLimit: old tasks kept per slot. */
const HISTORY_PER_SLOT = 5;
const FAILED = new Set<TaskState>(['failed', 'rejected']);
const MESSAGES: Partial<Record<TaskState, string>> = {
  running: 'started',
  pending: 'pending task scheduling',
  rejected: 'preparing',
  failed: 'started',
  shutdown: 'shutdown',
};

const isFailed = (t: Task) => FAILED.has(t.Status.State);

export class TaskModel {
  private readonly tasks: Task[] = [];

  constructor(private readonly deps: TaskModelDeps) {}

  list(filter: (t: Task) => boolean): Task[] {
    return this.tasks.filter(filter).map((t) => structuredClone(t));
  }

  /** The tasks the orchestrator wants running (one per slot). */
  current(serviceId: string): Task[] {
    return this.tasks.filter((t) => t.ServiceID === serviceId && t.DesiredState === 'running');
  }

  /** Container IDs of running tasks that mount this volume (what makes the engine refuse its removal). */
  containersUsingVolume(volume: string): string[] {
    return this.tasks
      .filter(
        (t) => t.Status.State === 'running' && templateOf(t).ContainerSpec.Mounts?.some((m) => m.Type === 'volume' && m.Source === volume),
      )
      .map((t) => t.Status.ContainerStatus?.ContainerID ?? '');
  }

  removeService(serviceId: string): void {
    for (let i = this.tasks.length - 1; i >= 0; i--) if (this.tasks[i].ServiceID === serviceId) this.tasks.splice(i, 1);
  }

  /** Sets the state of the service's current tasks (a test moving them on), then lets a rolling update proceed. */
  setStates(svc: Service, outcome: TaskOutcome): boolean {
    for (const t of this.current(svc.ID)) this.setStatus(t, outcome);
    return this.converge(svc);
  }

  /**
   * Brings the service's tasks to its spec: slots to the replica count, and a running rolling
   * update as far as it can go now. Mutates `svc` (UpdateStatus, and Spec on a rollback) and
   * returns whether it did, since the engine versions those changes like any other write.
   */
  converge(svc: Service): boolean {
    let changed = false;
    for (;;) {
      this.fitSlots(svc);
      const state = svc.UpdateStatus?.State;
      if (state !== 'updating' && state !== 'rollback_started') return changed;
      const rollingBack = state === 'rollback_started';
      const policy: UpdateConfig | undefined = rollingBack ? svc.Spec.RollbackConfig : svc.Spec.UpdateConfig;
      const current = this.current(svc.ID);
      const fresh = current.filter((t) => sameTemplate(t, svc));
      const failed = fresh.find(isFailed);
      if (failed && policy?.FailureAction !== 'continue') {
        if (!rollingBack && policy?.FailureAction === 'rollback' && svc.PreviousSpec) {
          // swarmkit's rollbackUpdate: the previous spec becomes the spec and is forgotten.
          svc.Spec = svc.PreviousSpec;
          delete svc.PreviousSpec;
          svc.UpdateStatus = {
            State: 'rollback_started',
            StartedAt: svc.UpdateStatus?.StartedAt,
            Message: `update rolled back due to failure or early termination of task ${failed.ID}`,
          };
          changed = true;
          continue;
        }
        svc.UpdateStatus = {
          State: rollingBack ? 'rollback_paused' : 'paused',
          StartedAt: svc.UpdateStatus?.StartedAt,
          Message: `${rollingBack ? 'rollback' : 'update'} paused due to failure or early termination of task ${failed.ID}`,
        };
        return true;
      }
      // The updater moves to the next batch only once the tasks it started run (or failed, with `continue`).
      if (fresh.some((t) => t.Status.State !== 'running' && !isFailed(t))) return changed;
      const outdated = current.filter((t) => !sameTemplate(t, svc));
      if (outdated.length === 0) {
        svc.UpdateStatus = {
          State: rollingBack ? 'rollback_completed' : 'completed',
          StartedAt: svc.UpdateStatus?.StartedAt,
          CompletedAt: this.deps.now(),
          Message: rollingBack ? 'rollback completed' : 'update completed',
        };
        return true;
      }
      for (const old of outdated.slice(0, policy?.Parallelism || outdated.length)) {
        this.shutdown(old);
        this.start(svc, old.Slot ?? 0);
      }
    }
  }

  private fitSlots(svc: Service): void {
    const replicated = svc.Spec.Mode?.Replicated;
    const wanted = replicated ? Array.from({ length: replicated.Replicas }, (_, i) => i + 1) : [0];
    const current = this.current(svc.ID);
    for (const t of current) if (!wanted.includes(t.Slot ?? 0)) this.shutdown(t);
    for (const slot of wanted) if (!current.some((t) => (t.Slot ?? 0) === slot)) this.start(svc, slot);
  }

  private start(svc: Service, slot: number): void {
    const now = this.deps.now();
    const image = svc.Spec.TaskTemplate.ContainerSpec.Image;
    const outcome: TaskOutcome = placementAllows(svc, this.deps.node)
      ? (this.deps.outcome?.({ service: structuredClone(svc), slot, image }) ?? { state: 'running' })
      : { state: 'pending', err: 'no suitable node (scheduling constraints not satisfied on 1 node)' };
    const task: Task = {
      ID: this.deps.ids.next(),
      ServiceID: svc.ID,
      NodeID: outcome.state === 'pending' ? undefined : this.deps.node.ID,
      DesiredState: 'running',
      Status: { Timestamp: now, State: 'new' },
      // The engine copies the task template into each task.
      Spec: structuredClone(svc.Spec.TaskTemplate),
      CreatedAt: now,
      UpdatedAt: now,
    };
    if (slot) task.Slot = slot;
    this.setStatus(task, outcome);
    this.tasks.push(task);
    this.pruneHistory(svc.ID, slot);
  }

  private setStatus(t: Task, o: TaskOutcome): void {
    const now = this.deps.now();
    const started = o.state === 'running' || o.state === 'failed' || o.state === 'complete';
    const containerId = t.Status.ContainerStatus?.ContainerID || (started ? this.deps.ids.container() : '');
    t.Status = { Timestamp: now, State: o.state, Message: MESSAGES[o.state] ?? o.state, ContainerStatus: { ContainerID: containerId } };
    if (o.err) t.Status.Err = o.err;
    t.UpdatedAt = now;
  }

  private shutdown(t: Task): void {
    t.DesiredState = 'shutdown';
    if (!isFailed(t)) this.setStatus(t, { state: 'shutdown' });
  }

  private pruneHistory(serviceId: string, slot: number): void {
    const old = this.tasks.filter((t) => t.ServiceID === serviceId && (t.Slot ?? 0) === slot && t.DesiredState !== 'running');
    for (const t of old.slice(0, Math.max(0, old.length - HISTORY_PER_SLOT))) this.tasks.splice(this.tasks.indexOf(t), 1);
  }
}

function templateOf(t: Task): Service['Spec']['TaskTemplate'] {
  return t.Spec as Service['Spec']['TaskTemplate'];
}

function sameTemplate(t: Task, svc: Service): boolean {
  return stableStringify(t.Spec) === stableStringify(svc.Spec.TaskTemplate);
}

/** Placement constraints (`node.hostname==x`, `node.role!=worker`, `node.labels.k==v`, …) against the one node. */
export function placementAllows(svc: Service, node: SwarmNode): boolean {
  return (svc.Spec.TaskTemplate.Placement?.Constraints ?? []).every((c) => {
    const m = /^\s*([\w.-]+)\s*(==|!=)\s*(.*?)\s*$/.exec(c);
    if (!m) return false;
    const [, key, op, value] = m;
    const actual =
      key === 'node.id'
        ? node.ID
        : key === 'node.hostname'
          ? node.Description.Hostname
          : key === 'node.role'
            ? node.Spec.Role
            : key === 'node.platform.os'
              ? 'linux'
              : key.startsWith('node.labels.')
                ? node.Spec.Labels?.[key.slice('node.labels.'.length)]
                : undefined;
    return op === '==' ? actual === value : actual !== value;
  });
}
