// The controller itself as a swarm service (what `bzzzctl up` deploys): one replica on a manager
// node with the Docker socket mounted, attached to the clusters' networks so it can ask the
// agents how they are, /metrics and /healthz on 9464. Listed by `docker stack services bzzz-operator`.
import type { Labels, ServiceSpec } from '../swarm/api-types.js';
import type { SwarmPort } from '../swarm/port.js';
import { L, MANAGER } from '../swarm/labels.js';
import { diffProjections, networkNamer, projectService } from '../convert/project.js';
import { stableHash, versionedName } from '../swarm/labels.js';
import type { BzzzCluster } from '../spec/types.js';

export const OPERATOR_STACK = 'bzzz-operator';
export const OPERATOR_SERVICE = `${OPERATOR_STACK}_controller`;
export const OPERATOR_METRICS_PORT = 9464;
const DOCKER_SOCKET = '/var/run/docker.sock';

export interface OperatorServiceOptions {
  image: string;
  /** The cluster this deploy is for (its previous secret versions are replaced by `secrets`). */
  cluster?: string;
  /** Docker network names to attach to (the clusters' overlays). */
  networks: string[];
  /** Publish /metrics and /healthz on this host port (host mode), or none. */
  publishPort?: number;
  logLevel?: string;
  resync?: string;
  /**
   * Secrets the controller reads (the v1 SSH key, the Slack webhook URL), mounted as
   * /run/secrets/<cluster>_<logical>. Those of other clusters it serves already are kept.
   */
  secrets?: OperatorSecret[];
  /**
   * Host directories mounted at the same path: the clusters' backup repositories
   * (spec.backups.repository). Those of other clusters it serves already are kept.
   */
  repositories?: string[];
}

export interface OperatorSecret {
  /** The file under /run/secrets: <cluster>_<logical>. */
  target: string;
  id: string;
  name: string;
}

/**
 * The secrets of a cluster's spec the controller needs: spec.v1.ssh.privateKeySecret and
 * spec.notifications.slack.webhookUrlSecret, spec.backups.identitySecret, as the Docker secrets holding their current values
 * (`versions`: logical → hash8 of the file/env ones, as stored with the generation).
 */
export async function operatorSecrets(port: SwarmPort, cluster: BzzzCluster, versions: Record<string, string>): Promise<OperatorSecret[]> {
  const name = cluster.metadata.name;
  const logical = [
    cluster.spec.v1?.ssh.privateKeySecret,
    cluster.spec.notifications?.slack?.webhookUrlSecret,
    cluster.spec.backups?.identitySecret,
  ].filter((x): x is string => x !== undefined);
  const wanted = logical.flatMap((l) => {
    const s = cluster.spec.secrets?.[l];
    const docker = s?.external ?? (versions[l] ? versionedName(name, l, versions[l]) : undefined);
    return docker ? [{ logical: l, docker }] : [];
  });
  if (!wanted.length) return [];
  const found = await port.listSecrets({ names: wanted.map((w) => w.docker) });
  return wanted.flatMap((w) => {
    const s = found.find((x) => x.Spec.Name === w.docker);
    return s ? [{ target: `${name}_${w.logical}`, id: s.ID, name: w.docker }] : [];
  });
}

function labels(): Labels {
  return { [L.managedBy]: MANAGER, [L.component]: 'controller', [L.stackNamespace]: OPERATOR_STACK };
}

export function operatorServiceSpec(o: OperatorServiceOptions): ServiceSpec {
  const spec: ServiceSpec = {
    Name: OPERATOR_SERVICE,
    Labels: labels(),
    TaskTemplate: {
      ContainerSpec: {
        Image: o.image,
        // The image runs as an unprivileged user; the controller needs the Docker socket, which
        // is root's (whoever holds it is root on the node anyway).
        User: 'root',
        Labels: { [L.stackNamespace]: OPERATOR_STACK },
        Args: ['controller', 'run', '--listen', `0.0.0.0:${OPERATOR_METRICS_PORT}`, ...(o.resync ? ['--resync', o.resync] : [])],
        Env: [`BZZZ_LOG_LEVEL=${o.logLevel ?? 'info'}`],
        Mounts: [
          { Type: 'bind', Source: DOCKER_SOCKET, Target: DOCKER_SOCKET },
          ...[...new Set(o.repositories ?? [])].sort().map((dir) => ({ Type: 'bind' as const, Source: dir, Target: dir })),
        ],
        ...(o.secrets?.length
          ? {
              Secrets: [...o.secrets]
                .sort((a, b) => (a.target < b.target ? -1 : 1))
                .map((x) => ({ File: { Name: x.target, UID: '0', GID: '0', Mode: 0o400 }, SecretID: x.id, SecretName: x.name })),
            }
          : {}),
        // The controller finishes in-flight reconciles within 8 s of SIGTERM.
        StopGracePeriod: 15e9,
        Healthcheck: {
          Test: [
            'CMD',
            'node',
            '-e',
            `fetch('http://127.0.0.1:${OPERATOR_METRICS_PORT}/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))`,
          ],
          Interval: 10e9,
          Timeout: 5e9,
          Retries: 3,
          StartPeriod: 10e9,
        },
      },
      Placement: { Constraints: ['node.role == manager'] },
      Networks: [...new Set(o.networks)].sort().map((n) => ({ Target: n })),
      RestartPolicy: { Condition: 'any', Delay: 2e9 },
    },
    Mode: { Replicated: { Replicas: 1 } },
    // One controller at a time: the old one stops (and releases its lease) before the new starts.
    UpdateConfig: { Parallelism: 1, Order: 'stop-first', FailureAction: 'rollback', Monitor: 10e9 },
    EndpointSpec: {
      Mode: 'vip',
      Ports: o.publishPort
        ? [{ Protocol: 'tcp', TargetPort: OPERATOR_METRICS_PORT, PublishedPort: o.publishPort, PublishMode: 'host' }]
        : [],
    },
  };
  spec.Labels = { ...spec.Labels, [L.specHash]: stableHash(spec) };
  return spec;
}

/** Creates or updates the controller service; an unchanged one is not written. Returns what was done. */
export async function ensureOperatorService(port: SwarmPort, o: OperatorServiceOptions): Promise<'created' | 'updated' | 'unchanged'> {
  const [current] = await port.listServices({ names: [OPERATOR_SERVICE] });
  if (!current) {
    await port.createService(operatorServiceSpec(o));
    return 'created';
  }
  const networks = await port.listNetworks();
  const nameOf = networkNamer(networks);
  const existing = new Set(networks.map((n) => n.Id));
  // One controller serves every cluster: keep the networks (still there) of the clusters it already serves.
  const attached = (current.Spec.TaskTemplate.Networks ?? []).filter((n) => existing.has(n.Target)).map((n) => nameOf(n.Target));
  // Likewise the secrets of the other clusters (those still there); this cluster's are o.secrets.
  const targets = new Set((o.secrets ?? []).map((x) => x.target));
  const stillThere = new Set((await port.listSecrets()).map((x) => x.ID));
  const kept = (current.Spec.TaskTemplate.ContainerSpec.Secrets ?? [])
    .filter((x) => stillThere.has(x.SecretID) && !targets.has(x.File.Name) && !(o.cluster && x.File.Name.startsWith(`${o.cluster}_`)))
    .map((x) => ({ target: x.File.Name, id: x.SecretID, name: x.SecretName }));
  // And the backup repositories mounted for the other clusters.
  const repositories = (current.Spec.TaskTemplate.ContainerSpec.Mounts ?? [])
    .filter((m) => m.Type === 'bind' && m.Source !== DOCKER_SOCKET && m.Source)
    .map((m) => m.Source as string);
  const desired = operatorServiceSpec({
    ...o,
    networks: [...attached, ...o.networks],
    secrets: [...kept, ...(o.secrets ?? [])],
    repositories: [...repositories, ...(o.repositories ?? [])],
  });
  const changes = diffProjections(projectService(current.Spec, { networkName: nameOf }), projectService(desired));
  if (!changes.length) return 'unchanged';
  await port.updateService(current.ID, current.Version.Index, desired);
  return 'updated';
}

export async function removeOperatorService(port: SwarmPort): Promise<boolean> {
  const [current] = await port.listServices({ names: [OPERATOR_SERVICE] });
  if (!current) return false;
  await port.removeService(current.ID);
  return true;
}

/** Detaches the controller from a cluster's networks (before the cluster is removed while the controller stays for others). */
export async function detachOperatorFrom(port: SwarmPort, cluster: string): Promise<boolean> {
  const [current] = await port.listServices({ names: [OPERATOR_SERVICE] });
  if (!current) return false;
  const nameOf = networkNamer(await port.listNetworks());
  const nets = current.Spec.TaskTemplate.Networks ?? [];
  const keep = nets.filter((n) => !nameOf(n.Target).startsWith(`${cluster}_`));
  if (keep.length === nets.length) return false;
  await port.updateService(current.ID, current.Version.Index, {
    ...current.Spec,
    TaskTemplate: { ...current.Spec.TaskTemplate, Networks: keep },
  });
  return true;
}
