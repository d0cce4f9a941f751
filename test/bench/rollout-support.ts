// Shared parts of the rollout benchmarks (rollout-alert.ts, rollout-bad-release.ts,
// rollout-analysis-cost.ts): the agent image of this tree, a small cluster spec, the real CLI and
// the real controller, the engine's event stream, what a service runs now, and cleanup.
//
// The swarm is shared with other sessions: cluster names are unique per run, published ports come
// from 27000–27999, and everything made is removed at the end (also on Ctrl-C). The controller
// lease is one per swarm: a benchmark waits until nobody holds it and keeps its controller only
// while it measures.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { hostname, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ensureImages } from '../../src/images/index.js';
import { deleteCluster } from '../../src/ops/teardown.js';
import { ClusterStore } from '../../src/store/cluster-store.js';
import { leaseIsLive, readLease } from '../../src/store/lease.js';
import { RolloutStore, type RolloutState } from '../../src/store/rollout-store.js';
import { createDockerClient, DockerSwarmPort } from '../../src/swarm/docker-port.js';
import { startController, type RunningController } from '../../src/controller/run.js';
import { captureLog } from '../support/capture-log.js';
import { waitFor } from '../integration/harness.js';

export const ROOT = resolve(import.meta.dirname, '../..');
export const BIN = join(ROOT, 'bin/bzzzctl.js');
/** The agent image: this tree's build (npm run build first), under a tag no other session uses. */
export const AGENT_IMAGE = 'bzzz/bzzzctl:bench-rollout';
export const COMPANION_IMAGE = 'bzzz-test/busybox:1';

export const port = new DockerSwarmPort();
export const store = new ClusterStore(port);
export const rollouts = new RolloutStore(port, store);

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/** ms since the epoch, sub-ms (comparable with the engine's event timeNano on this host). */
export const now = (): number => performance.timeOrigin + performance.now();

export function fail(script: string, message: string): never {
  process.stderr.write(`${script}: ${message}\n`);
  process.exit(2);
}

export function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
}

export function load(): string {
  return loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');
}

export { waitFor };

// ---------------------------------------------------------------- processes

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<RunResult> {
  return new Promise((res) => {
    const p = spawn(cmd, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('close', (code) => res({ code: code ?? -1, stdout, stderr }));
  });
}

export async function must(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  const r = await run(cmd, args, env);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}:\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

export const bzzzctl = (args: string[], env: NodeJS.ProcessEnv = {}) => must(process.execPath, [BIN, ...args], env);
export const docker = (...args: string[]) => must('docker', args);

// ---------------------------------------------------------------- images, lease

/** Builds the agent image from this tree when it is not current (the tree must be built: npm run build). */
export async function ensureAgentImage(): Promise<void> {
  const r = await ensureImages({ images: [AGENT_IMAGE] });
  if (r.built.length) console.log(`(built ${r.built.join(', ')})`);
  if ((await run('docker', ['image', 'inspect', COMPANION_IMAGE])).code !== 0) {
    await must('bash', [join(ROOT, 'scripts/build-test-images.sh')]);
  }
}

/** Waits until no controller holds the swarm's one lease (other sessions' tests run their own; up to 30 min). */
export async function waitForFreeLease(maxMs = 30 * 60_000): Promise<void> {
  let said = false;
  await waitFor(
    'the controller lease to be free (another controller holds it: stop it, or wait)',
    async () => {
      const lease = await readLease(port);
      const live = leaseIsLive(lease, Date.now());
      if (live && !said) {
        console.log(`(waiting: controller ${lease?.holder} holds the lease)`);
        said = true;
      }
      return !live;
    },
    maxMs,
    100,
  );
}

/**
 * The real controller in this process, on the benchmark's own clusters only, reaching the agents
 * on their published ports; its log lines are kept in `lines` (for a failure message).
 */
export async function startBenchController(clusters: string[], lines: string[]): Promise<RunningController> {
  for (;;) {
    await waitForFreeLease();
    const ctl = await startController({
      listen: '127.0.0.1:0',
      resyncMs: 30_000,
      workers: 2,
      log: captureLog({}, lines),
      probeAgents: false,
      agentsVia: 'published-ports',
      clusters,
    });
    if (await holdsLease(process.pid)) return ctl;
    await ctl.stop(); // another session's controller took the lease first: wait again
  }
}

/** Whether the controller process `pid` of this host holds the lease within a few seconds. */
export async function holdsLease(pid: number): Promise<boolean> {
  const me = `${hostname()}/${pid}`;
  return waitFor('the lease', async () => (await readLease(port))?.holder === me, 5000, 50).then(
    () => true,
    () => false,
  );
}

// ---------------------------------------------------------------- the cluster spec

export interface SmallClusterOptions {
  name: string;
  /** Published host ports of the agent instances (API, health), one pair each. */
  agents: Array<{ name: string; api: number; health: number }>;
  /** Marks the release: env BENCH_RELEASE of every service (a change to the whole stack). */
  release: number;
  /** BZZZ_FAULT of the agents (undefined: none). */
  fault?: string;
  /** YAML of spec.upgrade.analysis (indented 4), or undefined. */
  analysis?: string;
  /** The Alertmanager webhook with one rollback trigger on this alert name. */
  webhookAlert?: string;
  /** Swarm's own update policy for every service. */
  failureAction?: 'pause' | 'rollback' | 'continue';
  monitor?: string;
}

/** The agent's health check on /health (a failing critical check is 503 there; /health/live stays 200). */
export const HEALTH_CMD = [
  'CMD',
  'node',
  '-e',
  "fetch('http://127.0.0.1:8081/health',{signal:AbortSignal.timeout(900)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))",
];
export const HEALTH = { interval: '1s', timeout: '1s', retries: 3, startPeriod: '10s' };

export function smallClusterSpec(o: SmallClusterOptions): string {
  const env = [`      BENCH_RELEASE: "${o.release}"`, ...(o.fault ? [`      BZZZ_FAULT: "${o.fault}"`] : [])].join('\n');
  return `apiVersion: bzzz.io/v2
kind: BzzzCluster
metadata:
  name: ${o.name}
spec:
  version: "0.1.0"
  secrets:
    am_token:
      env: BENCH_ALERTMANAGER_TOKEN
  updatePolicy:
    parallelism: 1
    delay: 0s
    monitor: ${o.monitor ?? '2s'}
    failureAction: ${o.failureAction ?? 'rollback'}
    maxFailureRatio: 0
  agent:
    image: ${AGENT_IMAGE}
    args: [agent, run]
    instances:
${o.agents.map((a) => `      - { name: ${a.name}, publish: { api: ${a.api}, health: ${a.health}, mode: host } }`).join('\n')}
    networks: [internal, external]
    role: backend_developer
    election: { heartbeatMs: 1000, timeoutMs: 3000 }
    env:
${env}
    healthcheck:
      test: ${JSON.stringify(HEALTH_CMD)}
      interval: ${HEALTH.interval}
      timeout: ${HEALTH.timeout}
      retries: ${HEALTH.retries}
      startPeriod: ${HEALTH.startPeriod}
    resources:
      limits: { cpus: 0.5, memory: 256M }
    stopGracePeriod: 2s
  services:
    mcpServer:
      image: ${COMPANION_IMAGE}
      replicas: 1
      env:
        BENCH_RELEASE: "${o.release}"
      stopGracePeriod: 1s
    openaiProxy: { enabled: false }
    contentResolver: { enabled: false }
    postgres: { enabled: false }
    redis: { enabled: false }
${o.analysis ? `  upgrade:\n    analysis:\n${o.analysis}\n` : ''}${
  o.webhookAlert
    ? `  rollback:
    webhook:
      tokenSecret: am_token
    triggers:
      - name: bench
        matchers: ['alertname="${o.webhookAlert}"']
        action: rollback-previous
`
    : ''
}`;
}

/** Writes the spec to a temp file and applies it with the real CLI (the controller, when one runs, reconciles it). */
export async function apply(spec: string, token: string, wait = false): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bzzz-bench-'));
  const file = join(dir, 'cluster.yaml');
  writeFileSync(file, spec);
  await bzzzctl(['apply', '-f', file, ...(wait ? ['--timeout', '180s'] : ['--no-wait'])], { BENCH_ALERTMANAGER_TOKEN: token });
}

export async function rolloutOf(cluster: string): Promise<RolloutState | undefined> {
  return rollouts.get(cluster);
}

export async function removeCluster(name: string): Promise<void> {
  await deleteCluster(port, name, 90_000).catch((err: unknown) => console.error(`(cleanup of ${name}: ${String(err)})`));
}

// ---------------------------------------------------------------- what the engine runs

interface ServiceJson {
  ID: string;
  Version: { Index: number };
  Spec: { Name: string; TaskTemplate: { ContainerSpec: { Env?: string[] } }; Labels?: Record<string, string> };
  UpdateStatus?: { State?: string; Message?: string };
}
interface TaskJson {
  ServiceID: string;
  DesiredState: string;
  Status: { State: string };
  Spec: { ContainerSpec: { Env?: string[] } };
}

const client = createDockerClient();

export interface ServiceNow {
  name: string;
  /** BENCH_RELEASE and BZZZ_FAULT of the service's spec. */
  release?: string;
  fault?: string;
  update?: string;
  /** Running tasks, with their release and fault. */
  running: Array<{ release?: string; fault?: string; state: string }>;
}

const envOf = (env: string[] | undefined, key: string) =>
  env
    ?.find((e) => e.startsWith(`${key}=`))
    ?.slice(key.length + 1)
    .trim();

/** Every service of a stack (by its namespace label) as it is now: its spec's release and its running tasks'. */
export async function stackNow(namespace: string): Promise<ServiceNow[]> {
  const label = [`com.docker.stack.namespace=${namespace}`];
  const services = (await client.listServices({ filters: { label } })) as unknown as ServiceJson[];
  const tasks = services.length
    ? ((await client.listTasks({ filters: { service: services.map((s) => s.ID), 'desired-state': ['running'] } })) as unknown as TaskJson[])
    : [];
  return services
    .map((s) => ({
      name: s.Spec.Name,
      release: envOf(s.Spec.TaskTemplate.ContainerSpec.Env, 'BENCH_RELEASE'),
      fault: envOf(s.Spec.TaskTemplate.ContainerSpec.Env, 'BZZZ_FAULT'),
      update: s.UpdateStatus?.State,
      running: tasks
        .filter((t) => t.ServiceID === s.ID && t.Status.State === 'running')
        .map((t) => ({
          release: envOf(t.Spec.ContainerSpec.Env, 'BENCH_RELEASE'),
          fault: envOf(t.Spec.ContainerSpec.Env, 'BZZZ_FAULT'),
          state: t.Status.State,
        })),
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** Every service's spec is release `release` without a fault, and it runs tasks of that spec only. */
export function allOn(services: ServiceNow[], release: string): boolean {
  return (
    services.length > 0 &&
    services.every(
      (s) =>
        s.release === release &&
        !s.fault &&
        s.running.length > 0 &&
        s.running.every((t) => t.release === release && !t.fault) &&
        s.update !== 'updating' &&
        s.update !== 'rollback_started',
    )
  );
}

export function describe(services: ServiceNow[]): string {
  return services
    .map(
      (s) =>
        `${s.name}: spec release ${s.release}${s.fault ? ` fault ${s.fault}` : ''}, update ${s.update ?? '-'}, running [${s.running.map((t) => `${t.release}${t.fault ? `/${t.fault}` : ''}`).join(' ')}]`,
    )
    .join('; ');
}

// ---------------------------------------------------------------- docker events

export interface EngineEvent {
  type: string;
  action: string;
  name: string;
  /** ms since the epoch (the engine's timeNano). */
  at: number;
  attrs: Record<string, string>;
}

/** `docker events` for services and configs, recorded from now on. */
export function recordEvents(): { events: EngineEvent[]; stop(): void } {
  const events: EngineEvent[] = [];
  const p = spawn('docker', ['events', '--format', '{{json .}}', '--filter', 'type=service', '--filter', 'type=config'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let buf = '';
  p.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    const lines = buf.split('\n');
    buf = lines.pop() ?? '';
    for (const l of lines) {
      if (!l.trim()) continue;
      const e = JSON.parse(l) as { Type: string; Action: string; timeNano: number; Actor?: { Attributes?: Record<string, string> } };
      events.push({
        type: e.Type,
        action: e.Action,
        name: e.Actor?.Attributes?.name ?? '',
        attrs: e.Actor?.Attributes ?? {},
        at: e.timeNano / 1e6,
      });
    }
  });
  return { events, stop: () => p.kill('SIGTERM') };
}

/** Runs `cleanup` once on exit, Ctrl-C or an uncaught error. */
export function onExit(cleanup: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | undefined;
  const once = () => (done ??= cleanup());
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      console.error(`\n${sig}: cleaning up`);
      void once().finally(() => process.exit(130));
    });
  }
  return once;
}

/** A free port in 27000–27999 (the range this benchmark may publish on), different from `taken`. */
export function pickPorts(count: number, seed = Math.floor(Math.random() * 900)): number[] {
  return Array.from({ length: count }, (_, i) => 27000 + ((seed + i * 7) % 1000));
}
