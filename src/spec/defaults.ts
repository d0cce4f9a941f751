// Fills every defaulted field of a BzzzCluster, so the builders downstream read one complete
// shape. Pure and deterministic: the input is not touched, the same input gives the same output.
//
// Decisions (also in the schema's descriptions, which editors show):
// - Companions run unless `enabled: false`: the plan's v2 stack has all five; a dev spec turns
//   off what it lacks. A disabled companion keeps what the user wrote and gets no defaults, so
//   its default secrets (openai_api_key, postgres_user, ...) are not required.
// - `spec.networks` omitted → `external` (attachable overlay) and `internal` (internal,
//   attachable). Given → exactly the networks listed (no defaults mixed in).
// - Update order: start-first for stateless services (mcpServer, openaiProxy, contentResolver);
//   stop-first for postgres, redis and the agent, whose tasks own data (and an agent's host-mode
//   ports and peer identity) that two tasks must never share, whatever spec.updatePolicy says.
//   A component's own `update.order` wins.
// - Images: BZZZ's own images under spec.registry; any image without a tag or digest gets
//   `:v<spec.version>`.
import type {
  AgentSpec,
  BzzzCluster,
  ClusterSpec,
  CompanionName,
  CompanionServices,
  ComponentSpec,
  ConfigMount,
  IngressSpec,
  NetworkSpec,
  PortSpec,
  ReplicatedComponentSpec,
  SecretMount,
  SecretSpec,
  UpdatePolicy,
} from './types.js';
import { withDefaultTag } from './image-ref.js';

export const DEFAULT_AGENT_PORTS = { p2p: 9000, api: 8080, health: 8081 } as const;
export const DEFAULT_ELECTION = { heartbeatMs: 5000, timeoutMs: 15000 } as const;
export const DEFAULT_REPLICATION_FACTOR = 3;
export const DEFAULT_ROLE = 'observer';
export const DEFAULT_NETWORK_NAMES = ['internal'] as const;
export const DEFAULT_SECRET_GENERATE = { length: 32, encoding: 'hex' } as const;

export const DEFAULT_UPDATE_POLICY: Required<UpdatePolicy> = {
  parallelism: 1,
  delay: '10s',
  monitor: '30s',
  failureAction: 'rollback',
  maxFailureRatio: 0,
  order: 'start-first',
};

export const DEFAULT_ROLLBACK_POLICY: Required<UpdatePolicy> = {
  parallelism: 1,
  delay: '0s',
  monitor: '30s',
  failureAction: 'pause',
  maxFailureRatio: 0,
  order: 'start-first',
};

export const DEFAULT_NETWORKS: Record<string, NetworkSpec> = {
  external: { external: false, driver: 'overlay', internal: false, attachable: true, encrypted: false },
  internal: { external: false, driver: 'overlay', internal: true, attachable: true, encrypted: false },
};

interface CompanionDefaults {
  /** Image name; `bzzz: true` puts it under spec.registry. */
  image: string;
  bzzz: boolean;
  replicas: number;
  /** Container port published (ingress) by default; none for the data stores. */
  port?: number;
  stateful: boolean;
}

/** Companion services in the plan's order (also the order `validate` lists them in). */
export const COMPANIONS: Readonly<Record<CompanionName, CompanionDefaults>> = {
  mcpServer: { image: 'bzzz-mcp', bzzz: true, replicas: 3, port: 3001, stateful: false },
  openaiProxy: { image: 'bzzz-openai-proxy', bzzz: true, replicas: 2, port: 3002, stateful: false },
  contentResolver: { image: 'bzzz-resolver', bzzz: true, replicas: 3, port: 3003, stateful: false },
  postgres: { image: 'postgres:15-alpine', bzzz: false, replicas: 1, stateful: true },
  redis: { image: 'redis:7-alpine', bzzz: false, replicas: 1, stateful: true },
};
export const COMPANION_NAMES = Object.keys(COMPANIONS) as CompanionName[];

/** Docker service component names (`<cluster>_<component>`), as the plan's stack names them. */
export const COMPANION_COMPONENT: Readonly<Record<CompanionName, string>> = {
  mcpServer: 'mcp-server',
  openaiProxy: 'openai-proxy',
  contentResolver: 'content-resolver',
  postgres: 'postgres',
  redis: 'redis',
};

export const AGENT_IMAGE = 'bzzz';
export const OPENAI_PROXY_DEFAULTS = { rateLimitRpm: 1000, apiKeySecret: 'openai_api_key' } as const;
export const POSTGRES_DEFAULTS = { database: 'bzzz_v2', userSecret: 'postgres_user', passwordSecret: 'postgres_password' } as const;

/** Returns a new cluster with every default filled in; `cluster` is not modified. */
export function withDefaults(cluster: BzzzCluster): BzzzCluster {
  const input = structuredClone(cluster);
  const spec = input.spec;
  const updatePolicy: Required<UpdatePolicy> = { ...DEFAULT_UPDATE_POLICY, ...spec.updatePolicy };
  const rollbackPolicy: Required<UpdatePolicy> = { ...DEFAULT_ROLLBACK_POLICY, ...spec.rollbackPolicy };
  const ctx: Ctx = { version: spec.version, registry: spec.registry, updatePolicy, rollbackPolicy };

  const out: ClusterSpec = {
    ...spec,
    ...(spec.nodes ? { nodes: spec.nodes.map((n) => ({ ...n, hostname: n.hostname ?? n.name })) } : {}),
    networks: networksWithDefaults(spec.networks),
    ...(spec.secrets ? { secrets: mapValues(spec.secrets, secretWithDefaults) } : {}),
    agent: agentWithDefaults(spec.agent, ctx),
    services: companionsWithDefaults(spec.services ?? {}, ctx),
    ingress: ingressWithDefaults(spec.ingress),
    updatePolicy,
    rollbackPolicy,
  };
  return { ...input, spec: out };
}

interface Ctx {
  version: string;
  registry?: string;
  updatePolicy: Required<UpdatePolicy>;
  rollbackPolicy: Required<UpdatePolicy>;
}

function networksWithDefaults(networks: Record<string, NetworkSpec> | undefined): Record<string, NetworkSpec> {
  if (networks === undefined) return structuredClone(DEFAULT_NETWORKS);
  return mapValues(networks, (net, logical) => {
    if (net.external === true) return { ...net, name: net.name ?? logical };
    return { external: false, driver: 'overlay', internal: false, attachable: false, encrypted: false, ...net };
  });
}

function secretWithDefaults(secret: SecretSpec): SecretSpec {
  if (secret.generate === undefined) return secret;
  return { ...secret, generate: { ...DEFAULT_SECRET_GENERATE, ...secret.generate } };
}

function ingressWithDefaults(ingress: IngressSpec | undefined): IngressSpec {
  return { ...ingress, traefik: { enabled: true, network: 'external', ...ingress?.traefik } };
}

function bzzzImage(name: string, registry: string | undefined): string {
  return registry ? `${registry.replace(/\/+$/, '')}/${name}` : name;
}

/** Fields every component gets: image tag, networks, normalised mounts and ports, policies. */
function componentWithDefaults<T extends ComponentSpec>(c: T, ctx: Ctx, image: string, stateful: boolean): T {
  const update: UpdatePolicy = { ...ctx.updatePolicy, ...(stateful ? { order: 'stop-first' } : {}), ...c.update };
  const rollback: UpdatePolicy = { ...ctx.rollbackPolicy, ...(stateful ? { order: 'stop-first' } : {}), ...c.rollback };
  return {
    ...c,
    image: withDefaultTag(c.image ?? image, ctx.version),
    networks: c.networks ?? [...DEFAULT_NETWORK_NAMES],
    ...(c.secrets ? { secrets: c.secrets.map(secretMountWithDefaults) } : {}),
    ...(c.configs ? { configs: c.configs.map(configMountWithDefaults) } : {}),
    ...(c.ports ? { ports: c.ports.map(portWithDefaults) } : {}),
    update,
    rollback,
  };
}

function secretMountWithDefaults(m: SecretMount): SecretMount {
  return { ...m, target: m.target ?? m.source };
}

function configMountWithDefaults(m: ConfigMount): ConfigMount {
  return { ...m, target: m.target ?? `/${m.source}` };
}

function portWithDefaults(p: PortSpec): PortSpec {
  return { ...p, protocol: p.protocol ?? 'tcp', mode: p.mode ?? 'ingress' };
}

function agentWithDefaults(agent: AgentSpec, ctx: Ctx): AgentSpec {
  const base = componentWithDefaults(agent, ctx, bzzzImage(AGENT_IMAGE, ctx.registry), true);
  return {
    ...base,
    instances: agent.instances.map((i) =>
      i.publish ? { ...i, publish: { ...i.publish, mode: i.publish.mode ?? defaultPublishMode(i) } } : { ...i },
    ),
    agentPorts: { ...DEFAULT_AGENT_PORTS, ...agent.agentPorts },
    role: agent.role ?? DEFAULT_ROLE,
    election: { ...DEFAULT_ELECTION, ...agent.election },
    replicationFactor: agent.replicationFactor ?? DEFAULT_REPLICATION_FACTOR,
  };
}

/** Host mode for an instance pinned to a node (a stable address on it), ingress otherwise. */
export function defaultPublishMode(instance: { node?: string }): 'host' | 'ingress' {
  return instance.node !== undefined ? 'host' : 'ingress';
}

function companionsWithDefaults(services: CompanionServices, ctx: Ctx): CompanionServices {
  const out: CompanionServices = {};
  for (const name of COMPANION_NAMES) {
    const given: ReplicatedComponentSpec = services[name] ?? {};
    if (given.enabled === false) {
      out[name] = { ...given, enabled: false };
      continue;
    }
    const d = COMPANIONS[name];
    const image = d.bzzz ? bzzzImage(d.image, ctx.registry) : d.image;
    const filled: ReplicatedComponentSpec = {
      ...componentWithDefaults(given, ctx, image, d.stateful),
      enabled: true,
      replicas: given.replicas ?? d.replicas,
    };
    if (given.ports === undefined && d.port !== undefined) {
      filled.ports = [{ target: d.port, published: d.port, protocol: 'tcp', mode: 'ingress' }];
    }
    out[name] = filled;
  }
  const proxy = out.openaiProxy;
  if (proxy?.enabled) out.openaiProxy = { ...OPENAI_PROXY_DEFAULTS, ...proxy };
  const pg = out.postgres;
  if (pg?.enabled) out.postgres = { ...POSTGRES_DEFAULTS, ...pg };
  return out;
}

function mapValues<V, W>(record: Record<string, V>, fn: (v: V, key: string) => W): Record<string, W> {
  const out: Record<string, W> = {};
  for (const [k, v] of Object.entries(record)) out[k] = fn(v, k);
  return out;
}
