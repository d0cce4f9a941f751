// The Docker events watch against the real engine: objects created and removed under a unique
// cluster name reach the sink as that cluster; a dropped stream (its HTTP response destroyed —
// dockerd itself is shared and left alone) is re-opened, counted, and followed by a resync.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createController } from '../../src/controller/controller.js';
import { createControllerMetrics, type ControllerMetrics } from '../../src/controller/metrics.js';
import type { ClusterEventSource, ClusterSink } from '../../src/controller/types.js';
import type { ReconcileResult } from '../../src/reconcilers/reconciler.js';
import { createDockerEventSource } from '../../src/controller/sources/docker-events.js';
import { engineEvents, type EngineEvents } from '../../src/swarm/event-stream.js';

const docker = new Docker();
const run = randomBytes(3).toString('hex');
const PREFIX = `evtest-${run}`;
const IMAGE = 'bzzz-test/busybox:1';
const ROOT = join(import.meta.dirname, '../..');

/** Wait for a condition (an event to arrive), failing with `what` after timeoutMs. */
async function waitFor<T>(what: string, fn: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The real engine, with every events stream it opens kept so a test can cut one. */
function recordingDocker(): { api: EngineEvents; streams: NodeJS.ReadableStream[] } {
  const streams: NodeJS.ReadableStream[] = [];
  const real = engineEvents(docker);
  return {
    streams,
    api: {
      async open(filters, signal) {
        const stream = await real.open(filters, signal);
        streams.push(stream);
        return stream;
      },
      configLabels: (id) => real.configLabels(id),
    },
  };
}

function cut(stream: NodeJS.ReadableStream | undefined): void {
  (stream as NodeJS.ReadableStream & { destroy(): void }).destroy();
}

async function metric(metrics: ControllerMetrics, name: string, labels: Record<string, string> = {}): Promise<number> {
  const { values } = await metrics.registry.getSingleMetric(name)!.get();
  return values.filter((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val)).reduce((s, v) => s + v.value, 0);
}

const labelsOf = (cluster: string, extra: Record<string, string> = {}) => ({
  'io.bzzz.managed-by': 'bzzz-operator',
  'io.bzzz.cluster': cluster,
  'com.docker.stack.namespace': cluster,
  ...extra,
});

async function createConfig(name: string, labels: Record<string, string>): Promise<string> {
  const { id } = (await docker.createConfig({ Name: name, Labels: labels, Data: Buffer.from(`test ${name}`).toString('base64') })) as {
    id: string;
  };
  return id;
}

async function updateConfigLabels(id: string, labels: Record<string, string>): Promise<void> {
  const config = docker.getConfig(id);
  const info = await config.inspect();
  await config.update({ _query: { version: info.Version.Index }, _body: { ...info.Spec, Labels: { ...info.Spec?.Labels, ...labels } } });
}

async function createService(name: string, cluster: string, replicas: number): Promise<Docker.Service> {
  return docker.createService({
    Name: name,
    Labels: labelsOf(cluster),
    TaskTemplate: { ContainerSpec: { Image: IMAGE }, RestartPolicy: { Condition: 'none' } },
    Mode: { Replicated: { Replicas: replicas } },
  });
}

async function removeEverythingOfThisRun(): Promise<void> {
  const services = await docker.listServices({ filters: { name: [PREFIX] } });
  await Promise.all(
    services.map((s) =>
      docker
        .getService(s.ID)
        .remove()
        .catch(() => undefined),
    ),
  );
  const configs = await docker.listConfigs({ filters: { name: [PREFIX] } });
  await Promise.all(
    configs.map((c) =>
      docker
        .getConfig(c.ID)
        .remove()
        .catch(() => undefined),
    ),
  );
}

beforeAll(() => {
  try {
    execFileSync('docker', ['image', 'inspect', IMAGE], { stdio: 'ignore' });
  } catch {
    execFileSync('bash', [join(ROOT, 'scripts/build-test-images.sh')], { stdio: 'inherit' });
  }
});

afterAll(async () => {
  await removeEverythingOfThisRun();
});

describe('docker events watch (real engine)', () => {
  const cluster = `${PREFIX}-a`;
  const enqueued: Array<{ cluster: string; reason: string }> = [];
  const resyncs: string[] = [];
  let known: string[] = [];
  const sink: ClusterSink = {
    enqueue: (c, reason) => void enqueued.push({ cluster: c, reason }),
    resync: (reason) => void resyncs.push(reason),
    knownClusters: () => known,
  };
  const { api, streams } = recordingDocker();
  const metrics = createControllerMetrics({ defaultMetrics: false });
  let source: ClusterEventSource;
  const ac = new AbortController();

  const arrived = (reasonPart: string, c = cluster) =>
    waitFor(`"${reasonPart}" enqueued as ${c}`, () => enqueued.find((e) => e.cluster === c && e.reason.includes(reasonPart)));

  beforeAll(async () => {
    source = createDockerEventSource({ engine: api, metrics });
    await source.start(ac.signal, sink);
    expect(source.status().connected).toBe(true);
  });

  afterAll(() => ac.abort());

  it('enqueues a new cluster from its stored spec config before the cluster is known', async () => {
    known = [];
    await createConfig(`${cluster}_bzzz-spec-g1`, labelsOf(cluster, { 'io.bzzz.kind': 'spec', 'io.bzzz.generation': '1' }));
    await arrived(`config create ${cluster}_bzzz-spec-g1`);
  });

  it('finds a state config whose name does not follow the rule by its labels', async () => {
    const other = `${PREFIX}-b`;
    await createConfig(`${PREFIX}-odd-state`, labelsOf(other, { 'io.bzzz.kind': 'cluster' }));
    await arrived(`config create ${PREFIX}-odd-state`, other);
  });

  it('enqueues a cluster record update only when its generation moved, not for a status write', async () => {
    const id = await createConfig(`${cluster}_bzzz-cluster`, labelsOf(cluster, { 'io.bzzz.kind': 'cluster', 'io.bzzz.generation': '1' }));
    await arrived(`config create ${cluster}_bzzz-cluster`);
    await updateConfigLabels(id, { 'io.bzzz.status': '{"phase":"a"}' });
    await arrived('(generation 1)');
    await updateConfigLabels(id, { 'io.bzzz.status': '{"phase":"b"}' });
    await updateConfigLabels(id, { 'io.bzzz.generation': '2' });
    await arrived('(generation 2)');
    // Three updates, two generations: two enqueues (whichever event's inspect saw generation 2 first).
    const recordUpdates = enqueued.filter((e) => e.reason.startsWith(`config update ${cluster}_bzzz-cluster`));
    expect(recordUpdates.map((e) => e.reason.replace(/.*\(/, '('))).toEqual(['(generation 1)', '(generation 2)']);
  });

  it('maps a service of a known cluster by its name, on create and on remove', async () => {
    known = [cluster];
    const service = await createService(`${cluster}_x`, cluster, 0);
    await arrived(`service create ${cluster}_x`);
    await service.remove();
    await arrived(`service remove ${cluster}_x`);
    expect(await metric(metrics, 'bzzz_operator_docker_events_total', { type: 'service', action: 'create' })).toBeGreaterThanOrEqual(1);
  });

  it('ignores a service whose name only starts like a known cluster', async () => {
    await createService(`${cluster}x_y`, `${cluster}x`, 0);
    await createConfig(`${cluster}_marker`, labelsOf(cluster));
    await arrived(`config create ${cluster}_marker`); // events arrive in order: the service's came first
    expect(enqueued.filter((e) => e.reason.includes(`${cluster}x_y`))).toEqual([]);
  });

  it('enqueues the cluster when one of its task containers is killed', async () => {
    await createService(`${cluster}_run`, cluster, 1);
    const containerId = await waitFor(
      'the task container to run',
      async () => (await docker.listContainers({ filters: { label: [`com.docker.swarm.service.name=${cluster}_run`] } }))[0]?.Id,
      60_000,
    );
    await docker.getContainer(containerId).kill();
    await arrived('container die');
  });

  it('reconnects after the stream drops, counts the reconnect and asks for a resync', async () => {
    const before = streams.length;
    cut(streams.at(-1));
    await waitFor('the watch to reconnect', () => source.status().reconnects === 1 && source.status().connected);
    expect(streams.length).toBe(before + 1);
    expect(resyncs).toEqual(['docker events watch reconnected']);
    expect(await metric(metrics, 'bzzz_operator_watch_reconnects_total')).toBe(1);
    // The new stream delivers.
    await createConfig(`${cluster}_after-reconnect`, labelsOf(cluster));
    await arrived(`config create ${cluster}_after-reconnect`);
  });

  it('closes its stream on abort', () => {
    ac.abort();
    expect(source.status().connected).toBe(false);
    expect((streams.at(-1) as NodeJS.ReadableStream & { destroyed: boolean }).destroyed).toBe(true);
  });
});

describe('controller manager driven by the real watch', () => {
  const cluster = `${PREFIX}-m`;
  const calls: string[] = [];
  const reconciler = {
    async reconcile(c: string): Promise<ReconcileResult> {
      calls.push(c);
      return {};
    },
  };

  it('reconciles on start, on a change of an owned object, and after the watch reconnects', async () => {
    const { api, streams } = recordingDocker();
    const metrics = createControllerMetrics({ defaultMetrics: false });
    const events = createDockerEventSource({ engine: api, metrics });
    const manager = createController({ reconciler, lister: { listClusters: async () => [cluster] }, events, metrics, resyncMs: 3_600_000 });
    const ac = new AbortController();
    const done = manager.start(ac.signal);
    try {
      await waitFor('the initial list to be reconciled', () => manager.ready && calls.length === 1);
      expect(manager.healthy()).toMatchObject({ ok: true });

      await createService(`${cluster}_svc`, cluster, 0);
      await waitFor('a reconcile after the service was created', () => calls.length === 2);

      cut(streams.at(-1));
      await waitFor('a reconcile after the watch reconnected', () => calls.length === 3);
      expect(events.status()).toMatchObject({ connected: true, reconnects: 1 });
      expect(manager.healthy().ok).toBe(true);
      expect(calls.every((c) => c === cluster)).toBe(true);
    } finally {
      ac.abort();
      await done;
    }
    expect(manager.healthy().ok).toBe(false);
  });
});
