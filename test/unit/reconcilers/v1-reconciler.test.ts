// The v1 reconciler's passes on the in-memory port, interleaved with the cluster reconciler's (which
// parks the v2 services at zero replicas while the plan says so), against an in-memory v1 side:
// three hosts whose units start and stop, a mesh verifier and an HAProxy switch that record what
// they were asked and can be told to fail. stacks/examples/dev.yaml with spec.v1 added (the SSH key
// an external secret: the controller reads it mounted, apply never does).
import { describe, expect, it } from 'vitest';
import { createV1Reconciler, type V1SideFactory } from '../../../src/reconcilers/v1-reconciler.js';
import { failedStep, requestPlan } from '../../../src/reconcilers/v1-plan.js';
import type { Reconciler } from '../../../src/reconcilers/reconciler.js';
import type { HostUnitReport, MeshReport, MeshWant, ProxySide, ProxyView, V1HostTarget } from '../../../src/hosts/types.js';
import type { BzzzCluster, V1Spec } from '../../../src/spec/types.js';
import type { RolloutCause } from '../../../src/spec/rollout.js';
import { V1_STEPS, servingSide, type V1PlanState, type V1Side } from '../../../src/spec/v1.js';
import { V1Store } from '../../../src/store/v1-store.js';
import { ownedBy } from '../../../src/swarm/labels.js';
import { silentLogger } from '../../../src/util/log.js';
import { type MemoryCluster, memoryCluster } from '../../support/memory-cluster.js';

const DEV = 'stacks/examples/dev.yaml';
const HOSTS = ['walnut', 'ironwood', 'acacia'];
const HOST_KEY = `SHA256:${'uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s'}`;
const KEY_SECRET = 'bzzz-dev-v1-ssh-key';

function withV1(extra: Partial<V1Spec> = {}) {
  return (x: BzzzCluster) => {
    x.spec.secrets = { ...x.spec.secrets, v1_ssh_key: { external: KEY_SECRET } };
    x.spec.v1 = {
      ssh: { privateKeySecret: 'v1_ssh_key', timeout: '5s' },
      hosts: HOSTS.map((name, i) => ({ name, address: `10.0.0.${i + 1}`, hostKey: HOST_KEY })),
      verify: { timeout: '10s' },
      proxy: {
        haproxy: {
          host: { address: '10.0.0.9', hostKey: HOST_KEY },
          backend: 'bzzz',
          v1Servers: HOSTS,
          v2Servers: ['swarm'],
        },
      },
      ...extra,
    };
  };
}

/** The v1 hosts, their mesh and HAProxy in memory: what they were asked, in order, and how they answer. */
class V1World {
  readonly units = new Map<string, 'active' | 'inactive' | 'failed'>(HOSTS.map((h) => [h, 'inactive']));
  readonly calls: string[] = [];
  /** Hosts whose unit fails to start. */
  readonly failStart = new Set<string>();
  meshForms = true;
  proxyRefuses = false;
  serving: ProxySide = 'v2';
  /** Set: the next start call does its work, then never answers (the controller dies with it). */
  hangNextStart = false;
  /** Called inside each start, after the units started (a concurrent writer, say). */
  onStart?: () => Promise<void>;
  sides = 0;

  count(call: string): number {
    return this.calls.filter((c) => c === call).length;
  }

  report(t: V1HostTarget, logs?: string[]): HostUnitReport {
    const s = this.units.get(t.name) ?? 'inactive';
    return {
      host: t.name,
      unit: t.unit,
      state: {
        activeState: s,
        subState: s === 'active' ? 'running' : s === 'failed' ? 'failed' : 'dead',
        loadState: 'loaded',
        mainPid: s === 'active' ? 4242 : 0,
        result: s === 'failed' ? 'exit-code' : 'success',
      },
      ...(logs ? { logs } : {}),
    };
  }

  mesh(want: MeshWant = {}): MeshReport {
    const active = HOSTS.filter((h) => this.units.get(h) === 'active');
    const hosts = HOSTS.map((host): MeshReport['hosts'][number] => {
      const up = this.units.get(host) === 'active' && this.meshForms;
      return { host, healthy: up, ...(up ? { peers: active.length - 1 } : { error: 'connection refused' }) };
    });
    const minPeers = want.minPeers ?? HOSTS.length - 1;
    const ok = hosts.filter((h) => h.healthy && (h.peers ?? 0) >= minPeers).length >= (want.enough ?? HOSTS.length);
    return {
      ok,
      hosts,
      ...(ok
        ? {}
        : {
            reason: hosts
              .filter((h) => !h.healthy)
              .map((h) => `${h.host}: ${h.error}`)
              .join('; '),
          }),
    };
  }

  view(): ProxyView {
    const state = (side: V1Side) => (this.serving === side || this.serving === 'both' ? 'ready' : 'maint');
    return {
      kind: 'haproxy',
      serving: this.serving,
      servers: [
        ...HOSTS.map((name) => ({ name, side: 'v1' as const, state: state('v1') })),
        { name: 'swarm', side: 'v2', state: state('v2') },
      ],
    };
  }

  readonly side: V1SideFactory = async (_cluster, v1) => {
    this.sides++;
    const targets: V1HostTarget[] = v1.hosts.map((h) => ({
      name: h.name,
      address: h.address,
      port: h.port ?? 22,
      user: h.user ?? 'root',
      hostKey: h.hostKey,
      timeoutMs: 5000,
      unit: (h.unit ?? v1.unit ?? 'bzzz@{host}.service').replaceAll('{host}', h.name),
    }));
    return {
      targets,
      hosts: {
        status: async (hosts, opts) =>
          hosts.map((t) =>
            this.report(
              t,
              opts?.logLines && this.units.get(t.name) === 'failed' ? ['bzzz: listen tcp :8080: address already in use'] : undefined,
            ),
          ),
        start: async (hosts) => {
          for (const t of hosts) {
            this.calls.push(`start ${t.name}`);
            this.units.set(t.name, this.failStart.has(t.name) ? 'failed' : 'active');
          }
          await this.onStart?.();
          if (this.hangNextStart) {
            this.hangNextStart = false;
            return new Promise<HostUnitReport[]>(() => {});
          }
          return hosts.map((t) => this.report(t));
        },
        stop: async (hosts) => {
          for (const t of hosts) {
            this.calls.push(`stop ${t.name}`);
            this.units.set(t.name, 'inactive');
          }
          return hosts.map((t) => this.report(t));
        },
      },
      mesh: {
        verify: async (opts) => {
          this.calls.push('verify');
          return this.mesh(opts);
        },
        check: async (_signal, want) => this.mesh(want),
      },
      ...(v1.proxy
        ? {
            proxy: {
              view: async () => this.view(),
              switchTo: async (to: V1Side) => {
                this.calls.push(`switch ${to}`);
                if (!this.proxyRefuses) this.serving = to;
                return this.view();
              },
              weigh: async (v2Percent: number) => {
                this.calls.push(`weigh ${v2Percent}`);
                if (!this.proxyRefuses) this.serving = v2Percent === 0 ? 'v1' : v2Percent === 100 ? 'v2' : 'both';
                return this.view();
              },
            },
          }
        : {}),
    };
  };
}

const CAUSE: RolloutCause = { kind: 'manual', message: 'bzzzctl rollback', at: new Date(0).toISOString(), by: 'ops@walnut' };

interface Rig {
  c: MemoryCluster;
  world: V1World;
  plans: V1Store;
  announced: V1PlanState[];
  reconciler: Reconciler;
  newReconciler(): Reconciler;
  /** `bzzzctl rollback --to`: the plan asked for. */
  ask(to: V1Side, minHosts?: number): Promise<V1PlanState | undefined>;
  /** Cluster passes and v1 passes in turn, the clock moving on, until the plan is no longer Running. */
  run(r?: Reconciler, rounds?: number): Promise<V1PlanState>;
  /** The v2 services: short name → replicas. */
  replicas(): Promise<Record<string, number>>;
}

async function rig(edit = withV1()): Promise<Rig> {
  const c = await memoryCluster(DEV);
  await c.port.createSecret({ Name: KEY_SECRET, Data: Buffer.from('-----BEGIN OPENSSH PRIVATE KEY-----').toString('base64') });
  await c.apply(edit);
  await c.pass();
  const world = new V1World();
  const plans = new V1Store(c.port, c.store);
  const announced: V1PlanState[] = [];
  const newReconciler = () =>
    createV1Reconciler({
      port: c.port,
      store: c.store,
      plans,
      side: world.side,
      onFinished: (_cluster, plan) => announced.push(plan),
      log: silentLogger(),
      now: () => new Date(c.now()),
      pollMs: 10,
    });
  const reconciler = newReconciler();
  const signal = new AbortController().signal;
  return {
    c,
    world,
    plans,
    announced,
    reconciler,
    newReconciler,
    async ask(to, minHosts) {
      const { state, written } = await plans.update(c.name, (current) =>
        requestPlan(current, { to, cause: CAUSE, now: new Date(c.now()), ...(minHosts ? { minHosts } : {}) }),
      );
      return written ? state : undefined;
    },
    async run(r = reconciler, rounds = 60) {
      for (let i = 0; i < rounds; i++) {
        await c.pass();
        await r.reconcile(c.name, signal);
        const plan = await plans.get(c.name);
        if (!plan) throw new Error('no plan');
        if (plan.phase !== 'Running') {
          await c.pass();
          return plan;
        }
        c.advance(1000);
      }
      throw new Error(`plan still running after ${rounds} rounds: ${JSON.stringify((await plans.get(c.name))?.steps)}`);
    },
    async replicas() {
      const services = await c.port.listServices({ labels: ownedBy(c.name) });
      return Object.fromEntries(services.map((s) => [s.Spec.Name.slice(c.name.length + 1), s.Spec.Mode?.Replicated?.Replicas ?? -1]));
    },
  };
}

const ALL_ONE = { 'agent-a': 1, 'agent-b': 1, 'agent-c': 1, postgres: 1, redis: 1 };
const ALL_ZERO = { 'agent-a': 0, 'agent-b': 0, 'agent-c': 0, postgres: 0, redis: 0 };

/** What the cluster keeps besides services: secrets, configs and volumes by name. */
async function kept(c: MemoryCluster): Promise<string[]> {
  const [secrets, configs, volumes] = await Promise.all([
    c.port.listSecrets({ labels: ownedBy(c.name) }),
    c.port.listConfigs({ labels: ownedBy(c.name) }),
    c.port.listVolumes({ labels: ownedBy(c.name) }),
  ]);
  return [
    ...secrets.map((s) => `secret ${s.Spec.Name}`),
    ...configs.filter((x) => !x.Spec.Name.endsWith('_bzzz-v1')).map((x) => `config ${x.Spec.Name}`),
    ...volumes.map((v) => `volume ${v.Name}`),
  ].sort();
}

async function runningTasks(c: MemoryCluster): Promise<number> {
  const services = await c.port.listServices({ labels: ownedBy(c.name) });
  const tasks = await c.port.listTasks({ services: services.map((s) => s.ID) });
  return tasks.filter((t) => t.Status.State === 'running').length;
}

describe('the v1 reconciler: rollback to v1 and forward to v2', () => {
  it('GIVEN dev.yaml running on v2 WHEN a plan to v1 runs THEN every step is done in order: the units started on all hosts, the proxy switched after the mesh was verified, v2 parked at zero with everything kept', async () => {
    const k = await rig();
    expect(await k.replicas()).toEqual(ALL_ONE);
    const before = await kept(k.c);
    expect(before.some((x) => x.startsWith('secret bzzz-dev_postgres_password'))).toBe(true);
    expect(before.some((x) => x.startsWith('config bzzz-dev_bzzz_config'))).toBe(true);

    expect(await k.ask('v1')).toMatchObject({ id: 1, to: 'v1' });
    const plan = await k.run();

    expect(plan.phase).toBe('Done');
    expect(plan.steps.map((s) => `${s.name}:${s.state}`)).toEqual(V1_STEPS.v1.map((n) => `${n}:done`));
    expect(plan.steps.every((s) => s.attempts === 1 && s.startedAt && s.finishedAt)).toBe(true);
    expect(plan.parked).toBe(true);
    expect(servingSide(plan)).toBe('v1');
    // v1: started everywhere, verified, then the switch (make before break)
    expect(k.world.calls).toEqual(['start walnut', 'start ironwood', 'start acacia', 'verify', 'switch v1']);
    expect([...k.world.units.values()]).toEqual(['active', 'active', 'active']);
    expect(k.world.serving).toBe('v1');
    expect(plan.steps.find((s) => s.name === 'start-v1')?.detail).toBe('walnut: active; ironwood: active; acacia: active');
    expect(plan.steps.find((s) => s.name === 'switch-proxy')?.detail).toMatch(/^haproxy serves v1: walnut \(v1\) ready/);
    // v2: recorded, then parked — zero replicas, no task running, nothing deleted
    expect(plan.v2?.generation).toBe(1);
    expect(Object.keys(plan.v2?.services ?? {}).sort()).toEqual(Object.keys(ALL_ONE).map((s) => `bzzz-dev_${s}`));
    expect(plan.v2?.services['bzzz-dev_agent-a']).toMatchObject({ replicas: 1, image: expect.stringMatching(/^bzzz\/bzzzctl:v0\.1\.0/) });
    expect(plan.v2?.services['bzzz-dev_redis']).toMatchObject({ replicas: 1, image: expect.stringMatching(/^bzzz\/redis:7/) });
    expect(await k.replicas()).toEqual(ALL_ZERO);
    expect(await runningTasks(k.c)).toBe(0);
    expect(await kept(k.c)).toEqual(before);
    // announced once, naming the plan; the cluster's status says where it runs
    expect(k.announced).toHaveLength(1);
    expect(k.announced[0]).toMatchObject({ id: 1, to: 'v1', phase: 'Done', finishedAt: plan.finishedAt });
    const report = await k.c.pass();
    expect(report.status.conditions.find((x) => x.type === 'Ready')).toMatchObject({ status: 'False', reason: 'OnV1' });
    expect(report.status.v1).toMatchObject({ serving: 'v1', parked: true, plan: { id: 1, to: 'v1', phase: 'Done' } });
    // asked again: nothing
    expect(await k.ask('v1')).toBeUndefined();
  });

  it('GIVEN the cluster on v1 WHEN rolled forward to v2 THEN the services come back at their replicas, the proxy to v2, then the v1 units are stopped', async () => {
    const k = await rig();
    await k.ask('v1');
    const onV1 = await k.run();
    expect(await k.replicas()).toEqual(ALL_ZERO);
    k.world.calls.length = 0;

    expect(await k.ask('v2')).toMatchObject({ id: 2, to: 'v2', parked: true });
    const plan = await k.run();

    expect(plan.phase).toBe('Done');
    expect(plan.steps.map((s) => `${s.name}:${s.state}`)).toEqual(V1_STEPS.v2.map((n) => `${n}:done`));
    expect(plan.parked).toBe(false);
    expect(servingSide(plan)).toBe('v2');
    expect(plan.v2).toEqual(onV1.v2);
    const want = Object.fromEntries(Object.entries(onV1.v2!.services).map(([n, s]) => [n.slice('bzzz-dev_'.length), s.replicas]));
    expect(await k.replicas()).toEqual(want);
    expect(await runningTasks(k.c)).toBe(5);
    expect(k.world.calls).toEqual(['switch v2', 'stop walnut', 'stop ironwood', 'stop acacia']);
    expect(k.world.serving).toBe('v2');
    expect([...k.world.units.values()]).toEqual(['inactive', 'inactive', 'inactive']);
    expect(k.announced.map((p) => `${p.id} ${p.to}`)).toEqual(['1 v1', '2 v2']);
    const report = await k.c.pass();
    expect(report.status.conditions.find((x) => x.type === 'Ready')).toMatchObject({ status: 'True' });
    expect(report.status.v1).toMatchObject({ serving: 'v2', parked: false });
  });
});

describe('the v1 reconciler: failures leave v2 serving', () => {
  it('GIVEN the unit fails to start on acacia WHEN a plan to v1 runs THEN it fails at start-v1 naming acacia and what the others did; the units are stopped again, v2 never parked, the proxy never switched', async () => {
    const k = await rig();
    k.world.failStart.add('acacia');
    await k.ask('v1');
    const plan = await k.run();

    expect(plan.phase).toBe('Failed');
    const failed = failedStep(plan);
    expect(failed?.name).toBe('start-v1');
    expect(failed?.detail).toBe(
      '2 of 3 v1 host(s) came up, 3 needed: walnut: active; ironwood: active; acacia: bzzz@acacia.service failed (failed, exit-code) (last log: bzzz: listen tcp :8080: address already in use)',
    );
    expect(plan.steps.map((s) => `${s.name}:${s.state}`)).toEqual([
      'record-v2:done',
      'start-v1:failed',
      'verify-v1:skipped',
      'switch-proxy:skipped',
      'stop-v2:skipped',
      'notify:skipped',
      'undo-v1:done',
      'notify:done',
    ]);
    expect(k.world.calls).toEqual(['start walnut', 'start ironwood', 'start acacia', 'stop walnut', 'stop ironwood', 'stop acacia']);
    expect([...k.world.units.values()]).toEqual(['inactive', 'inactive', 'inactive']);
    expect(k.world.serving).toBe('v2');
    expect(plan.parked).toBe(false);
    expect(servingSide(plan)).toBe('v2');
    expect(await k.replicas()).toEqual(ALL_ONE);
    expect(await runningTasks(k.c)).toBe(5);
    expect(k.announced).toHaveLength(1);
    expect(k.announced[0]).toMatchObject({ phase: 'Failed', finishedAt: plan.finishedAt });
    const report = await k.c.pass();
    expect(report.status.conditions.find((x) => x.type === 'Ready')?.reason).not.toBe('OnV1');
    expect(report.status.v1).toMatchObject({ serving: 'v2', parked: false, plan: { phase: 'Failed' } });
  });

  it('GIVEN acacia fails and --min-hosts 2 WHEN a plan to v1 runs THEN it goes on with walnut and ironwood', async () => {
    const k = await rig();
    k.world.failStart.add('acacia');
    await k.ask('v1', 2);
    const plan = await k.run();
    expect(plan.phase).toBe('Done');
    expect(plan.steps.find((s) => s.name === 'verify-v1')?.detail).toMatch(
      /walnut: healthy, 1 peer\(s\); ironwood: healthy, 1 peer\(s\); acacia: unhealthy/,
    );
    expect(k.world.serving).toBe('v1');
  });

  it('GIVEN a mesh that never forms WHEN a plan to v1 runs THEN it fails at verify-v1, the units stopped again, the proxy never switched, v2 untouched', async () => {
    const k = await rig();
    k.world.meshForms = false;
    await k.ask('v1');
    const plan = await k.run();
    expect(plan.phase).toBe('Failed');
    expect(failedStep(plan)).toMatchObject({
      name: 'verify-v1',
      detail: expect.stringMatching(/^v1 mesh not verified: walnut: connection refused/),
    });
    expect(k.world.calls).toEqual([
      'start walnut',
      'start ironwood',
      'start acacia',
      'verify',
      'stop walnut',
      'stop ironwood',
      'stop acacia',
    ]);
    expect(k.world.serving).toBe('v2');
    expect(plan.parked).toBe(false);
    expect(await k.replicas()).toEqual(ALL_ONE);
  });

  it('GIVEN a proxy that refuses the switch WHEN a plan to v1 runs THEN it fails at switch-proxy, the proxy is put back first, then the units stopped; v2 untouched', async () => {
    const k = await rig();
    k.world.proxyRefuses = true;
    await k.ask('v1');
    const plan = await k.run();
    expect(plan.phase).toBe('Failed');
    expect(failedStep(plan)).toMatchObject({
      name: 'switch-proxy',
      detail: expect.stringMatching(/^haproxy serves v2 after the switch to v1: /),
    });
    expect(k.world.calls).toEqual([
      'start walnut',
      'start ironwood',
      'start acacia',
      'verify',
      'switch v1',
      'switch v2',
      'stop walnut',
      'stop ironwood',
      'stop acacia',
    ]);
    expect(plan.steps.slice(-3).map((s) => `${s.name}:${s.state}`)).toEqual(['undo-proxy:done', 'undo-v1:done', 'notify:done']);
    expect(servingSide(plan)).toBe('v2');
    expect(await k.replicas()).toEqual(ALL_ONE);
  });

  it('GIVEN a spec without spec.v1 WHEN a plan to v1 is asked for THEN it fails at start-v1 saying so, v2 untouched', async () => {
    const k = await rig((x) => void x);
    await k.ask('v1');
    const plan = await k.run();
    expect(plan.phase).toBe('Failed');
    expect(failedStep(plan)).toMatchObject({ name: 'start-v1', detail: expect.stringMatching(/generation 1 has no spec\.v1/) });
    expect(k.world.calls).toEqual([]);
    expect(await k.replicas()).toEqual(ALL_ONE);
  });
});

describe('the v1 reconciler: resumable and quiet', () => {
  it('GIVEN a controller killed during start-v1 WHEN a new one goes on THEN the plan finishes: each host started at most twice, verified, switched once after it, announced once', async () => {
    const k = await rig();
    await k.ask('v1');
    const signal = new AbortController().signal;
    // record-v2, then start-v1 journaled as running and the units started: the controller dies there.
    await k.c.pass();
    await k.reconciler.reconcile(k.c.name, signal);
    expect((await k.plans.get(k.c.name))?.steps[0]).toMatchObject({ name: 'record-v2', state: 'done' });
    k.world.hangNextStart = true;
    void k.reconciler.reconcile(k.c.name, signal);
    for (let i = 0; i < 50 && k.world.count('start acacia') === 0; i++) await new Promise((r) => setImmediate(r));
    expect(k.world.calls).toEqual(['start walnut', 'start ironwood', 'start acacia']);
    const mid = await k.plans.get(k.c.name);
    expect(mid?.steps[1]).toMatchObject({ name: 'start-v1', state: 'running', attempts: 1 });

    const plan = await k.run(k.newReconciler());
    expect(plan.phase).toBe('Done');
    expect(plan.steps.every((s) => s.state === 'done')).toBe(true);
    for (const h of HOSTS) expect(k.world.count(`start ${h}`)).toBeLessThanOrEqual(2);
    expect(k.world.count('switch v1')).toBe(1);
    expect(k.world.calls.indexOf('switch v1')).toBeGreaterThan(k.world.calls.lastIndexOf('verify'));
    expect(k.world.calls.filter((c) => c.startsWith('stop'))).toEqual([]);
    expect(plan.steps.find((s) => s.name === 'record-v2')?.attempts).toBe(1);
    expect(k.announced).toHaveLength(1);
    expect(await k.replicas()).toEqual(ALL_ZERO);
  });

  it('GIVEN no plan, then a finished one WHEN the v1 reconciler passes THEN it writes nothing and touches no host', async () => {
    const k = await rig();
    const signal = new AbortController().signal;
    k.c.port.clearWriteLog();
    expect(await k.reconciler.reconcile(k.c.name, signal)).toEqual({});
    expect(k.c.port.writeLog).toEqual([]);
    await k.ask('v1');
    await k.run();
    const sides = k.world.sides;
    const calls = k.world.calls.length;
    k.c.port.clearWriteLog();
    for (let i = 0; i < 3; i++) expect(await k.reconciler.reconcile(k.c.name, signal)).toEqual({});
    expect(k.c.port.writeLog).toEqual([]);
    expect(k.world.sides).toBe(sides);
    expect(k.world.calls).toHaveLength(calls);
  });

  it('GIVEN the cluster on v1 WHEN cluster passes go on THEN v2 stays parked (no service write)', async () => {
    const k = await rig();
    await k.ask('v1');
    await k.run();
    k.c.port.clearWriteLog();
    for (let i = 0; i < 3; i++) {
      k.c.advance(60_000);
      await k.c.pass();
    }
    expect(k.c.port.writeLog.filter((w) => /Service/.test(w))).toEqual([]);
    expect(await k.replicas()).toEqual(ALL_ZERO);
  });
});
