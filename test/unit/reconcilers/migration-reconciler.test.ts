// The migration reconciler's passes on the in-memory port, interleaved with the cluster
// reconciler's (which parks the v2 services at zero replicas while the record says parkV2),
// against an in-memory v1 side: three hosts whose units start, stop, enable and disable, a mesh,
// an HAProxy whose weights record the shares asked for, a content importer answering per host
// (a manifest, or a chain break) and an archiver. stacks/examples/dev.yaml with spec.v1 and
// spec.migration added (the SSH key an external secret: the controller reads it mounted).
import { describe, expect, it } from 'vitest';
import { type ContentImporter, createMigrationReconciler, type V1Archiver } from '../../../src/reconcilers/migration-reconciler.js';
import { resumeMigration } from '../../../src/reconcilers/migration-plan.js';
import type { Reconciler } from '../../../src/reconcilers/reconciler.js';
import type { V1SideFactory } from '../../../src/reconcilers/v1-reconciler.js';
import type { HostUnitReport, MeshReport, ProxySide, ProxyView, V1HostTarget } from '../../../src/hosts/types.js';
import type { MigrationEvent, MigrationState } from '../../../src/spec/migration.js';
import type { RolloutCause } from '../../../src/spec/rollout.js';
import type { BzzzCluster, MigrationPhase, MigrationSpec } from '../../../src/spec/types.js';
import { MigrationStore } from '../../../src/store/migration-store.js';
import { ownedBy } from '../../../src/swarm/labels.js';
import { silentLogger } from '../../../src/util/log.js';
import { type MemoryCluster, memoryCluster } from '../../support/memory-cluster.js';

const DEV = 'stacks/examples/dev.yaml';
const HOSTS = ['walnut', 'ironwood', 'acacia'];
const HOST_KEY = 'SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s';
const KEY_SECRET = 'bzzz-dev-v1-ssh-key';
const AGE = 'age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p';

function withMigration(targetPhase: MigrationPhase, extra: Partial<MigrationSpec> = {}) {
  return (x: BzzzCluster) => {
    x.spec.secrets = { ...x.spec.secrets, v1_ssh_key: { external: KEY_SECRET } };
    x.spec.v1 = {
      ssh: { privateKeySecret: 'v1_ssh_key', timeout: '5s' },
      hosts: HOSTS.map((name, i) => ({ name, address: `10.0.0.${i + 1}`, hostKey: HOST_KEY })),
      proxy: {
        haproxy: { host: { address: '10.0.0.9', hostKey: HOST_KEY }, backend: 'bzzz', v1Servers: HOSTS, v2Servers: ['swarm'] },
      },
    };
    x.spec.migration = {
      targetPhase,
      cutover: { hold: '0s' },
      archive: { dir: '/var/backups/bzzz-v1', recipients: [AGE] },
      ...extra,
    };
  };
}

type UnitState = 'active' | 'inactive';

/** The v1 hosts, their mesh, HAProxy, the content store and the archive, in memory: what they were asked, in order. */
class V1World {
  readonly units = new Map<string, UnitState>(HOSTS.map((h) => [h, 'active']));
  readonly enabled = new Map<string, boolean>(HOSTS.map((h) => [h, true]));
  readonly calls: string[] = [];
  /** v2's share of traffic, as the proxy's weights say. */
  share = 0;
  serving: ProxySide = 'v1';
  meshForms = true;
  /** Hosts whose log has a broken chain. */
  readonly broken = new Set<string>();
  /** Set: the next import of this host does its work, then never answers (the controller dies with it). */
  hangImport?: string;
  sides = 0;

  count(call: string): number {
    return this.calls.filter((c) => c === call).length;
  }

  of(prefix: string): string[] {
    return this.calls.filter((c) => c.startsWith(prefix));
  }

  report(t: V1HostTarget): HostUnitReport {
    const s = this.units.get(t.name) ?? 'inactive';
    return {
      host: t.name,
      unit: t.unit,
      state: {
        activeState: s,
        subState: s === 'active' ? 'running' : 'dead',
        loadState: 'loaded',
        mainPid: s === 'active' ? 4242 : 0,
        unitFileState: this.enabled.get(t.name) ? 'enabled' : 'disabled',
      },
    };
  }

  mesh(): MeshReport {
    const up = HOSTS.filter((h) => this.units.get(h) === 'active' && this.meshForms);
    const hosts = HOSTS.map((host) =>
      up.includes(host) ? { host, healthy: true, peers: up.length - 1 } : { host, healthy: false, error: 'connection refused' },
    );
    const ok = up.length === HOSTS.length;
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
    return {
      kind: 'haproxy',
      serving: this.serving,
      v2Percent: this.share,
      servers: [
        ...HOSTS.map((name) => ({ name, side: 'v1' as const, state: this.serving === 'v2' ? 'maint' : 'ready' })),
        { name: 'swarm', side: 'v2' as const, state: this.serving === 'v1' ? 'maint' : 'ready' },
      ],
    };
  }

  readonly side: V1SideFactory = async (_cluster, v1) => {
    this.sides++;
    const targets: V1HostTarget[] = v1.hosts.map((h) => ({
      name: h.name,
      address: h.address,
      port: 22,
      user: 'root',
      hostKey: h.hostKey,
      timeoutMs: 5000,
      unit: `bzzz@${h.name}.service`,
    }));
    return {
      targets,
      hosts: {
        status: async (hosts) => hosts.map((t) => this.report(t)),
        start: async (hosts, o) => {
          for (const t of hosts) {
            this.calls.push(`start ${t.name}${o?.enable ? ' --enable' : ''}`);
            if (o?.enable) this.enabled.set(t.name, true);
            this.units.set(t.name, 'active');
          }
          return hosts.map((t) => this.report(t));
        },
        stop: async (hosts, o) => {
          for (const t of hosts) {
            this.calls.push(`stop ${t.name}${o?.disable ? ' --disable' : ''}`);
            this.units.set(t.name, 'inactive');
            if (o?.disable) this.enabled.set(t.name, false);
          }
          return hosts.map((t) => this.report(t));
        },
      },
      mesh: {
        verify: async () => this.mesh(),
        check: async () => this.mesh(),
      },
      proxy: {
        view: async () => this.view(),
        switchTo: async (to) => {
          this.calls.push(`switch ${to}`);
          this.serving = to;
          this.share = to === 'v2' ? 100 : 0;
          return this.view();
        },
        weigh: async (v2Percent) => {
          this.calls.push(`weigh ${v2Percent}`);
          this.share = v2Percent;
          this.serving = v2Percent === 0 ? 'v1' : v2Percent === 100 && this.serving === 'v2' ? 'v2' : 'both';
          return this.view();
        },
      },
    };
  };

  readonly importer: ContentImporter = {
    importHost: async ({ host }) => {
      this.calls.push(`import ${host.name}`);
      if (this.hangImport === host.name) {
        this.hangImport = undefined;
        return new Promise(() => {});
      }
      if (this.broken.has(host.name))
        return {
          ok: false,
          entries: 6,
          bytes: 1200,
          breaks: [{ line: 8, index: 7, reason: 'prev_hash does not match the hash of index 6' }],
          detail: 'chain broken at index 7 (line 8): prev_hash does not match the hash of index 6',
        };
      return { ok: true, entries: 12, bytes: 2400, manifest: `b3:manifest-${host.name}` };
    },
  };

  readonly archiver: V1Archiver = {
    archive: async ({ dir, paths, recipients }) => {
      this.calls.push(`archive ${dir} ${paths.join(',')} ${recipients.length}`);
      return { files: HOSTS.map((h) => `${dir}/bzzz-dev-${h}.tar.age`) };
    },
  };
}

interface Rig {
  c: MemoryCluster;
  world: V1World;
  migrations: MigrationStore;
  events: MigrationEvent[];
  reconciler: Reconciler;
  newReconciler(): Reconciler;
  target(phase: MigrationPhase): Promise<void>;
  /** Migration passes and cluster passes in turn, the clock moving on, until the migration stops moving. */
  settle(r?: Reconciler): Promise<MigrationState>;
  state(): Promise<MigrationState>;
  replicas(): Promise<Record<string, number>>;
}

/** What moves: everything but the times (a failing check is re-checked, with a new time, every pass). */
const moving = (s: MigrationState | undefined) =>
  JSON.stringify(s, (k, v) => (k === 'at' || k === 'startedAt' || k === 'finishedAt' ? undefined : v));

async function rig(first: MigrationPhase = 'v1-only'): Promise<Rig> {
  const c = await memoryCluster(DEV);
  await c.port.createSecret({ Name: KEY_SECRET, Data: Buffer.from('-----BEGIN OPENSSH PRIVATE KEY-----').toString('base64') });
  const world = new V1World();
  const migrations = new MigrationStore(c.port, c.store);
  const events: MigrationEvent[] = [];
  const newReconciler = () =>
    createMigrationReconciler({
      port: c.port,
      store: c.store,
      migrations,
      side: world.side,
      content: async () => world.importer,
      archiver: world.archiver,
      onEvent: (_cluster, e) => events.push(e),
      log: silentLogger(),
      now: () => new Date(c.now()),
      pollMs: 10,
    });
  const reconciler = newReconciler();
  const signal = new AbortController().signal;
  const k: Rig = {
    c,
    world,
    migrations,
    events,
    reconciler,
    newReconciler,
    async target(phase) {
      await c.apply(withMigration(phase));
    },
    async settle(r = reconciler) {
      let last = '';
      let still = 0;
      for (let i = 0; i < 200; i++) {
        await r.reconcile(c.name, signal);
        await c.pass();
        c.advance(1000);
        const now = moving(await migrations.get(c.name));
        still = now === last ? still + 1 : 0;
        last = now;
        if (still >= 3) return k.state();
      }
      throw new Error(`the migration still moves after 200 rounds: ${last}`);
    },
    async state() {
      const s = await migrations.get(c.name);
      if (!s) throw new Error('no migration record');
      return s;
    },
    async replicas() {
      const services = await c.port.listServices({ labels: ownedBy(c.name) });
      return Object.fromEntries(services.map((s) => [s.Spec.Name.slice(c.name.length + 1), s.Spec.Mode?.Replicated?.Replicas ?? -1]));
    },
  };
  // A first deploy: the migration's record is written before the cluster reconciler's first pass.
  await k.target(first);
  await reconciler.reconcile(c.name, signal);
  await c.pass();
  return k;
}

const ALL_ONE = { 'agent-a': 1, 'agent-b': 1, 'agent-c': 1, postgres: 1, redis: 1 };
const ALL_ZERO = { 'agent-a': 0, 'agent-b': 0, 'agent-c': 0, postgres: 0, redis: 0 };

const SIGNAL = new AbortController().signal;
const CAUSE: RolloutCause = { kind: 'manual', message: 'bzzzctl migrate resume', at: new Date(0).toISOString(), by: 'ops@walnut' };

const steps = (s: MigrationState) => s.transition?.steps.map((x) => `${x.name}:${x.state}`);
const phases = (events: MigrationEvent[]) => events.filter((e) => e.kind === 'phase').map((e) => `${e.from}→${e.to}`);

async function ready(c: MemoryCluster): Promise<boolean> {
  const report = await c.pass();
  return report.status.conditions.some((x) => x.type === 'Ready' && x.status === 'True');
}

/** A rig walked forward to `phase` (content imported for every host). */
async function at(phase: MigrationPhase): Promise<Rig> {
  const k = await rig();
  await k.target(phase);
  const s = await k.settle();
  expect(s.phase).toBe(phase);
  return k;
}

describe('the migration reconciler: forward, phase by phase', () => {
  it('GIVEN a first deploy with targetPhase v1-only THEN the migration starts at v1-only with v2 parked at zero replicas, and stays there', async () => {
    const k = await rig();
    const s = await k.settle();
    expect(s).toMatchObject({ phase: 'v1-only', parkV2: true });
    expect(s.transition).toBeUndefined();
    expect(await k.replicas()).toEqual(ALL_ZERO);
    expect(k.world.calls).toEqual([]);
    expect(k.events).toEqual([]);
    const report = await k.c.pass();
    expect(report.status.conditions.find((x) => x.type === 'Ready')).toMatchObject({
      status: 'False',
      reason: 'OnV1',
      message: expect.stringMatching(/^the migration holds the v2 services parked at zero replicas \(phase v1-only, target v1-only\)/),
    });
    expect(report.status.migration).toEqual({ phase: 'v1-only', target: 'v1-only' });
  });

  it('GIVEN v1-only WHEN start-v2 unparks v2 THEN it waits for the cluster reconciler to bring v2 up: a status Ready from before (parked) never counts', async () => {
    const k = await rig();
    await k.settle();
    await k.target('parallel');
    await k.c.pass();
    for (let i = 0; i < 8; i++) {
      await k.reconciler.reconcile(k.c.name, SIGNAL);
      k.c.advance(1000);
    }
    const waiting = await k.state();
    expect(waiting).toMatchObject({ phase: 'v1-only', parkV2: false });
    expect(steps(waiting)).toEqual(['start-v2:running']);
    expect(await k.replicas()).toEqual(ALL_ZERO);
    const s = await k.settle();
    expect(s.phase).toBe('parallel');
    expect(s.transition).toBeUndefined();
    expect(await k.replicas()).toEqual(ALL_ONE);
  });

  it('GIVEN v1-only WHEN the target is parallel THEN the gates are checked (v1 units, mesh, proxy on v1), v2 unparked and Ready, phase parallel', async () => {
    const k = await rig();
    await k.target('parallel');
    const s = await k.settle();
    expect(s.phase).toBe('parallel');
    expect(s.parkV2).toBe(false);
    expect(s.transition).toBeUndefined();
    expect(await k.replicas()).toEqual(ALL_ONE);
    expect(await ready(k.c)).toBe(true);
    expect(phases(k.events)).toEqual(['v1-only→parallel']);
    expect(k.world.calls).toEqual([]);
    // the v1 side untouched: v2 runs beside it
    expect([...k.world.units.values()]).toEqual(['active', 'active', 'active']);
    expect(k.world.serving).toBe('v1');
  });

  it('GIVEN a v1 mesh that does not form WHEN the target is parallel THEN the transition holds at its gate, the failing value recorded, v2 still parked; once it forms, it goes on', async () => {
    const k = await rig();
    k.world.meshForms = false;
    await k.target('parallel');
    const held = await k.settle();
    expect(held.phase).toBe('v1-only');
    expect(held.transition).toMatchObject({ from: 'v1-only', to: 'parallel', direction: 'forward' });
    expect(steps(held)).toEqual(['start-v2:pending']);
    expect(held.transition?.gates.map((g) => [g.name, g.ok, g.value])).toEqual([
      ['v1-units', true, '3/3 v1 units active'],
      ['v1-mesh', false, 'walnut: connection refused; ironwood: connection refused; acacia: connection refused'],
      ['proxy-v1', true, 'haproxy: v2 0 % (serving v1)'],
      ['ports-free', true, 'no v1 host is a swarm node'],
    ]);
    expect(held.parkV2).toBe(true);
    expect(await k.replicas()).toEqual(ALL_ZERO);
    const report = await k.c.pass();
    expect(report.status.migration).toMatchObject({
      phase: 'v1-only',
      target: 'parallel',
      transition: {
        from: 'v1-only',
        to: 'parallel',
        step: 'start-v2',
        failing: [expect.stringMatching(/^v1-mesh: walnut: connection refused/)],
      },
    });
    // held the same way: checked again, not written again
    k.c.port.clearWriteLog();
    for (let i = 0; i < 3; i++) {
      k.c.advance(5000);
      await k.reconciler.reconcile(k.c.name, SIGNAL);
    }
    expect(k.c.port.writeLog).toEqual([]);

    k.world.meshForms = true;
    const s = await k.settle();
    expect(s.phase).toBe('parallel');
    expect(await k.replicas()).toEqual(ALL_ONE);
  });

  it('GIVEN parallel WHEN the target is content-migrated THEN one import per host, each manifest recorded, phase content-migrated', async () => {
    const k = await at('parallel');
    await k.target('content-migrated');
    const s = await k.settle();
    expect(s.phase).toBe('content-migrated');
    expect(k.world.calls).toEqual(HOSTS.map((h) => `import ${h}`));
    expect(s.content).toEqual(
      Object.fromEntries(HOSTS.map((h) => [h, { entries: 12, bytes: 2400, manifest: `b3:manifest-${h}`, at: expect.any(String) }])),
    );
    expect(phases(k.events)).toEqual(['v1-only→parallel', 'parallel→content-migrated']);
  });

  it('GIVEN a broken chain on acacia THEN the migration pauses naming acacia, nothing more happens until resume; resumed once it is fixed, only acacia is imported again', async () => {
    const k = await at('parallel');
    k.world.broken.add('acacia');
    await k.target('content-migrated');
    const s = await k.settle();
    expect(s.phase).toBe('parallel');
    expect(s.paused?.message).toMatch(/step import:acacia failed: acacia: chain broken at index 7 .*bzzzctl migrate resume bzzz-dev/);
    expect(steps(s)).toEqual(['import:walnut:done', 'import:ironwood:done', 'import:acacia:failed']);
    expect(s.content?.acacia).toMatchObject({ entries: 6, breaks: [{ line: 8, index: 7 }] });
    expect(s.content?.acacia?.manifest).toBeUndefined();
    expect(k.events.at(-1)).toMatchObject({ kind: 'blocked', detail: expect.stringMatching(/acacia/) });
    const report = await k.c.pass();
    expect(report.status.migration?.paused).toMatch(/import:acacia failed/);

    // paused: nothing more, and nothing written
    const calls = k.world.calls.length;
    k.c.port.clearWriteLog();
    for (let i = 0; i < 3; i++) await k.reconciler.reconcile(k.c.name, SIGNAL);
    expect(k.world.calls).toHaveLength(calls);
    expect(k.c.port.writeLog).toEqual([]);

    k.world.broken.delete('acacia');
    await k.migrations.update(k.c.name, (cur) => (cur ? resumeMigration(cur, CAUSE) : undefined));
    const r = await k.settle();
    expect(r.phase).toBe('content-migrated');
    expect(k.world.calls).toEqual(['import walnut', 'import ironwood', 'import acacia', 'import acacia']);
    expect(r.content?.acacia).toMatchObject({ manifest: 'b3:manifest-acacia' });
    expect(r.content?.acacia?.breaks).toBeUndefined();
    expect(k.events.map((e) => e.kind).slice(-2)).toEqual(['resumed', 'phase']);
  });

  it('GIVEN content-migrated WHEN the target is cutover THEN the proxy is weighed 10, 50, 100 in order, phase cutover', async () => {
    const k = await at('content-migrated');
    k.world.calls.length = 0;
    await k.target('cutover');
    const s = await k.settle();
    expect(s.phase).toBe('cutover');
    expect(k.world.calls).toEqual(['weigh 10', 'weigh 50', 'weigh 100']);
    expect(s.v2Share).toBe(100);
    expect(k.world.share).toBe(100);
    expect(phases(k.events).at(-1)).toBe('content-migrated→cutover');
  });

  it('GIVEN a cutover on its way WHEN the target is lowered to content-migrated THEN it walks back (weigh 0) and ends at content-migrated', async () => {
    const k = await at('content-migrated');
    k.world.calls.length = 0;
    await k.target('cutover');
    const signal = new AbortController().signal;
    for (let i = 0; i < 40 && k.world.count('weigh 50') === 0; i++) {
      await k.reconciler.reconcile(k.c.name, signal);
      await k.c.pass();
      k.c.advance(1000);
    }
    expect(k.world.calls).toEqual(['weigh 10', 'weigh 50']);
    await k.target('content-migrated');
    const s = await k.settle();
    expect(s.phase).toBe('content-migrated');
    expect(k.world.calls).toEqual(['weigh 10', 'weigh 50', 'weigh 0']);
    expect(k.world.share).toBe(0);
    expect(k.world.serving).toBe('v1');
    expect(s.v2Share).toBe(0);
    expect(k.events.slice(-2).map((e) => `${e.kind} ${e.from}→${e.to}`)).toEqual([
      'step-back cutover→content-migrated',
      'phase cutover→content-migrated',
    ]);
  });

  it('GIVEN cutover WHEN the target is complete THEN v1 is archived, its units stopped and disabled, its routes retired, phase complete', async () => {
    const k = await at('cutover');
    k.world.calls.length = 0;
    await k.target('complete');
    const s = await k.settle();
    expect(s.phase).toBe('complete');
    expect(k.world.calls).toEqual([
      'archive /var/backups/bzzz-v1 /var/lib/bzzz 1',
      'stop walnut --disable',
      'stop ironwood --disable',
      'stop acacia --disable',
      'switch v2',
    ]);
    expect([...k.world.units.values()]).toEqual(['inactive', 'inactive', 'inactive']);
    expect([...k.world.enabled.values()]).toEqual([false, false, false]);
    expect(k.world.serving).toBe('v2');
    expect(await k.replicas()).toEqual(ALL_ONE);
    expect(phases(k.events)).toEqual(['v1-only→parallel', 'parallel→content-migrated', 'content-migrated→cutover', 'cutover→complete']);
  });

  it('GIVEN complete WHEN the target is v1-only THEN it walks back phase by phase (start v1, routes back, weigh 0, park v2): v2 parked, v1 serving', async () => {
    const k = await at('complete');
    k.world.calls.length = 0;
    await k.target('v1-only');
    const s = await k.settle();
    expect(s.phase).toBe('v1-only');
    expect(s.parkV2).toBe(true);
    expect(k.world.calls).toEqual(['start walnut --enable', 'start ironwood --enable', 'start acacia --enable', 'weigh 100', 'weigh 0']);
    expect([...k.world.units.values()]).toEqual(['active', 'active', 'active']);
    expect(k.world.serving).toBe('v1');
    expect(k.world.share).toBe(0);
    expect(await k.replicas()).toEqual(ALL_ZERO);
    expect(phases(k.events).slice(-4)).toEqual([
      'complete→cutover',
      'cutover→content-migrated',
      'content-migrated→parallel',
      'parallel→v1-only',
    ]);
  });
});

describe('the migration reconciler: resumable and quiet', () => {
  it('GIVEN a controller killed during an import WHEN a new one goes on THEN no finished step runs again: one import per host but the one cut short', async () => {
    const k = await at('parallel');
    k.world.hangImport = 'ironwood';
    await k.target('content-migrated');
    const signal = new AbortController().signal;
    for (let i = 0; i < 40 && k.world.count('import ironwood') === 0; i++) {
      const pass = k.reconciler.reconcile(k.c.name, signal);
      await Promise.race([pass, new Promise((r) => setTimeout(r, 20))]);
      await k.c.pass();
    }
    const mid = await k.state();
    expect(steps(mid)).toEqual(['import:walnut:done', 'import:ironwood:running', 'import:acacia:pending']);

    const s = await k.settle(k.newReconciler());
    expect(s.phase).toBe('content-migrated');
    expect(k.world.calls).toEqual(['import walnut', 'import ironwood', 'import ironwood', 'import acacia']);
    expect(Object.keys(s.content ?? {}).sort()).toEqual([...HOSTS].sort());
  });

  it('GIVEN a walk to complete THEN every event is announced once, in order, and marked announced', async () => {
    const k = await at('complete');
    const s = await k.state();
    expect(s.log?.every((e) => e.announced)).toBe(true);
    expect(k.events.map((e) => ({ ...e, announced: true }))).toEqual(s.log);
    expect(k.events.every((e) => e.announced === undefined)).toBe(true);
    expect(phases(k.events)).toHaveLength(4);
  });

  it('GIVEN a settled migration WHEN the reconciler passes THEN it writes nothing and touches no host', async () => {
    const k = await at('parallel');
    const sides = k.world.sides;
    k.c.port.clearWriteLog();
    for (let i = 0; i < 3; i++) expect(await k.reconciler.reconcile(k.c.name, SIGNAL)).toEqual({});
    expect(k.c.port.writeLog).toEqual([]);
    expect(k.world.sides).toBe(sides);
  });

  it('GIVEN no spec.migration THEN the reconciler does nothing', async () => {
    const c = await memoryCluster(DEV);
    await c.apply();
    await c.pass();
    const world = new V1World();
    const r = createMigrationReconciler({
      port: c.port,
      store: c.store,
      migrations: new MigrationStore(c.port, c.store),
      side: world.side,
      log: silentLogger(),
    });
    c.port.clearWriteLog();
    expect(await r.reconcile(c.name, SIGNAL)).toEqual({});
    expect(c.port.writeLog).toEqual([]);
    expect(world.sides).toBe(0);
  });
});
