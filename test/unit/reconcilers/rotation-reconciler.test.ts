// The secret rotation on the in-memory swarm, with a PostgreSQL that only knows logins: whole
// rotations driven by the keys reconciler and the cluster reconciler taking turns, with the one
// invariant checked after every single pass — every live task of every consumer mounts a value
// whose login exists, is enabled and has that password. Also with a controller that dies after
// every step (a new reconciler, nothing in memory) and with engine writes that fail.
import { describe, expect, it } from 'vitest';
import { createRotationReconciler, type PostgresLogins, type RotationEvent } from '../../../src/reconcilers/rotation-reconciler.js';
import type { Reconciler } from '../../../src/reconcilers/reconciler.js';
import { RotationStore } from '../../../src/store/rotation-store.js';
import type { BzzzCluster } from '../../../src/spec/types.js';
import type { SwarmPort } from '../../../src/swarm/port.js';
import { ownedBy } from '../../../src/swarm/labels.js';
import { silentLogger } from '../../../src/util/log.js';
import { type MemoryCluster, memoryCluster } from '../../support/memory-cluster.js';

const DEV = 'stacks/examples/dev.yaml';
const DAY = 86_400_000;

function withRotation(x: BzzzCluster): void {
  x.spec.secrets = {
    ...x.spec.secrets,
    postgres_app: { generate: { length: 24 }, rotate: { period: '1d', grace: '10m', consumer: { type: 'postgres', login: 'app' } } },
  };
  // Two replicas, one at a time: while redis rolls, one task runs the old value, one the new.
  const redis = x.spec.services?.redis;
  if (redis)
    Object.assign(redis, { replicas: 2, update: { parallelism: 1 }, secrets: [...(redis.secrets ?? []), { source: 'postgres_app' }] });
}

class FakePostgres implements PostgresLogins {
  readonly logins = new Map<string, { password: string; enabled: boolean }>();
  readonly calls: string[] = [];
  failNext = 0;
  async setLogin(o: { login: string; password: string }): Promise<void> {
    if (this.failNext-- > 0) throw new Error('psql: connection refused');
    this.calls.push(`set ${o.login}`);
    this.logins.set(o.login, { password: o.password, enabled: true });
  }
  async disableLogin(o: { login: string }): Promise<void> {
    this.calls.push(`disable ${o.login}`);
    const l = this.logins.get(o.login);
    if (l) l.enabled = false;
  }
}

/** Keeps every secret value written through the port, by name (the engine never gives them back). */
function recording(port: SwarmPort, values: Map<string, string>): SwarmPort {
  return new Proxy(port, {
    get(target, prop) {
      const v = Reflect.get(target, prop, target) as unknown;
      if (prop === 'createSecret' && typeof v === 'function')
        return async (spec: { Name: string; Data?: string }) => {
          values.set(spec.Name, Buffer.from(spec.Data ?? '', 'base64').toString());
          return (v as (s: unknown) => Promise<string>).call(target, spec);
        };
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

interface World {
  m: MemoryCluster;
  pg: FakePostgres;
  values: Map<string, string>;
  events: RotationEvent[];
  rotations: RotationStore;
  reconciler(): Reconciler;
  /** Every live task (running or starting) mounts a working credential (or the first, never-rotated value). */
  check(): Promise<void>;
}

async function world(): Promise<World> {
  // New redis tasks stay `starting` until the test lets them run: a rolling update takes passes.
  const m = await memoryCluster(DEV, {
    taskOutcome: ({ service }) => (service.Spec.Name.endsWith('_redis') ? { state: 'starting' } : undefined),
  });
  const values = new Map<string, string>();
  const port = recording(m.port, values);
  const pg = new FakePostgres();
  const events: RotationEvent[] = [];
  const rotations = new RotationStore(port, m.store);
  await m.apply(withRotation);
  await m.pass();
  m.port.setTaskStates(`${m.name}_redis`, { state: 'running' });
  const reconciler = () =>
    createRotationReconciler({
      port,
      store: m.store,
      rotations,
      postgres: pg,
      log: silentLogger(),
      now: m.now,
      onEvent: (_c, e) => events.push(e),
    });
  return {
    m,
    pg,
    values,
    events,
    rotations,
    reconciler,
    async check() {
      const services = await m.port.listServices({ labels: ownedBy(m.name) });
      const tasks = await m.port.listTasks({ services: services.map((s) => s.ID) });
      for (const t of tasks.filter((t) => !['shutdown', 'complete', 'failed', 'rejected', 'orphaned', 'remove'].includes(t.Status.State))) {
        for (const ref of t.Spec.ContainerSpec?.Secrets ?? []) {
          const value = values.get(ref.SecretName);
          const conn = value ? /^user=(\S+) password=(\S+)$/.exec(value) : null;
          if (!conn) continue; // not a rotated postgres value (or its first, never-used one)
          const login = pg.logins.get(conn[1]!);
          expect(login, `login ${conn[1]} of ${ref.SecretName} exists`).toBeDefined();
          expect(login?.enabled, `login ${conn[1]} mounted by a live task is enabled`).toBe(true);
          expect(login?.password).toBe(conn[2]);
        }
      }
    },
  };
}

const signal = new AbortController().signal;

/** Passes of both reconcilers until the item's run is over (or a bound), checking after each. */
async function drive(w: World, opts: { restartEachPass?: boolean; stepMs?: number; max?: number } = {}): Promise<void> {
  let r = w.reconciler();
  for (let i = 0; i < (opts.max ?? 80); i++) {
    if (opts.restartEachPass) r = w.reconciler();
    await r.reconcile(w.m.name, signal);
    await w.check();
    await w.m.pass();
    await w.check();
    if (i % 4 === 3) w.m.port.setTaskStates(`${w.m.name}_redis`, { state: 'running' });
    await w.check();
    w.m.advance(opts.stepMs ?? 60_000);
    const item = (await w.rotations.get(w.m.name))?.items['secret:postgres_app'];
    if (item?.login && !item.run) return;
  }
  throw new Error('rotation did not finish');
}

describe('secret rotation with a postgres consumer', () => {
  it('makes login app_a first, then alternates to app_b on schedule, disabling app_a only after redis rolled', async () => {
    const w = await world();
    await drive(w);
    let item = (await w.rotations.get(w.m.name))?.items['secret:postgres_app'];
    expect(item?.login).toBe('app_a');
    expect(w.pg.calls).toEqual(['set app_a']);
    const first = item?.current;
    expect((await w.m.service('redis')).Spec.TaskTemplate.ContainerSpec.Secrets?.map((s) => s.SecretName)).toContain(first);

    w.m.advance(DAY * 1.1);
    await drive(w);
    item = (await w.rotations.get(w.m.name))?.items['secret:postgres_app'];
    expect(item?.login).toBe('app_b');
    expect(w.pg.calls).toEqual(['set app_a', 'set app_b', 'disable app_a']);
    expect(item?.last?.outcome).toBe('succeeded');
    // The old version is gone after the grace period; the new one is what redis mounts.
    const secrets = (await w.m.port.listSecrets({ labels: ownedBy(w.m.name) })).map((s) => s.Spec.Name);
    expect(secrets).not.toContain(first);
    expect(secrets).toContain(item?.current);
    expect(w.events.map((e) => e.kind)).toEqual(['started', 'succeeded', 'started', 'succeeded']);
  });

  it('finishes with a controller that dies after every pass, never leaving a task on a dead login', async () => {
    const w = await world();
    await drive(w, { restartEachPass: true });
    w.m.advance(DAY * 1.1);
    await drive(w, { restartEachPass: true });
    const item = (await w.rotations.get(w.m.name))?.items['secret:postgres_app'];
    expect(item?.login).toBe('app_b');
    expect(w.pg.calls.filter((c) => c.startsWith('disable'))).toEqual(['disable app_a']);
    // No staged version left behind by the restarts.
    const versions = (await w.m.port.listSecrets({ labels: ownedBy(w.m.name) })).filter(
      (s) => s.Spec.Labels?.['io.bzzz.logical'] === 'postgres_app',
    );
    expect(versions.map((v) => v.Spec.Name)).toEqual([item?.current]);
  });

  it('keeps the old login while PostgreSQL refuses the new password, records the failure, and goes on once it answers', async () => {
    const w = await world();
    await drive(w);
    w.m.advance(DAY * 1.1);
    w.pg.failNext = 3;
    await drive(w);
    const item = (await w.rotations.get(w.m.name))?.items['secret:postgres_app'];
    expect(item?.login).toBe('app_b');
    expect(w.events.filter((e) => e.kind === 'failed')).toHaveLength(3);
    expect(w.pg.calls).toEqual(['set app_a', 'set app_b', 'disable app_a']);
  });

  it('starts a manual rotation asked for in the journal before the period is up', async () => {
    const w = await world();
    await drive(w);
    await w.rotations.update(w.m.name, (s) => {
      const it = s?.items['secret:postgres_app'];
      return s && it
        ? {
            ...s,
            items: { ...s.items, 'secret:postgres_app': { ...it, requested: { at: new Date(w.m.now()).toISOString(), by: 'test' } } },
          }
        : undefined;
    });
    await drive(w);
    const item = (await w.rotations.get(w.m.name))?.items['secret:postgres_app'];
    expect(item?.login).toBe('app_b');
    expect(item?.last?.detail).toBe('manual rotation');
    expect(item?.requested).toBeUndefined();
  });

  it('reports a roll that does not move after 10 minutes, keeping the old login', async () => {
    const w = await world();
    await drive(w);
    w.m.advance(DAY * 1.1);
    // New redis tasks never start: the roll cannot finish.
    w.m.port.setTaskStates(`${w.m.name}_redis`, { state: 'running' });
    const r = w.reconciler();
    for (let i = 0; i < 30; i++) {
      await r.reconcile(w.m.name, signal);
      await w.m.pass();
      await w.check();
      w.m.advance(60_000);
    }
    const item = (await w.rotations.get(w.m.name))?.items['secret:postgres_app'];
    expect(item?.run?.step).toBe('roll');
    expect(item?.run?.lastError).toMatch(/consumers have not rolled for \d+ min: service bzzz-dev_redis still runs/);
    expect(w.pg.logins.get('app_a')?.enabled).toBe(true);
    expect(w.events.filter((e) => e.kind === 'failed')).toHaveLength(1);
  });

  it('mounts no third version when PostgreSQL is not up yet for the first rotation', async () => {
    const w = await world();
    w.pg.failNext = 5;
    await drive(w);
    const item = (await w.rotations.get(w.m.name))?.items['secret:postgres_app'];
    expect(item?.login).toBe('app_a');
    const mounted = (await w.m.service('redis')).Spec.TaskTemplate.ContainerSpec.Secrets?.map((x) => x.SecretName) ?? [];
    expect(mounted).toContain(item?.current);
  });
});
