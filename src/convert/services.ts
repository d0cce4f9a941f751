// Desired swarm objects from a BzzzCluster spec: pure and deterministic (sorted lists, no
// undefined), so an unchanged spec always yields the same objects and the same spec-hash.
// Secret/config references use names; IDs are filled in by the act step from observed objects.
import type {
  AgentInstance,
  BzzzCluster,
  CompanionName,
  ComponentSpec,
  ConfigMount,
  HealthcheckSpec,
  PortSpec,
  ReplicatedComponentSpec,
  ResourceAmounts,
  SecretMount,
  UpdatePolicy,
} from '../spec/types.js';
import { cpusToNano, parseDurationNs, parseMemoryBytes } from '../spec/units.js';
import { COMPANION_COMPONENT, COMPANION_NAMES, DEFAULT_AGENT_PORTS, defaultPublishMode } from '../spec/defaults.js';
import type {
  ConfigReference,
  HealthConfig,
  Labels,
  Mount,
  NetworkAttachment,
  NetworkCreate,
  PortConfig,
  ResourceObject,
  SecretReference,
  ServiceSpec,
  UpdateConfig,
} from '../swarm/api-types.js';
import { L, objectName, ownerLabels, stableHash } from '../swarm/labels.js';
import { ACCESS_FILES, accessLogical, AGENT_UID, KEYS_DIR, keyLogical, keySettings } from './keys-layout.js';
import { ROLES } from '../crypto/roles.js';
import { compareStrings } from '../util/compare.js';

/** How the builder names the versioned secrets/configs and the networks it refers to. */
export interface ObjectRefs {
  secretName(logical: string): string;
  configName(logical: string): string;
  networkName(logical: string): string;
}

export interface DesiredNetwork {
  logical: string;
  name: string;
  external: boolean;
  create?: NetworkCreate;
}

export interface DesiredService {
  /** Component label value: agent, mcp-server, openai-proxy, content-resolver, postgres, redis. */
  component: string;
  /** Service short name (also its DNS alias on the cluster's networks): agent-<instance> or the component. */
  shortName: string;
  spec: ServiceSpec;
}

export function buildNetworks(cluster: BzzzCluster): DesiredNetwork[] {
  const name = cluster.metadata.name;
  return Object.entries(cluster.spec.networks ?? {})
    .sort(([a], [b]) => compareStrings(a, b))
    .map(([logical, n]) => {
      if (n.external) return { logical, name: n.name ?? logical, external: true };
      const options: Labels = {};
      if (n.encrypted) options.encrypted = '';
      const create: NetworkCreate = {
        Name: objectName(name, logical),
        Driver: n.driver ?? 'overlay',
        Internal: n.internal ?? false,
        Attachable: n.attachable ?? false,
        Options: options,
        Labels: { ...(n.labels ?? {}), ...ownerLabels(name, `network-${logical}`) },
        CheckDuplicate: true,
      };
      return { logical, name: create.Name, external: false, create };
    });
}

export function defaultNetworkRefs(cluster: BzzzCluster): (logical: string) => string {
  const nets = new Map(buildNetworks(cluster).map((n) => [n.logical, n.name]));
  return (logical) => nets.get(logical) ?? objectName(cluster.metadata.name, logical);
}

function durationNs(d: string | undefined): number | undefined {
  return d === undefined ? undefined : parseDurationNs(d);
}

function updateConfig(base: UpdatePolicy | undefined, override: UpdatePolicy | undefined): UpdateConfig | undefined {
  const p = { ...(base ?? {}), ...(override ?? {}) };
  if (Object.keys(p).length === 0) return undefined;
  return clean({
    Parallelism: p.parallelism ?? 1,
    Delay: durationNs(p.delay),
    FailureAction: p.failureAction,
    Monitor: durationNs(p.monitor),
    MaxFailureRatio: p.maxFailureRatio,
    Order: p.order,
  });
}

function resources(r: ResourceAmounts | undefined): ResourceObject | undefined {
  if (!r) return undefined;
  const out = clean({
    NanoCPUs: r.cpus === undefined ? undefined : cpusToNano(r.cpus),
    MemoryBytes: r.memory === undefined ? undefined : parseMemoryBytes(r.memory),
  });
  return Object.keys(out).length ? out : undefined;
}

function healthcheck(h: HealthcheckSpec | undefined): HealthConfig | undefined {
  if (!h) return undefined;
  return clean({
    Test: h.test,
    Interval: durationNs(h.interval),
    Timeout: durationNs(h.timeout),
    Retries: h.retries,
    StartPeriod: durationNs(h.startPeriod),
  });
}

function fileMode(mode: string | undefined, fallback: number): number {
  return mode === undefined ? fallback : parseInt(mode, 8);
}

function secretRefs(mounts: SecretMount[], refs: ObjectRefs): SecretReference[] {
  return uniqueBy(mounts, (m) => m.target ?? m.source)
    .map((m) => ({
      File: { Name: m.target ?? m.source, UID: m.uid ?? '0', GID: m.gid ?? '0', Mode: fileMode(m.mode, 0o444) },
      SecretID: '',
      SecretName: refs.secretName(m.source),
    }))
    .sort((a, b) => compareStrings(a.File.Name, b.File.Name));
}

function configRefs(mounts: ConfigMount[], refs: ObjectRefs): ConfigReference[] {
  return uniqueBy(mounts, (m) => m.target ?? `/${m.source}`)
    .map((m) => ({
      File: { Name: m.target ?? `/${m.source}`, UID: m.uid ?? '0', GID: m.gid ?? '0', Mode: fileMode(m.mode, 0o444) },
      ConfigID: '',
      ConfigName: refs.configName(m.source),
    }))
    .sort((a, b) => compareStrings(a.File.Name, b.File.Name));
}

function ports(list: PortSpec[]): PortConfig[] {
  return list
    .map(
      (p) =>
        ({
          Protocol: p.protocol ?? 'tcp',
          TargetPort: p.target,
          PublishedPort: p.published,
          PublishMode: p.mode ?? 'ingress',
        }) as PortConfig,
    )
    .sort((a, b) => (a.PublishedPort ?? 0) - (b.PublishedPort ?? 0) || compareStrings(a.Protocol, b.Protocol));
}

function env(vars: Record<string, string>): string[] {
  return Object.keys(vars)
    .sort()
    .map((k) => `${k}=${vars[k]}`);
}

/** Placement constraints: `placement.nodes` becomes hostname constraints (swarm constraints are ANDed, so several allowed nodes are expressed as "not any other known node"). */
function constraints(cluster: BzzzCluster, c: ComponentSpec, pinnedNode?: string): string[] {
  const nodes = cluster.spec.nodes ?? [];
  const hostname = (n: string) => nodes.find((x) => x.name === n)?.hostname ?? n;
  const out = new Set(c.placement?.constraints ?? []);
  const allowed = pinnedNode ? [pinnedNode] : (c.placement?.nodes ?? []);
  if (allowed.length === 1) out.add(`node.hostname == ${hostname(allowed[0])}`);
  else if (allowed.length > 1) {
    for (const n of nodes) if (!allowed.includes(n.name)) out.add(`node.hostname != ${hostname(n.name)}`);
  }
  return [...out].sort();
}

function traefikLabels(cluster: BzzzCluster, c: ComponentSpec, routerName: string, refs: ObjectRefs): Labels {
  const t = cluster.spec.ingress?.traefik;
  if (!c.ingress || t?.enabled === false) return {};
  const r = `traefik.http.routers.${routerName}`;
  const rule = c.ingress.path ? `Host(\`${c.ingress.host}\`) && PathPrefix(\`${c.ingress.path}\`)` : `Host(\`${c.ingress.host}\`)`;
  const labels: Labels = {
    'traefik.enable': 'true',
    [`${r}.rule`]: rule,
    [`traefik.http.services.${routerName}.loadbalancer.server.port`]: String(c.ingress.port),
  };
  if (t?.entrypoints?.length) labels[`${r}.entrypoints`] = t.entrypoints.join(',');
  if (t?.certResolver) labels[`${r}.tls.certresolver`] = t.certResolver;
  if (t?.network) labels['traefik.docker.network'] = refs.networkName(t.network);
  return labels;
}

interface BuildArgs {
  cluster: BzzzCluster;
  refs: ObjectRefs;
  component: string;
  shortName: string;
  c: ComponentSpec;
  replicas: number;
  extraEnv?: Record<string, string>;
  extraSecrets?: SecretMount[];
  extraConfigs?: ConfigMount[];
  extraPorts?: PortSpec[];
  extraMounts?: Mount[];
  extraLabels?: Labels;
  pinnedNode?: string;
  endpointMode?: 'vip' | 'dnsrr';
}

function buildService(a: BuildArgs): DesiredService {
  const { cluster, refs, c } = a;
  const name = cluster.metadata.name;
  const owner = ownerLabels(name, a.component);
  const mounts: Mount[] = [
    ...(c.mounts ?? []).map(
      (m) =>
        clean({
          Type: m.type,
          // Named volumes belong to the cluster: prefix them like docker stack does.
          Source: m.type === 'volume' && m.source ? objectName(name, m.source) : m.source,
          Target: m.target,
          ReadOnly: m.readOnly,
          VolumeOptions: m.type === 'volume' ? { Labels: ownerLabels(name, a.component) } : undefined,
        }) as Mount,
    ),
    ...(a.extraMounts ?? []),
  ].sort((x, y) => compareStrings(x.Target, y.Target));

  const networks: NetworkAttachment[] = [...new Set(c.networks ?? [])]
    .map((n) => ({ Target: refs.networkName(n), Aliases: [a.shortName] }))
    .sort((x, y) => compareStrings(x.Target, y.Target));

  const spec: ServiceSpec = clean({
    Name: objectName(name, a.shortName),
    Labels: {
      ...(c.labels ?? {}),
      ...traefikLabels(cluster, c, `${name}-${a.shortName}`, refs),
      ...(a.extraLabels ?? {}),
      ...owner,
    },
    TaskTemplate: clean({
      ContainerSpec: clean({
        // withDefaults already gave every image its tag.
        Image: c.image ?? '',
        Labels: { [L.stackNamespace]: name },
        Command: c.command,
        Args: c.args,
        Env: env({ ...(a.extraEnv ?? {}), ...(c.env ?? {}) }),
        Mounts: mounts.length ? mounts : undefined,
        StopGracePeriod: durationNs(c.stopGracePeriod),
        Healthcheck: healthcheck(c.healthcheck),
        Secrets: nonEmpty(secretRefs([...(a.extraSecrets ?? []), ...(c.secrets ?? [])], refs)),
        Configs: nonEmpty(configRefs([...(a.extraConfigs ?? []), ...(c.configs ?? [])], refs)),
      }),
      Resources: c.resources
        ? clean({ Limits: resources(c.resources.limits), Reservations: resources(c.resources.reservations) })
        : undefined,
      Placement: placement(cluster, c, a.pinnedNode),
      Networks: nonEmpty(networks),
    }),
    Mode: { Replicated: { Replicas: a.replicas } },
    UpdateConfig: updateConfig(cluster.spec.updatePolicy, c.update),
    RollbackConfig: updateConfig(cluster.spec.rollbackPolicy, c.rollback),
    EndpointSpec: { Mode: a.endpointMode ?? 'vip', Ports: ports([...(a.extraPorts ?? []), ...(c.ports ?? [])]) },
  });
  spec.Labels = { ...spec.Labels, [L.specHash]: stableHash(spec) };
  return { component: a.component, shortName: a.shortName, spec };
}

function placement(cluster: BzzzCluster, c: ComponentSpec, pinnedNode?: string): ServiceSpec['TaskTemplate']['Placement'] {
  const cons = constraints(cluster, c, pinnedNode);
  const prefs = (c.placement?.spread ?? []).map((s) => ({ Spread: { SpreadDescriptor: s } }));
  const p = clean({
    Constraints: nonEmpty(cons),
    Preferences: nonEmpty(prefs),
    MaxReplicas: c.placement?.maxReplicasPerNode,
  });
  return Object.keys(p).length ? p : undefined;
}

function agentService(cluster: BzzzCluster, refs: ObjectRefs, inst: AgentInstance): DesiredService {
  const agent = cluster.spec.agent;
  const p = { ...DEFAULT_AGENT_PORTS, ...(agent.agentPorts ?? {}) };
  const others = agent.instances.filter((i) => i.name !== inst.name);
  const bootstrap = agent.bootstrap ?? others.map((o) => `agent-${o.name}:${p.p2p}`);
  const mode = inst.publish?.mode ?? defaultPublishMode(inst);
  const published: PortSpec[] = [];
  if (inst.publish?.p2p) published.push({ target: p.p2p, published: inst.publish.p2p, mode });
  if (inst.publish?.api) published.push({ target: p.api, published: inst.publish.api, mode });
  if (inst.publish?.health) published.push({ target: p.health, published: inst.publish.health, mode });
  const shortName = `agent-${inst.name}`;
  const keys = agentKeyMounts(cluster, inst);
  const access = agentAccessMounts(inst);
  // Each instance keeps its peer identity and content store across task restarts.
  const data: Mount = {
    Type: 'volume',
    Source: objectName(cluster.metadata.name, `${shortName}-data`),
    Target: '/data',
    VolumeOptions: { Labels: ownerLabels(cluster.metadata.name, 'agent') },
  };
  return buildService({
    cluster,
    refs,
    component: 'agent',
    shortName,
    c: agent,
    replicas: 1,
    pinnedNode: inst.node,
    extraPorts: published,
    extraMounts: agent.mounts?.some((m) => m.target === '/data') ? [] : [data],
    extraLabels: { 'io.bzzz.instance': inst.name },
    // One task per instance, dialled by name by its peers: DNS names the task itself (no virtual
    // IP in between, which also works where IPVS does not). Ingress-published ports need a VIP.
    endpointMode: published.some((p) => p.mode === 'ingress') ? 'vip' : 'dnsrr',
    extraSecrets: [...keys.secrets, ...access.secrets],
    extraConfigs: [...keys.configs, ...access.configs],
    extraEnv: {
      ...keys.env,
      ...access.env,
      BZZZ_CLUSTER: cluster.metadata.name,
      BZZZ_INSTANCE: inst.name,
      BZZZ_VERSION: cluster.spec.version,
      BZZZ_P2P_PORT: String(p.p2p),
      BZZZ_API_PORT: String(p.api),
      BZZZ_HEALTH_PORT: String(p.health),
      BZZZ_DATA_DIR: '/data',
      BZZZ_CLUSTER_SIZE: String(agent.instances.length),
      ...(bootstrap.length ? { BZZZ_BOOTSTRAP_PEERS: bootstrap.join(',') } : {}),
      ...(agent.role ? { BZZZ_ROLE: agent.role } : {}),
      ...(agent.election?.heartbeatMs ? { BZZZ_HEARTBEAT_MS: String(agent.election.heartbeatMs) } : {}),
      ...(agent.election?.timeoutMs ? { BZZZ_ELECTION_TIMEOUT_MS: String(agent.election.timeoutMs) } : {}),
      ...(agent.replicationFactor ? { BZZZ_REPLICATION_FACTOR: String(agent.replicationFactor) } : {}),
    },
  });
}

/** Closed membership (issue 7): the instance's own identity, the member list and the API callers. */
function agentAccessMounts(inst: AgentInstance): { secrets: SecretMount[]; configs: ConfigMount[]; env: Record<string, string> } {
  return {
    secrets: [{ source: accessLogical.peer(inst.name), target: ACCESS_FILES.peerKey, uid: AGENT_UID, gid: AGENT_UID, mode: '0400' }],
    configs: [
      { source: accessLogical.members, target: ACCESS_FILES.members, mode: '0444' },
      { source: accessLogical.callers, target: ACCESS_FILES.callers, mode: '0444' },
    ],
    env: { BZZZ_PEER_KEY_FILE: ACCESS_FILES.peerKey, BZZZ_MEMBERS_FILE: ACCESS_FILES.members, BZZZ_API_CALLERS_FILE: ACCESS_FILES.callers },
  };
}

/**
 * The keys an agent instance gets: every role's public key, its own role's identity (never the
 * admin's: that one is rebuilt from shares by the elected admin) and only its own admin-key share.
 */
function agentKeyMounts(
  cluster: BzzzCluster,
  inst: AgentInstance,
): { secrets: SecretMount[]; configs: ConfigMount[]; env: Record<string, string> } {
  const settings = keySettings(cluster);
  if (!settings) return { secrets: [], configs: [], env: {} };
  const role = cluster.spec.agent.role ?? 'observer';
  const index = cluster.spec.agent.instances.findIndex((i) => i.name === inst.name) + 1;
  const secrets: SecretMount[] = [];
  const env: Record<string, string> = { BZZZ_KEYS_DIR: KEYS_DIR };
  const owner = { uid: AGENT_UID, gid: AGENT_UID, mode: '0400' };
  if (role !== 'admin') secrets.push({ source: keyLogical.key(role), target: `${KEYS_DIR}/${role}.key`, ...owner });
  if (index >= 1 && index <= settings.shares) {
    secrets.push({ source: keyLogical.share(index), target: `${KEYS_DIR}/share.json`, ...owner });
    env.BZZZ_SHAMIR_SHARE = `${KEYS_DIR}/share.json`;
  }
  const configs = ROLES.map((r): ConfigMount => ({ source: keyLogical.pub(r), target: `${KEYS_DIR}/${r}.pub`, mode: '0444' }));
  return { secrets, configs, env };
}

function companionExtras(cluster: BzzzCluster, key: CompanionName): Pick<BuildArgs, 'extraEnv' | 'extraSecrets'> {
  const s = cluster.spec.services ?? {};
  const firstAgent = cluster.spec.agent.instances[0]?.name;
  const apiPort = cluster.spec.agent.agentPorts?.api ?? DEFAULT_AGENT_PORTS.api;
  const agentUrl: Record<string, string> = firstAgent ? { BZZZ_ENDPOINT: `http://agent-${firstAgent}:${apiPort}` } : {};
  switch (key) {
    case 'mcpServer':
      return { extraEnv: agentUrl };
    case 'contentResolver':
      return { extraEnv: agentUrl };
    case 'openaiProxy': {
      const p = s.openaiProxy ?? {};
      const secret = p.apiKeySecret;
      return {
        extraEnv: {
          ...(p.rateLimitRpm !== undefined ? { RATE_LIMIT_RPM: String(p.rateLimitRpm) } : {}),
          ...(secret ? { OPENAI_API_KEY_FILE: `/run/secrets/${secret}` } : {}),
        },
        extraSecrets: secret ? [{ source: secret }] : [],
      };
    }
    case 'postgres': {
      const p = s.postgres ?? {};
      const secrets: SecretMount[] = [];
      const e: Record<string, string> = {};
      if (p.database) e.POSTGRES_DB = p.database;
      if (p.userSecret) {
        secrets.push({ source: p.userSecret });
        e.POSTGRES_USER_FILE = `/run/secrets/${p.userSecret}`;
      }
      if (p.passwordSecret) {
        secrets.push({ source: p.passwordSecret });
        e.POSTGRES_PASSWORD_FILE = `/run/secrets/${p.passwordSecret}`;
      }
      return { extraEnv: e, extraSecrets: secrets };
    }
    case 'redis':
      return {};
  }
}

/** Every service of the cluster, sorted by name. Disabled companions are absent (and so pruned). */
export function buildServices(cluster: BzzzCluster, refs: ObjectRefs): DesiredService[] {
  const out: DesiredService[] = cluster.spec.agent.instances.map((i) => agentService(cluster, refs, i));
  const services = cluster.spec.services ?? {};
  for (const key of COMPANION_NAMES) {
    const c = services[key] as ReplicatedComponentSpec | undefined;
    if (!c || c.enabled === false) continue;
    const component = COMPANION_COMPONENT[key];
    out.push(
      buildService({ cluster, refs, component, shortName: component, c, replicas: c.replicas ?? 1, ...companionExtras(cluster, key) }),
    );
  }
  return out.sort((a, b) => compareStrings(a.spec.Name, b.spec.Name));
}

// ---- small helpers ----

function uniqueBy<T>(items: T[], key: (t: T) => string): T[] {
  const seen = new Set<string>();
  return items.filter((i) => (seen.has(key(i)) ? false : (seen.add(key(i)), true)));
}

function nonEmpty<T>(list: T[]): T[] | undefined {
  return list.length ? list : undefined;
}

/** Drops undefined fields so built objects compare and hash the same however they were made. */
export function clean<T extends object>(o: T): T {
  const out = {} as T;
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}
