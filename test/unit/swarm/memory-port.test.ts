// The in-memory SwarmPort: the same contract scenarios the real engine passes
// (test/integration/port-contract.test.ts), then what only the fake offers tests: a write log,
// injected failures and races, and a deterministic task model.
import { describe, expect, it } from 'vitest';
import type { ServiceSpec } from '../../../src/swarm/api-types.js';
import { EngineCallError } from '../../../src/swarm/errors.js';
import { createMemorySwarmPort, type MemorySwarmPortOptions } from '../../../src/swarm/memory-port.js';
import { ConflictError, EngineUnavailableError } from '../../../src/util/errors.js';
import { describePortContract } from '../../support/port-contract.js';

const T0 = Date.UTC(2025, 0, 1);
const contractPort = createMemorySwarmPort({ now: () => new Date(T0) });
describePortContract('in-memory port', () => ({ port: contractPort, prefix: 'contract' }));

function setup(opts: MemorySwarmPortOptions = {}) {
  let now = T0;
  const port = createMemorySwarmPort({ now: () => new Date(now), ...opts });
  return { port, tick: (ms: number) => (now += ms) };
}

const svc = (name: string, image: string, replicas: number, extra: Partial<ServiceSpec> = {}): ServiceSpec => ({
  Name: name,
  TaskTemplate: { ContainerSpec: { Image: image } },
  Mode: { Replicated: { Replicas: replicas } },
  ...extra,
});

const running = async (port: ReturnType<typeof setup>['port'], id: string) =>
  (await port.listTasks({ services: [id] }))
    .filter((t) => t.DesiredState === 'running')
    .map((t) => `${t.Slot}:${t.Spec.ContainerSpec?.Image}:${t.Status.State}`)
    .sort();

describe('the in-memory port as a test double', () => {
  it('GIVEN writes and reads WHEN the log is read THEN it names every write call in order, reads not at all, refused ones too', async () => {
    const { port } = setup();
    const id = await port.createConfig({ Name: 'c1', Data: 'eA==' });
    await port.listConfigs();
    await port.updateConfig(id, 1, { Name: 'c1', Labels: { a: '1' } }).catch(() => undefined); // stale: refused
    await port.removeConfig(id);
    expect(port.writeLog).toEqual(['createConfig c1', 'updateConfig c1', 'removeConfig c1']);
    expect(port.writes).toBe(3);
    port.clearWriteLog();
    expect(port.writes).toBe(0);
  });

  it('GIVEN CreatedAt from the injected clock WHEN an object is updated later THEN UpdatedAt moves and CreatedAt stays', async () => {
    const { port, tick } = setup();
    const id = await port.createConfig({ Name: 'c', Data: 'eA==' });
    tick(5_000);
    const [c] = await port.listConfigs({ names: ['c'] });
    await port.updateConfig(id, c.Version.Index, { Name: 'c', Labels: { x: '1' } });
    const [after] = await port.listConfigs({ names: ['c'] });
    expect([after.CreatedAt, after.UpdatedAt]).toEqual([new Date(T0).toISOString(), new Date(T0 + 5_000).toISOString()]);
  });

  it('GIVEN an injected engine 500 WHEN the next call runs THEN it fails as the docker port reports it, and the call after succeeds', async () => {
    const { port } = setup();
    port.failNext('createSecret', { statusCode: 500, message: 'rpc error: code = Unavailable desc = raft is down' });
    const err = await port.createSecret({ Name: 's', Data: 'eA==' }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(EngineCallError);
    expect((err as EngineCallError).statusCode).toBe(500);
    expect((err as Error).message).toBe('create secret s: rpc error: code = Unavailable desc = raft is down');
    expect(await port.listSecrets()).toEqual([]);
    await port.createSecret({ Name: 's', Data: 'eA==' });
    expect((await port.listSecrets()).map((s) => s.Spec.Name)).toEqual(['s']);
  });

  it('GIVEN an injected "not a swarm manager" answer WHEN read THEN the docker port advice comes out (same translation)', async () => {
    const { port } = setup();
    port.failNext('listServices', {
      statusCode: 503,
      message: 'This node is not a swarm manager. Worker nodes cannot be used to view or modify cluster state.',
    });
    const err = await port.listServices().catch((e: Error) => e);
    expect(err).toBeInstanceOf(EngineUnavailableError);
    expect((err as Error).message).toMatch(/swarm worker: run bzzzctl against a manager node/);
  });

  it('GIVEN another writer scheduled before the next update WHEN a version-checked update goes out THEN it conflicts, every time', async () => {
    const { port } = setup();
    const id = await port.createService(svc('web', 'nginx:1', 1));
    const [read] = await port.listServices();
    port.beforeNext('updateService', async () => {
      await port.updateService(id, read.Version.Index, svc('web', 'nginx:1', 3)); // someone scales it meanwhile
    });
    const err = await port.updateService(id, read.Version.Index, svc('web', 'nginx:2', 1)).catch((e: Error) => e);
    expect(err).toBeInstanceOf(ConflictError);
    expect(await running(port, id)).toEqual(['1:nginx:1:running', '2:nginx:1:running', '3:nginx:1:running']);
  });

  it('GIVEN a service WHEN created and scaled THEN one running task per replica, and Labels, Mode and engine defaults filled in as the engine stores them', async () => {
    const { port } = setup();
    const id = await port.createService({ Name: 'db', TaskTemplate: { ContainerSpec: { Image: 'postgres:15' } } });
    expect(await running(port, id)).toEqual(['1:postgres:15:running']);
    const [s] = await port.listServices({ names: ['db'] });
    expect(s.Spec).toEqual({
      Name: 'db',
      Labels: {},
      TaskTemplate: { ContainerSpec: { Image: 'postgres:15', Isolation: 'default' }, ForceUpdate: 0, Runtime: 'container' },
      Mode: { Replicated: { Replicas: 1 } },
    });
    await port.updateService(id, s.Version.Index, svc('db', 'postgres:15', 3));
    expect(await running(port, id)).toEqual(['1:postgres:15:running', '2:postgres:15:running', '3:postgres:15:running']);
    // Scaling is not a rolling update: no UpdateStatus.
    expect((await port.listServices())[0].UpdateStatus).toBeUndefined();
  });

  it('GIVEN a new image WHEN the service is updated THEN old tasks shut down, new ones run, and the update completes', async () => {
    const { port } = setup();
    const id = await port.createService(svc('web', 'nginx:1', 2));
    await port.updateService(id, (await port.listServices())[0].Version.Index, svc('web', 'nginx:2', 2));
    expect(await running(port, id)).toEqual(['1:nginx:2:running', '2:nginx:2:running']);
    const [s] = await port.listServices();
    expect(s.UpdateStatus?.State).toBe('completed');
    expect(s.PreviousSpec?.TaskTemplate.ContainerSpec.Image).toBe('nginx:1');
    const history = (await port.listTasks({ services: ['web'] })).filter((t) => t.DesiredState === 'shutdown');
    expect(history.map((t) => `${t.Slot}:${t.Spec.ContainerSpec?.Image}:${t.Status.State}`).sort()).toEqual([
      '1:nginx:1:shutdown',
      '2:nginx:1:shutdown',
    ]);
  });

  it.each([
    ['pause', 'paused', ['1:web:2:rejected', '2:web:1:running', '3:web:1:running'], 'web:2'],
    ['rollback', 'rollback_completed', ['1:web:1:running', '2:web:1:running', '3:web:1:running'], 'web:1'],
    ['continue', 'completed', ['1:web:2:rejected', '2:web:2:rejected', '3:web:2:rejected'], 'web:2'],
  ] as const)(
    'GIVEN new tasks that fail and FailureAction %s WHEN the image changes THEN the update ends %s',
    async (action, state, tasks, specImage) => {
      const { port } = setup({
        taskOutcome: ({ image }) => (image === 'web:2' ? { state: 'rejected', err: 'No such image: web:2' } : undefined),
      });
      const policy = { UpdateConfig: { Parallelism: 1, FailureAction: action } };
      const id = await port.createService(svc('web', 'web:1', 3, policy));
      await port.updateService(id, (await port.listServices())[0].Version.Index, svc('web', 'web:2', 3, policy));
      const [s] = await port.listServices();
      expect(s.UpdateStatus?.State).toBe(state);
      expect(await running(port, id)).toEqual(tasks);
      expect(s.Spec.TaskTemplate.ContainerSpec.Image).toBe(specImage);
      if (action === 'rollback') expect(s.PreviousSpec).toBeUndefined(); // as swarmkit: forgotten after a rollback
      if (action === 'pause') expect(s.UpdateStatus?.Message).toMatch(/^update paused due to failure or early termination of task \w+$/);
    },
  );

  it('GIVEN tasks left pending WHEN a test starts them THEN the rolling update proceeds batch by batch and completes, raising the version', async () => {
    const { port } = setup({ taskOutcome: ({ image }) => (image === 'web:2' ? { state: 'pending' } : undefined) });
    const policy = { UpdateConfig: { Parallelism: 1 } };
    const id = await port.createService(svc('web', 'web:1', 2, policy));
    await port.updateService(id, (await port.listServices())[0].Version.Index, svc('web', 'web:2', 2, policy));
    expect(await running(port, id)).toEqual(['1:web:2:pending', '2:web:1:running']);
    const before = (await port.listServices())[0];
    expect(before.UpdateStatus?.State).toBe('updating');
    port.setTaskStates('web', { state: 'running' });
    expect(await running(port, id)).toEqual(['1:web:2:running', '2:web:2:pending']);
    port.setTaskStates('web', { state: 'running' });
    const after = (await port.listServices())[0];
    expect(after.UpdateStatus?.State).toBe('completed');
    expect(after.Version.Index).toBeGreaterThan(before.Version.Index);
  });

  it('GIVEN placement on a node that is not this one WHEN created THEN its task stays pending with the scheduler reason', async () => {
    const { port } = setup({ hostname: 'walnut', nodeLabels: { tier: 'edge' } });
    const placed = (c: string[]) => ({ TaskTemplate: { ContainerSpec: { Image: 'a:1' }, Placement: { Constraints: c } } });
    const ok = await port.createService({
      ...svc('ok', 'a:1', 1),
      ...placed(['node.hostname==walnut', 'node.labels.tier==edge', 'node.role!=worker']),
    });
    const away = await port.createService({ ...svc('away', 'a:1', 1), ...placed(['node.hostname==ironwood']) });
    expect(await running(port, ok)).toEqual(['1:a:1:running']);
    const [t] = await port.listTasks({ services: [away] });
    expect([t.Status.State, t.Status.Err]).toEqual(['pending', 'no suitable node (scheduling constraints not satisfied on 1 node)']);
    expect((await port.listNodes()).map((n) => [n.Description.Hostname, n.Spec.Role])).toEqual([['walnut', 'manager']]);
  });

  it('GIVEN a service mounting a named volume WHEN its task runs THEN the engine-made volume carries the mount labels, and is removable only once the service is gone', async () => {
    const { port } = setup();
    const id = await port.createService({
      ...svc('db', 'postgres:15', 1),
      TaskTemplate: {
        ContainerSpec: {
          Image: 'postgres:15',
          Mounts: [{ Type: 'volume', Source: 'x_pgdata', Target: '/data', VolumeOptions: { Labels: { 'io.bzzz.cluster': 'x' } } }],
        },
      },
    });
    expect((await port.listVolumes({ labels: ['io.bzzz.cluster=x'] })).map((v) => v.Name)).toEqual(['x_pgdata']);
    const inUse = await port.removeVolume('x_pgdata').catch((e: Error) => e);
    expect((inUse as EngineCallError).statusCode).toBe(409);
    expect((inUse as Error).message).toMatch(/^remove volume x_pgdata: remove x_pgdata: volume is in use - \[[0-9a-f]{64}\]$/);
    await port.removeService(id);
    await port.removeVolume('x_pgdata');
    expect(await port.listVolumes()).toEqual([]);
  });

  it('GIVEN the same seed and the same calls WHEN run twice THEN the IDs are the same (deterministic tests)', async () => {
    const ids = async () => {
      const { port } = setup({ seed: 's' });
      return [await port.createConfig({ Name: 'a', Data: '' }), await port.createService(svc('b', 'b:1', 1))];
    };
    const [first, second] = [await ids(), await ids()];
    expect(first).toEqual(second);
    expect(first[0]).toMatch(/^[a-z0-9]{25}$/);
  });

  it('GIVEN objects returned by a list WHEN the caller mutates them THEN the swarm is unchanged (copies, as over HTTP)', async () => {
    const { port } = setup();
    await port.createConfig({ Name: 'c', Labels: { a: '1' }, Data: 'eA==' });
    const [c] = await port.listConfigs();
    c.Spec.Labels!.a = 'changed';
    c.Version.Index = 999;
    const [again] = await port.listConfigs();
    expect(again.Spec.Labels).toEqual({ a: '1' });
    expect(again.Version.Index).not.toBe(999);
  });
});
