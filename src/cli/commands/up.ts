// bzzzctl up [-f FILE]: the first command a new user runs.
//   1. a Docker engine in swarm mode (with --install: install and start one on Debian)
//   2. the images the spec needs, built offline when missing (cached by content)
//   3. the spec stored and reconciled once here, so the cluster's networks exist
//   4. the controller deployed as a swarm service on those networks
//   5. progress until the cluster is Ready and every agent is healthy with one agreed admin
// Running it again changes nothing. `bzzzctl down` removes it all, images aside.
import { spawnSync } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { packageRoot } from '../../util/paths.js';
import { loadSpecFile, parseDurationMs } from '../../spec/index.js';
import { cliContext } from '../context.js';
import type { SwarmPort } from '../../swarm/port.js';
import { requireSwarmManager } from '../../swarm/engine.js';
import type { ClusterStatus } from '../../spec/status.js';
import { leaseIsLive, readLease } from '../../store/lease.js';
import { buildNetworks } from '../../convert/services.js';
import { ensureOperatorService, operatorSecrets, OPERATOR_METRICS_PORT, OPERATOR_SERVICE } from '../../ops/operator-service.js';
import { rolloutServicesUsing } from '../../ops/rollout-images.js';
import { ownedBy } from '../../swarm/labels.js';
import { isCommandHolder, underLease } from '../../ops/single-writer.js';
import { poll } from '../../util/poll.js';
import { createClusterReconciler } from '../../reconcilers/cluster.js';
import { desiredServices, planObjects } from '../../reconcilers/plan.js';
import { observe } from '../../reconcilers/observe.js';
import { isReady } from '../../reconcilers/status.js';
import { resolveApply, storeSpec } from '../resolve-apply.js';
import { printDocument, printLines, progress, table, type OutputFormat } from '../output.js';
import { formatStatusLine } from './status.js';
import { OPERATOR_IMAGE } from '../../version.js';
import { BzzzError, EngineUnavailableError } from '../../util/errors.js';
import { silentLogger } from '../../util/log.js';
import { EXIT_ERROR, EXIT_OK } from '../../util/exit-codes.js';

export const DEFAULT_SPEC = 'stacks/examples/dev.yaml';

export interface UpOptions {
  filename?: string;
  timeout: string;
  install?: boolean;
  metricsPort: string;
  output: OutputFormat;
}

const root = packageRoot;

async function ensureEngine(port: SwarmPort, install: boolean | undefined, say: (s: string) => void): Promise<void> {
  try {
    await requireSwarmManager(port);
    return;
  } catch (err) {
    if (!(err instanceof EngineUnavailableError) || !install) {
      if (err instanceof EngineUnavailableError) {
        throw new EngineUnavailableError(
          `${err.message}\nTo install and start a local single-node swarm on Debian, run: bzzzctl up --install (or npm run swarm:up)`,
        );
      }
      throw err;
    }
  }
  say('installing and starting a Docker engine in swarm mode (scripts/swarm-up.sh)');
  const r = spawnSync('bash', [join(root(), 'scripts/swarm-up.sh')], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0)
    throw new EngineUnavailableError(`scripts/swarm-up.sh failed (exit ${r.status}); see its output above and /var/log/dockerd.log`);
  await requireSwarmManager(port);
}

function agentsSettled(s: ClusterStatus | undefined, instances: number): boolean {
  const a = s?.agents;
  if (!a || a.length !== instances || !a.every((x) => x.healthy)) return false;
  const admins = new Set(a.map((x) => x.adminPeer));
  return a.filter((x) => x.admin).length === 1 && admins.size === 1 && a.every((x) => x.peers >= Math.min(instances - 1, 1));
}

export async function upCommand(opts: UpOptions): Promise<number> {
  const timeoutMs = parseDurationMs(opts.timeout, '--timeout');
  const quiet = opts.output !== 'text';
  const bar = quiet ? { update() {}, done() {} } : progress();
  const say = (s: string) => {
    bar.done();
    if (!quiet) process.stderr.write(`${s}\n`);
  };
  const file = opts.filename ?? join(root(), DEFAULT_SPEC);
  const loaded = await loadSpecFile(file);
  const name = loaded.cluster.metadata.name;
  const { engine: port, store } = cliContext();
  await ensureEngine(port, opts.install, say);

  // Images: everything the services and the controller run.
  const resolved = await resolveApply(loaded);
  const preview = await observe(port, loaded.cluster);
  const images = [
    ...new Set([
      OPERATOR_IMAGE,
      ...desiredServices(resolved.doc, planObjects(resolved.doc, preview)).map((s) => s.spec.TaskTemplate.ContainerSpec.Image),
    ]),
  ].sort();
  const { ensureImages } = await import('../../images/index.js');
  const built = await ensureImages({ images, onProgress: (m: string) => bar.update(m) });
  bar.done();
  if (built.missing.length) {
    throw new BzzzError(
      `these images are not on this engine and bzzzctl cannot build them offline: ${built.missing.join(', ')}; pull or build them (or turn the component off in ${file})`,
    );
  }
  if (built.built.length) say(`built images: ${built.built.join(', ')}`);

  // The spec, stored; reconciled once here when no controller runs yet (so the networks exist).
  const { generation, changed, summary } = await storeSpec(port, store, resolved);
  say(summary);
  const lease = await readLease(port);
  const reconciledHere =
    (!leaseIsLive(lease, Date.now()) || isCommandHolder(lease?.holder)) &&
    (
      await underLease(port, 'up', () => createClusterReconciler({ port, store, log: silentLogger() }).pass(name), {
        waitUntil: Date.now() + timeoutMs,
      })
    ).held;
  if (!reconciledHere) {
    // A controller runs already: its first pass of this generation creates the networks the
    // controller service is attached to.
    const observed = await poll(async () => (await store.get(name))?.status?.observedGeneration ?? 0, {
      until: (g) => g >= generation,
      deadline: Date.now() + timeoutMs,
      everyMs: 200,
      onValue: () => bar.update(`${name}: waiting for the running controller to observe generation ${generation}`),
    });
    bar.done();
    if (!observed.met)
      throw new BzzzError(
        `the running controller did not observe generation ${generation} of ${name} within ${opts.timeout}; see docker service logs ${OPERATOR_SERVICE}`,
      );
  }
  const networks = buildNetworks(loaded.cluster)
    .filter((n) => !n.external)
    .map((n) => n.name);
  // The secrets the controller reads itself: the v1 SSH key, the Slack webhook URL.
  const secrets = await operatorSecrets(port, loaded.cluster, resolved.doc.secretVersions);
  // The backup repository, mounted at its own path when it exists on this (manager) node; a
  // missing one is not made here (an NFS share not mounted yet would be shadowed by a local dir).
  const repository = loaded.cluster.spec.backups?.repository;
  const repositories = repository && (await isDirectory(repository)) ? [repository] : [];
  if (repository && !repositories.length)
    say(
      `spec.backups.repository ${repository} does not exist on this node: create it (or mount the NFS share there) and run bzzzctl up again; until then the controller reports BackupFailed`,
    );
  const op = await ensureOperatorService(port, {
    image: OPERATOR_IMAGE,
    cluster: name,
    networks,
    secrets,
    repositories,
    publishPort: Number(opts.metricsPort) || undefined,
  });
  if (op !== 'unchanged') say(`controller service ${OPERATOR_SERVICE} ${op}`);
  if (built.built.length) {
    // Same tags, new contents: restart what runs them, per each service's update policy.
    const rolled = [
      ...(op === 'unchanged' ? await rolloutServicesUsing(port, built.built, { names: [OPERATOR_SERVICE] }) : []),
      ...(changed ? [] : await rolloutServicesUsing(port, built.built, { labels: ownedBy(name) })),
    ];
    if (rolled.length) say(`rolling out the rebuilt images to: ${rolled.join(', ')}`);
  }

  const instances = loaded.cluster.spec.agent.instances.length;
  const settled = await poll(async () => ({ lease: await readLease(port), status: (await store.get(name))?.status }), {
    until: ({ status: s }) => isReady(s, generation) && agentsSettled(s, instances),
    deadline: Date.now() + timeoutMs,
    everyMs: 500,
    onValue: ({ lease, status: s }) => {
      const agents = s?.agents;
      const agentLine = agents
        ? `, agents ${agents.filter((a) => a.healthy).length}/${instances} healthy, admin ${agents.some((a) => a.admin) ? 'elected' : 'pending'}`
        : ', waiting for agent reports';
      bar.update(
        leaseIsLive(lease, Date.now()) ? `${formatStatusLine(name, s)}${agentLine}` : 'waiting for the controller service to start',
      );
    },
  });
  bar.done();
  const status = settled.value.status;
  const done = settled.met;

  const agents = status?.agents ?? [];
  const ports = loaded.cluster.spec.agent.instances.map((i) => i.publish);
  if (quiet) {
    printDocument({ name, generation, ready: done, controller: OPERATOR_SERVICE, agents, status }, opts.output as 'json' | 'yaml');
  } else {
    const lines = [
      `bzzzcluster/${name} ${done ? 'is Ready' : `is not ready after ${opts.timeout}`} (generation ${generation})`,
      '',
      ...table(
        ['AGENT', 'SERVICE', 'HEALTHY', 'PEERS', 'ADMIN', 'SCORE', 'API'],
        agents.map((a, i) => [
          a.name,
          a.service,
          a.healthy ? 'yes' : `no${a.error ? ` (${a.error})` : ''}`,
          String(a.peers),
          a.admin ? 'admin' : '',
          a.score === undefined ? '' : String(a.score),
          ports[i]?.api
            ? `http://127.0.0.1:${ports[i]!.api}`
            : `agent-${a.name}:${loaded.cluster.spec.agent.agentPorts?.api ?? 8080} (cluster network)`,
        ]),
      ),
      '',
      `controller: ${OPERATOR_SERVICE}${Number(opts.metricsPort) ? `, metrics http://127.0.0.1:${opts.metricsPort}/metrics (port ${OPERATOR_METRICS_PORT} in the service)` : ''}`,
      `next: bzzzctl status ${name} · docker stack services ${name} · bzzzctl down`,
    ];
    printLines(lines);
  }
  return done ? EXIT_OK : EXIT_ERROR;
}

async function isDirectory(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isDirectory(),
    () => false,
  );
}
