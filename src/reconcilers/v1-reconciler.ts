// The v1 reconciler: one more controller beside the cluster's and the rollout's. Per pass it runs
// the next step of the cluster's v1 plan (v1-plan.ts decides; this file does the I/O), journaling
// it in the swarm before and after: a controller killed mid-step finds it `running` and runs it
// again (every step is idempotent), and a plan asked for twice runs once. The v2 side is parked
// through the plan's `parked` flag, which the cluster reconciler reads (zero replicas, nothing
// deleted); the v1 side is the hosts' units over SSH, their mesh, and the proxy (src/hosts).
import type { ClusterStore, StoredSpec } from '../store/cluster-store.js';
import type { V1Store } from '../store/v1-store.js';
import type { SwarmPort } from '../swarm/port.js';
import type { Service } from '../swarm/api-types.js';
import { ownedBy } from '../swarm/labels.js';
import type { V1Spec } from '../spec/types.js';
import type { V1PlanState, V1ServiceRecord, V1Side, V1StepName } from '../spec/v1.js';
import { parseDurationMs } from '../spec/units.js';
import type { HostUnitReport, MeshReport, MeshVerifier, ProxySwitch, V1HostsPort, V1HostTarget } from '../hosts/types.js';
import { errorMessage } from '../util/errors.js';
import { logger, type Logger } from '../util/log.js';
import { finishStep, nextStep, startStep, type StepOutcome } from './v1-plan.js';
import type { ReconcileResult, Reconciler } from './reconciler.js';
import { replicasOf, stillUp, v2Tasks } from './v2-tasks.js';

/** The v1 side of one cluster, connected with its SSH key (src/hosts createV1Side). */
export interface V1SideHandle {
  targets: V1HostTarget[];
  hosts: V1HostsPort;
  mesh: MeshVerifier;
  proxy?: ProxySwitch;
}

/** Makes the v1 side of a cluster from its spec (the wiring reads the SSH key from the secrets directory). */
export type V1SideFactory = (cluster: string, v1: V1Spec) => Promise<V1SideHandle>;

/** Told once when a plan finishes (notify step); delivery is the listener's business (never blocks). */
export type V1Listener = (cluster: string, plan: V1PlanState) => void;

export interface V1ReconcilerOptions {
  port: SwarmPort;
  store: ClusterStore;
  plans: V1Store;
  side: V1SideFactory;
  onFinished?: V1Listener;
  log?: Logger;
  now?: () => Date;
  /** Polling while v2 scales down or up. Default 250 ms. */
  pollMs?: number;
  /** How long v2 may take to scale to zero (stop-v2) and back (start-v2). Defaults 2 and 5 minutes. */
  v2StopMs?: number;
  v2StartMs?: number;
}

const DEFAULT_VERIFY = '30s';
const LOG_LINES = 5;

type Run = { outcome: StepOutcome; patch?: Partial<V1PlanState> } | { wait: true; patch?: Partial<V1PlanState> };

export function createV1Reconciler(opts: V1ReconcilerOptions): Reconciler {
  const log = opts.log ?? logger('v1');
  const now = opts.now ?? (() => new Date());
  const pollMs = opts.pollMs ?? 250;

  async function reconcile(cluster: string): Promise<ReconcileResult> {
    let plan = await opts.plans.get(cluster);
    const step = plan && nextStep(plan);
    if (!plan || !step) return {};
    if (step.state === 'pending') {
      const started = startStep(plan, step.name, now());
      if (!(await write(cluster, plan, started))) return { requeueAfterMs: 0 };
      plan = started;
      log.info({ cluster, plan: plan.id, to: plan.to, step: step.name }, 'v1 plan step started');
    }
    let run: Run;
    try {
      run = await runStep(cluster, plan, step.name);
    } catch (err) {
      // Unreachable engine, a lost connection: the step stays `running` and is tried again with
      // backoff (the queue's); a definite failure is an outcome, not an exception.
      log.warn({ cluster, plan: plan.id, step: step.name, err: errorMessage(err) }, 'v1 plan step interrupted; retried');
      throw err;
    }
    if ('wait' in run) {
      if (run.patch && !(await write(cluster, plan, { ...plan, ...run.patch }))) return { requeueAfterMs: 0 };
      return { requeueAfterMs: pollMs };
    }
    const finished = finishStep({ ...plan, ...run.patch }, step.name, run.outcome, now());
    if (await write(cluster, plan, finished)) {
      const level = run.outcome.ok ? 'info' : 'error';
      log[level](
        { cluster, plan: plan.id, step: step.name, ok: run.outcome.ok, detail: run.outcome.detail, phase: finished.phase },
        'v1 plan step finished',
      );
    }
    return { requeueAfterMs: 0 };
  }

  /**
   * Compare-and-swap against the plan as read: a plan replaced or moved on meanwhile drops this
   * write. The alerts handled meanwhile (an alert arriving while a step ran leaves the stamp as
   * is) are kept: dropping their keys would let a redelivered alert start another plan later.
   */
  async function write(cluster: string, read: V1PlanState, next: V1PlanState): Promise<boolean> {
    const stamp = (p: V1PlanState | undefined) =>
      p ? `${p.id}/${p.phase}/${p.parked}/${p.steps.map((s) => `${s.name}:${s.state}:${s.attempts ?? 0}`).join(',')}` : '';
    const { written } = await opts.plans.update(cluster, (current) =>
      current && stamp(current) === stamp(read)
        ? { ...next, ...(current.handledAlerts ? { handledAlerts: current.handledAlerts } : {}) }
        : undefined,
    );
    return written;
  }

  async function runStep(cluster: string, plan: V1PlanState, name: V1StepName): Promise<Run> {
    const step = plan.steps.find((s) => s.name === name && (s.state === 'running' || s.state === 'pending'));
    const startedAt = Date.parse(step?.startedAt ?? '') || now().getTime();
    const elapsed = now().getTime() - startedAt;
    switch (name) {
      case 'record-v2':
        return recordV2(cluster);
      case 'stop-v2':
      case 'undo-v2':
        return parkV2(cluster, plan, elapsed);
      case 'start-v2':
        return unparkV2(cluster, plan, elapsed);
      case 'notify':
        // The listener hears of the plan as it ends (its phase and finish time), not as it was before this step.
        opts.onFinished?.(cluster, finishStep(plan, 'notify', { ok: true }, now()));
        return { outcome: { ok: true, detail: opts.onFinished ? 'announced' : 'no notifier' } };
      default:
        return v1Step(cluster, plan, name);
    }
  }

  async function recordV2(cluster: string): Promise<Run> {
    const rec = await opts.store.get(cluster);
    if (!rec) return { outcome: { ok: false, detail: `cluster ${cluster} has no record: apply it first` } };
    const services = await opts.port.listServices({ labels: ownedBy(cluster) });
    const record: Record<string, V1ServiceRecord> = {};
    for (const s of services) record[s.Spec.Name] = { replicas: replicasOf(s), image: s.Spec.TaskTemplate.ContainerSpec.Image };
    return {
      outcome: { ok: true, detail: `generation ${rec.generation}: ${services.length} service(s) recorded` },
      patch: { v2: { generation: rec.generation, services: record } },
    };
  }

  async function parkV2(cluster: string, plan: V1PlanState, elapsed: number): Promise<Run> {
    if (!plan.parked) return { wait: true, patch: { parked: true } };
    const t = await v2Tasks(opts.port, cluster);
    const { services, running } = t;
    const up = stillUp(t);
    if (up.length === 0) {
      return {
        outcome: { ok: true, detail: `${services.length} v2 service(s) at zero replicas; volumes, secrets, configs and specs kept` },
      };
    }
    if (elapsed > (opts.v2StopMs ?? 120_000)) {
      return { outcome: { ok: false, detail: `v2 still running after ${Math.round(elapsed / 1000)} s: ${describe(up, running)}` } };
    }
    return { wait: true };
  }

  async function unparkV2(cluster: string, plan: V1PlanState, elapsed: number): Promise<Run> {
    if (plan.parked) return { wait: true, patch: { parked: false } };
    const { services, running } = await v2Tasks(opts.port, cluster);
    const want = plan.v2?.services ?? {};
    // Every service back at the replicas it had (or the spec's, for one the spec added since).
    const short = services.filter((s) => {
      const replicas = replicasOf(s);
      const parkedStill = replicas === 0 && (want[s.Spec.Name]?.replicas ?? 1) > 0;
      return parkedStill || (running.get(s.ID) ?? 0) < replicas;
    });
    if (services.length > 0 && short.length === 0) {
      return { outcome: { ok: true, detail: `${services.length} v2 service(s) running: ${describe(services, running)}` } };
    }
    if (elapsed > (opts.v2StartMs ?? 300_000)) {
      return {
        outcome: {
          ok: false,
          detail: `v2 did not come back within ${Math.round(elapsed / 1000)} s: ${services.length ? describe(short, running) : 'no service'}; bzzzctl status shows why`,
        },
      };
    }
    return { wait: true };
  }

  async function v1Step(cluster: string, plan: V1PlanState, name: V1StepName): Promise<Run> {
    const rec = await opts.store.get(cluster);
    if (!rec) return { outcome: { ok: false, detail: `cluster ${cluster} has no record` } };
    const spec: StoredSpec = await opts.store.getSpec(cluster, rec.generation);
    const v1 = spec.cluster.spec.v1;
    if (!v1)
      return { outcome: { ok: false, detail: `generation ${rec.generation} has no spec.v1: add the v1 hosts to the spec and apply it` } };
    // What the v1 side says (a refused host key, an unreachable proxy, an unreadable key) is an
    // answer, not an interruption: the step fails with it and the plan undoes what it started.
    try {
      return await hostsStep(plan, name, v1, await opts.side(cluster, v1));
    } catch (err) {
      return { outcome: { ok: false, detail: errorMessage(err) } };
    }
  }

  async function hostsStep(plan: V1PlanState, name: V1StepName, v1: V1Spec, side: V1SideHandle): Promise<Run> {
    const from: V1Side = plan.to === 'v1' ? 'v2' : 'v1';
    switch (name) {
      case 'start-v1': {
        const reports = await side.hosts.start(side.targets);
        const need = plan.minHosts ?? v1.minHosts ?? side.targets.length;
        const active = reports.filter(isActive);
        if (active.length >= need) return { outcome: { ok: true, detail: hostsLine(reports) } };
        // The logs of units that failed; an unreachable host is not asked again (a second timeout).
        const failing = side.targets.filter((t) => reports.some((r) => r.host === t.name && !r.error && !isActive(r)));
        const withLogs = failing.length ? await side.hosts.status(failing, { logLines: LOG_LINES }).catch(() => []) : [];
        const detail = reports.map((r) => {
          const logs = withLogs.find((w) => w.host === r.host)?.logs;
          return isActive(r) ? `${r.host}: active` : `${r.host}: ${unitLine(r)}${logs?.length ? ` (last log: ${logs.at(-1)})` : ''}`;
        });
        return {
          outcome: {
            ok: false,
            detail: `${active.length} of ${side.targets.length} v1 host(s) came up, ${need} needed: ${detail.join('; ')}`,
          },
        };
      }
      case 'verify-v1': {
        const timeoutMs = parseDurationMs(v1.verify?.timeout ?? DEFAULT_VERIFY, 'spec.v1.verify.timeout');
        const need = plan.minHosts ?? v1.minHosts ?? side.targets.length;
        // With fewer hosts than all, each agent sees fewer peers: at least the other needed ones.
        const minPeers = v1.verify?.minPeers ?? Math.max(0, Math.min(need, side.targets.length) - 1);
        const report = await side.mesh.verify({ deadlineMs: timeoutMs, enough: need, minPeers });
        const ok = report.ok;
        return {
          outcome: ok
            ? { ok: true, detail: meshLine(report) }
            : { ok: false, detail: `v1 mesh not verified: ${report.reason ?? meshLine(report)}` },
        };
      }
      case 'switch-proxy':
      case 'undo-proxy': {
        const to = name === 'switch-proxy' ? plan.to : from;
        if (!side.proxy) return { outcome: { ok: true, detail: 'no spec.v1.proxy: nothing to switch' } };
        const view = await side.proxy.switchTo(to);
        const servers = view.servers.map((s) => `${s.name} (${s.side}) ${s.state}`).join(', ');
        return view.serving === to
          ? { outcome: { ok: true, detail: `${view.kind} serves ${to}: ${servers}` } }
          : { outcome: { ok: false, detail: `${view.kind} serves ${view.serving} after the switch to ${to}: ${servers}` } };
      }
      case 'stop-v1':
      case 'undo-v1': {
        const reports = await side.hosts.stop(side.targets);
        const notStopped = reports.filter((r) => r.error || isActive(r));
        return notStopped.length
          ? { outcome: { ok: false, detail: `v1 not stopped on ${notStopped.map((r) => r.host).join(', ')}: ${hostsLine(reports)}` } }
          : { outcome: { ok: true, detail: hostsLine(reports) } };
      }
      default:
        return { outcome: { ok: false, detail: `unknown step ${name}` } };
    }
  }

  return { reconcile };
}

function describe(services: Service[], running: Map<string, number>): string {
  return services.map((s) => `${s.Spec.Name} ${running.get(s.ID) ?? 0}/${replicasOf(s)}`).join(', ');
}

function isActive(r: HostUnitReport): boolean {
  return !r.error && r.state?.activeState === 'active';
}

function unitLine(r: HostUnitReport): string {
  if (r.error) return r.error;
  const s = r.state;
  return s
    ? `${r.unit} ${s.activeState}${s.subState ? ` (${s.subState}${s.result && s.result !== 'success' ? `, ${s.result}` : ''})` : ''}`
    : `${r.unit}: no state`;
}

function hostsLine(reports: HostUnitReport[]): string {
  return reports.map((r) => `${r.host}: ${isActive(r) ? 'active' : unitLine(r)}`).join('; ');
}

function meshLine(r: MeshReport): string {
  return r.hosts
    .map(
      (h) =>
        `${h.host}: ${h.healthy ? 'healthy' : 'unhealthy'}${h.peers !== undefined ? `, ${h.peers} peer(s)` : ''}${h.error ? ` (${h.error})` : ''}`,
    )
    .join('; ');
}
