// The migration reconciler: one more controller. Per pass: read spec.migration and the record →
// steer toward targetPhase (migration-plan.ts: one phase at a time) → check the entry gates →
// run the next step, journaled before and after (a controller killed mid-step runs it again:
// every step is idempotent) → check the exit checks → reach the phase. Status and
// `bzzzctl migrate status` show every gate and check with its value. The v2 side is parked and
// unparked through the record's `parkV2`, which the cluster reconciler reads; the v1 side is
// the hosts, their mesh and the proxy (src/hosts), the content import and the archive.
import type { ClusterStore, StoredSpec } from '../store/cluster-store.js';
import type { MigrationStore } from '../store/migration-store.js';
import type { SwarmPort } from '../swarm/port.js';
import { ownedBy } from '../swarm/labels.js';
import type { BzzzCluster, PortSpec, ReplicatedComponentSpec } from '../spec/types.js';
import type { ContentHostRecord, MigrationCheck, MigrationEvent, MigrationState } from '../spec/migration.js';
import type { RolloutState } from '../store/rollout-store.js';
import type { RunState } from '../analysis/run.js';
import { parseDurationMs, parseMemoryBytes } from '../spec/units.js';
import type { V1HostTarget } from '../hosts/types.js';
import { errorMessage } from '../util/errors.js';
import { logger, type Logger } from '../util/log.js';
import {
  DEFAULT_SHARES,
  finishMigrationStep,
  gatesPassed,
  nextMigrationStep,
  reachPhase,
  recordChecks,
  startMigrationStep,
  steer,
  stepsDone,
  transitionPlan,
  type PlanContext,
} from './migration-plan.js';
import type { RolloutAnalyzer } from './rollout-reconciler.js';
import { isReady } from './status.js';
import type { V1SideFactory, V1SideHandle } from './v1-reconciler.js';
import type { ReconcileResult, Reconciler } from './reconciler.js';
import { replicasOf, stillUp, v2Tasks } from './v2-tasks.js';

/** Imports one v1 host's conversation log into the v2 content store (src/reconcilers/content-import.ts). */
export interface ContentImporter {
  importHost(o: {
    cluster: string;
    host: V1HostTarget;
    path: string;
    maxBytes: number;
    signal?: AbortSignal;
    /** Entries and log bytes so far (verify pass, then import pass). */
    onProgress?(p: { phase: 'verify' | 'import'; entries: number; bytes: number }): void;
  }): Promise<
    | { ok: true; entries: number; bytes: number; manifest: string; stored?: number; existing?: number; skipped?: number }
    | { ok: false; entries: number; bytes: number; breaks: ContentHostRecord['breaks']; detail: string }
  >;
}

/** Archives the v1 hosts' data (tar over SSH, BLAKE3 manifest, age-encrypted) before v1 is stopped. */
export interface V1Archiver {
  archive(o: { cluster: string; side: V1SideHandle; paths: string[]; dir: string; recipients: string[] }): Promise<{ files: string[] }>;
}

export interface MigrationReconcilerOptions {
  port: SwarmPort;
  store: ClusterStore;
  migrations: MigrationStore;
  side: V1SideFactory;
  content?: (cluster: string) => Promise<ContentImporter>;
  archiver?: V1Archiver;
  analyzer?: RolloutAnalyzer;
  log?: Logger;
  now?: () => Date;
  /** Requeue while waiting (a gate, v2 converging, a cutover hold). Default 1 s. */
  pollMs?: number;
  /** How long v2 may take to come up (start-v2) or go (park-v2). Default 5 min. */
  v2WaitMs?: number;
  /** Told of every migration event once it is recorded (phase changes, pauses, blocks): Slack. */
  onEvent?(cluster: string, e: MigrationEvent): void;
}

const DEFAULT_HOLD = '5m';
const DEFAULT_LOG_PATH = '/var/lib/bzzz/conversation.log';
const DEFAULT_MAX_LOG = '4G';

type Run =
  | { ok: true; detail?: string; patch?: Partial<MigrationState> }
  | { ok: false; detail: string; patch?: Partial<MigrationState> }
  | { wait: true; patch?: Partial<MigrationState> };

export function createMigrationReconciler(opts: MigrationReconcilerOptions): Reconciler {
  const log = opts.log ?? logger('migration');
  const now = opts.now ?? (() => new Date());
  const pollMs = opts.pollMs ?? 1000;

  // Stored specs are immutable per record and generation: read once (most clusters have no
  // spec.migration, and every Docker event queues this controller too).
  const specs = new Map<string, StoredSpec>();
  async function storedSpec(cluster: string, id: string, generation: number): Promise<StoredSpec> {
    const key = `${cluster}|${id}|${generation}`;
    let s = specs.get(key);
    if (!s) {
      s = await opts.store.getSpec(cluster, generation);
      for (const k of specs.keys()) if (k.startsWith(`${cluster}|`)) specs.delete(k);
      specs.set(key, s);
    }
    return s;
  }

  async function reconcile(cluster: string, signal?: AbortSignal): Promise<ReconcileResult> {
    const rec = await opts.store.get(cluster);
    if (!rec) return {};
    const spec = await storedSpec(cluster, rec.id, rec.generation);
    const m = spec.cluster.spec.migration;
    const v1 = spec.cluster.spec.v1;
    const read = await opts.migrations.get(cluster);
    if (!m || !v1) return {};
    if (read?.log?.some((e) => !e.announced)) return announce(cluster, read);
    const ctx: PlanContext = { hosts: v1.hosts.map((h) => h.name), shares: m.cutover?.steps ?? [...DEFAULT_SHARES] };
    const t = now();

    let state = read ?? (await initial(cluster));
    const steered = steer(state, m.targetPhase, ctx, t);
    if (steered) state = steered;
    const tr = state.transition;
    if (!tr) {
      if (state !== read) await write(cluster, read, state);
      return {};
    }
    if (state.paused) {
      if (state !== read) await write(cluster, read, state);
      return {};
    }

    // Entry gates (forward): every one must pass before the first step.
    if (tr.direction === 'forward' && !tr.steps.some((s) => s.state !== 'pending') && !gatesPassed(tr, ctx)) {
      const side = await opts.side(cluster, v1);
      const checks = await check(transitionPlan(tr.from, tr.to, ctx).gates, cluster, spec, rec.status, state, side);
      // A gate still failing the same way is not written again (a write every poll for nothing).
      const changed = state !== read || !sameChecks(tr.gates, checks);
      state = recordChecks(state, 'gates', checks);
      if (changed) await write(cluster, read, state);
      if (!gatesPassed(state.transition!, ctx)) return { requeueAfterMs: Math.max(pollMs, 5000) };
      return { requeueAfterMs: 0 };
    }

    const step = nextMigrationStep(state);
    if (step) {
      if (step.state === 'pending') {
        const started = startMigrationStep(state, step.name, t);
        if (!(await write(cluster, read, started))) return { requeueAfterMs: 0 };
        log.info({ cluster, from: tr.from, to: tr.to, step: step.name }, 'migration step started');
        return { requeueAfterMs: 0 };
      }
      const side = await opts.side(cluster, v1);
      let run: Run;
      try {
        run = await runStep(step.name, cluster, spec, rec.status, state, side, signal);
      } catch (err) {
        run = { ok: false, detail: errorMessage(err) };
      }
      if ('wait' in run) {
        if (run.patch) await write(cluster, read, { ...state, ...run.patch });
        return { requeueAfterMs: pollMs };
      }
      const next = finishMigrationStep(
        { ...state, ...run.patch },
        step.name,
        run.ok ? { ok: true, detail: run.detail } : { ok: false, detail: run.detail },
        now(),
      );
      if (await write(cluster, read, next)) {
        log[run.ok ? 'info' : 'error'](
          { cluster, from: tr.from, to: tr.to, step: step.name, detail: run.detail },
          'migration step finished',
        );
      }
      return { requeueAfterMs: 0 };
    }

    if (!stepsDone(state)) return {};
    // Exit checks: the phase is reached only when every one passes.
    const side = await opts.side(cluster, v1);
    const exits = await check(transitionPlan(tr.from, tr.to, ctx).exits, cluster, spec, rec.status, state, side);
    const changed = state !== read || !sameChecks(tr.exits, exits);
    state = recordChecks(state, 'exits', exits);
    if (exits.every((c) => c.ok)) {
      state = reachPhase(state, now());
      log.info({ cluster, phase: state.phase }, 'migration phase reached');
      await write(cluster, read, state);
      return { requeueAfterMs: 0 };
    }
    if (changed) await write(cluster, read, state);
    return { requeueAfterMs: pollMs };
  }

  /** The log is the outbox: every event not yet announced is handed over once, then marked. */
  async function announce(cluster: string, read: MigrationState): Promise<ReconcileResult> {
    const pending = read.log?.filter((e) => !e.announced) ?? [];
    const { written } = await opts.migrations.update(cluster, (current) =>
      current
        ? {
            ...current,
            log: current.log?.map((e) => (pending.some((p) => p.at === e.at && p.kind === e.kind) ? { ...e, announced: true } : e)),
          }
        : undefined,
    );
    if (written) for (const e of pending) opts.onEvent?.(cluster, e);
    return { requeueAfterMs: 0 };
  }

  /** Where a cluster's migration starts: v1-only when v2 has never run (or runs parked), else parallel. */
  async function initial(cluster: string): Promise<MigrationState> {
    const services = await opts.port.listServices({ labels: ownedBy(cluster) });
    const running = services.some((s) => replicasOf(s) > 0);
    return running ? { phase: 'parallel', parkV2: false } : { phase: 'v1-only', parkV2: true };
  }

  async function write(cluster: string, read: MigrationState | undefined, next: MigrationState): Promise<boolean> {
    const stamp = (s: MigrationState | undefined) =>
      s ? JSON.stringify([s.phase, s.transition?.steps, s.transition?.to, !!s.paused, s.parkV2, s.log?.length]) : '';
    const { written } = await opts.migrations.update(cluster, (current) =>
      stamp(current) === stamp(read) ? { ...next, log: next.log } : undefined,
    );
    return written;
  }

  async function check(
    names: string[],
    cluster: string,
    spec: StoredSpec,
    status: Parameters<typeof isReady>[0],
    state: MigrationState,
    side: V1SideHandle,
  ): Promise<MigrationCheck[]> {
    const at = now().toISOString();
    const one = async (name: string): Promise<MigrationCheck> => {
      try {
        switch (name) {
          case 'v1-units': {
            const r = await side.hosts.status(side.targets, { logLines: 0 });
            const active = r.filter((x) => !x.error && x.state?.activeState === 'active').length;
            return { name, ok: active === side.targets.length, value: `${active}/${side.targets.length} v1 units active`, at };
          }
          case 'v1-mesh': {
            const r = await side.mesh.check();
            return {
              name,
              ok: r.ok,
              value: r.ok ? `${r.hosts.length} v1 agents healthy with their peers` : (r.reason ?? 'not verified'),
              at,
            };
          }
          case 'proxy-v1':
          case 'proxy-v2': {
            if (!side.proxy) return { name, ok: true, value: 'no proxy in spec.v1.proxy', at };
            const v = await side.proxy.view();
            const share = v.v2Percent ?? (v.serving === 'v2' ? 100 : v.serving === 'v1' ? 0 : 50);
            const ok = name === 'proxy-v1' ? share === 0 && (v.serving === 'v1' || v.serving === 'both') : share === 100;
            return { name, ok, value: `${v.kind}: v2 ${share} % (serving ${v.serving})`, at };
          }
          case 'ports-free': {
            // v2 beside v1 on the same machines must not take the v1 agent's ports.
            const v1 = spec.cluster.spec.v1;
            const nodes = await opts.port.listNodes();
            const shared = nodes.filter((n) => v1?.hosts.some((h) => h.address === n.Status.Addr || h.name === n.Description.Hostname));
            if (!shared.length) return { name, ok: true, value: 'no v1 host is a swarm node', at };
            const v1Ports = new Set([8080, 9000, v1?.verify?.port ?? 8081]);
            const published = publishedPorts(spec.cluster);
            const clash = [...new Set(published.filter((p) => v1Ports.has(p)))].sort((a, b) => a - b);
            const where = shared.map((n) => n.Description.Hostname).join(', ');
            return clash.length
              ? {
                  name,
                  ok: false,
                  value: `v2 publishes ${clash.join(', ')} on ${where}, where the v1 agent listens: publish other ports (the plan: 9000+ range above v1's)`,
                  at,
                }
              : { name, ok: true, value: `v2's published ports avoid v1's (${[...v1Ports].join(', ')}) on ${where}`, at };
          }
          case 'v2-ready': {
            const ok = isReady(status, spec.generation);
            const ready = status?.conditions.find((c) => c.type === 'Ready');
            return {
              name,
              ok,
              value: ok ? `generation ${spec.generation} Ready` : `${ready?.reason ?? 'not observed'}: ${ready?.message ?? ''}`,
              at,
            };
          }
          case 'v2-parked': {
            const up = stillUp(await v2Tasks(opts.port, cluster)).length;
            return { name, ok: up === 0, value: `${up} v2 service(s) still running`, at };
          }
          case 'content': {
            const done = spec.cluster.spec.v1?.hosts.filter((h) => state.content?.[h.name]?.manifest).length ?? 0;
            const all = spec.cluster.spec.v1?.hosts.length ?? 0;
            return { name, ok: done === all, value: `${done}/${all} v1 logs imported and read back`, at };
          }
          case 'v1-stopped': {
            const r = await side.hosts.status(side.targets, { logLines: 0 });
            const stopped = r.filter((x) => !x.error && x.state?.activeState !== 'active' && x.state?.unitFileState !== 'enabled').length;
            return {
              name,
              ok: stopped === side.targets.length,
              value: `${stopped}/${side.targets.length} v1 units stopped and disabled`,
              at,
            };
          }
          default:
            return { name, ok: false, value: `unknown check ${name}`, at };
        }
      } catch (err) {
        return { name, ok: false, value: errorMessage(err), at };
      }
    };
    return Promise.all(names.map(one));
  }

  async function runStep(
    name: string,
    cluster: string,
    spec: StoredSpec,
    status: Parameters<typeof isReady>[0],
    state: MigrationState,
    side: V1SideHandle,
    signal?: AbortSignal,
  ): Promise<Run> {
    const m = spec.cluster.spec.migration!;
    const step = state.transition?.steps.find((s) => s.name === name && s.state === 'running');
    const elapsed = now().getTime() - (Date.parse(step?.startedAt ?? '') || now().getTime());
    const waitMs = opts.v2WaitMs ?? 300_000;
    if (name === 'start-v2') {
      if (state.parkV2) return { wait: true, patch: { parkV2: false } };
      if (isReady(status, spec.generation)) return { ok: true, detail: `v2 generation ${spec.generation} Ready beside v1` };
      return elapsed > waitMs
        ? { ok: false, detail: `v2 not Ready after ${Math.round(elapsed / 1000)} s: bzzzctl status ${cluster}` }
        : { wait: true };
    }
    if (name === 'park-v2') {
      if (!state.parkV2) return { wait: true, patch: { parkV2: true } };
      const t = await v2Tasks(opts.port, cluster);
      const up = stillUp(t);
      const { services } = t;
      if (up.length === 0) return { ok: true, detail: `${services.length} v2 service(s) parked at zero replicas` };
      return elapsed > waitMs ? { ok: false, detail: `v2 still running: ${up.map((s) => s.Spec.Name).join(', ')}` } : { wait: true };
    }
    if (name.startsWith('import:')) {
      const host = side.targets.find((h) => h.name === name.slice('import:'.length));
      if (!host) return { ok: false, detail: `${name}: no such v1 host in spec.v1.hosts` };
      if (!opts.content) return { ok: false, detail: 'this controller cannot import content (no importer)' };
      const importer = await opts.content(cluster);
      // Progress into the record (at most every 2 s): `migrate status --watch` shows it.
      let lastShown = 0;
      let showing: Promise<unknown> = Promise.resolve();
      const r = await importer.importHost({
        cluster,
        host,
        path: m.content?.logPath ?? DEFAULT_LOG_PATH,
        maxBytes: parseMemoryBytes(m.content?.maxLogBytes ?? DEFAULT_MAX_LOG, 'spec.migration.content.maxLogBytes'),
        signal,
        onProgress: (p) => {
          if (Date.now() - lastShown < 2000) return;
          lastShown = Date.now();
          const progress = { entries: p.entries, bytes: p.bytes, at: now().toISOString(), progress: p.phase };
          showing = showing.then(() =>
            opts.migrations
              .update(cluster, (cur) => (cur ? { ...cur, content: { ...(cur.content ?? {}), [host.name]: progress } } : undefined))
              .catch(() => undefined),
          );
        },
      });
      await showing;
      const at = now().toISOString();
      const record: ContentHostRecord = r.ok
        ? { entries: r.entries, bytes: r.bytes, manifest: r.manifest, stored: r.stored, existing: r.existing, skipped: r.skipped, at }
        : { entries: r.entries, bytes: r.bytes, breaks: r.breaks?.slice(0, 20), at };
      const patch = { content: { ...(state.content ?? {}), [host.name]: record } };
      return r.ok
        ? { ok: true, detail: `${host.name}: ${r.entries} entries imported, manifest ${r.manifest}`, patch }
        : {
            ok: false,
            detail: `${host.name}: ${r.detail}; fix or re-export the log on ${host.name}, then bzzzctl migrate resume ${cluster}`,
            patch,
          };
    }
    if (name.startsWith('weigh:')) {
      const share = Number(name.slice('weigh:'.length));
      if (!side.proxy) return { ok: true, detail: 'no spec.v1.proxy: nothing to weigh' };
      if (state.v2Share !== share) {
        await side.proxy.weigh(share);
        return { wait: true, patch: { v2Share: share, analysis: undefined } };
      }
      // Hold (forward steps only), analysed when the spec has rules: a failing rule steps back.
      const forward = state.transition?.direction === 'forward';
      const holdMs = forward ? parseDurationMs(m.cutover?.hold ?? DEFAULT_HOLD, 'spec.migration.cutover.hold') : 0;
      const analysis = spec.cluster.spec.upgrade?.analysis;
      if (forward && analysis && opts.analyzer) {
        const run: RunState = (state.analysis as RunState | undefined) ?? opts.analyzer.start(spec, now());
        const pseudo = { generation: spec.generation, phase: 'Watching', startedAt: step?.startedAt ?? '', analysis: run } as RolloutState;
        const measured = await opts.analyzer.step(spec, pseudo, now(), elapsed >= holdMs);
        if (measured.verdict.phase === 'Failed') {
          const steps = state.transition?.steps.filter((s) => s.name.startsWith('weigh:') && s.state === 'done') ?? [];
          const back = steps.length ? Number(steps.at(-1)!.name.slice('weigh:'.length)) : 0;
          await side.proxy.weigh(back);
          const f = measured.verdict.failing;
          const why = f ? `analysis rule ${f.rule}: ${f.message}` : 'an analysis rule failed';
          return {
            ok: false,
            detail: `v2 at ${share} %: ${why}; stepped back to ${back} %`,
            patch: { v2Share: back, analysis: measured.analysis },
          };
        }
        if (elapsed < holdMs) return { wait: true, patch: { analysis: measured.analysis } };
        return {
          ok: true,
          detail: `v2 at ${share} % held ${Math.round(holdMs / 1000)} s, analysis ${measured.verdict.phase}`,
          patch: { analysis: undefined },
        };
      }
      if (elapsed < holdMs) return { wait: true };
      return { ok: true, detail: `v2 at ${share} %${holdMs ? ` held ${Math.round(holdMs / 1000)} s` : ''}` };
    }
    switch (name) {
      case 'archive-v1': {
        const a = m.archive;
        if (!a) return { ok: false, detail: 'spec.migration.archive is not set: say where the v1 data goes before v1 is stopped' };
        if (!opts.archiver) return { ok: false, detail: 'this controller cannot archive (no archiver)' };
        const r = await opts.archiver.archive({ cluster, side, paths: a.paths ?? ['/var/lib/bzzz'], dir: a.dir, recipients: a.recipients });
        return { ok: true, detail: `archived: ${r.files.join(', ')}` };
      }
      case 'stop-v1': {
        const r = await side.hosts.stop(side.targets, { disable: true });
        const bad = r.filter((x) => x.error);
        return bad.length
          ? { ok: false, detail: bad.map((x) => `${x.host}: ${x.error}`).join('; ') }
          : { ok: true, detail: `${r.length} v1 units stopped and disabled` };
      }
      case 'start-v1': {
        const r = await side.hosts.start(side.targets, { enable: true });
        const bad = r.filter((x) => x.error || x.state?.activeState !== 'active');
        return bad.length
          ? { ok: false, detail: bad.map((x) => `${x.host}: ${x.error ?? x.state?.activeState}`).join('; ') }
          : { ok: true, detail: `${r.length} v1 units enabled and active` };
      }
      case 'retire-v1-routes': {
        if (!side.proxy) return { ok: true, detail: 'no spec.v1.proxy' };
        const v = await side.proxy.switchTo('v2');
        return { ok: true, detail: `${v.kind}: v1 servers out of service` };
      }
      case 'v1-routes-back': {
        if (!side.proxy) return { ok: true, detail: 'no spec.v1.proxy' };
        const v = await side.proxy.weigh(100);
        return {
          ok: true,
          detail: `${v.kind}: v1 servers back in service at weight 0, v2 ${v.v2Percent ?? 100} %`,
          patch: { v2Share: 100 },
        };
      }
      default:
        return { ok: false, detail: `unknown step ${name}` };
    }
  }

  return { reconcile };
}

/** The same checks with the same outcome and value (when they were made aside). */
function sameChecks(a: readonly MigrationCheck[], b: readonly MigrationCheck[]): boolean {
  return a.length === b.length && a.every((x, i) => x.name === b[i].name && x.ok === b[i].ok && x.value === b[i].value);
}

/** Every port v2 publishes on the nodes: the agent instances' and every component's. */
function publishedPorts(c: BzzzCluster): number[] {
  const agent = c.spec.agent.instances.flatMap((i) => [i.publish?.p2p, i.publish?.api, i.publish?.health]);
  const services: Array<ReplicatedComponentSpec | undefined> = Object.values(c.spec.services ?? {});
  const components = services.flatMap((x) => (x?.enabled === false ? [] : (x?.ports ?? []).map((p: PortSpec) => p.published)));
  return [...agent, ...components, ...(c.spec.agent.ports ?? []).map((p) => p.published)].filter((p): p is number => typeof p === 'number');
}
