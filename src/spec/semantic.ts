// The checks a JSON Schema cannot express: references between parts of the spec (nodes,
// networks, secrets, configs), names Docker will refuse once prefixed, labels that belong to the
// operator, values that must parse, and published port collisions (ports.ts). Runs on the spec
// with defaults applied, so defaults that point nowhere are caught too; each problem names the
// path the user can change.
import { parseImageRef } from './image-ref.js';
import { checkPortCollisions } from './ports.js';
import type { PathSegment } from './problems.js';
import { ProblemReporter, type Locate } from './report.js';
import { agentServiceName, companionServiceName, enabledComponents, type ComponentRef } from './components.js';
import { parseDurationNs, parseMemoryBytes } from './units.js';
import type { BzzzCluster, ResourceAmounts, UpdatePolicy } from './types.js';
import { errorMessage } from '../util/errors.js';
import { formatPath } from './problems.js';

// swarmkit's rules (manager/controlapi): services and networks are DNS name components of at
// most 63 characters; secrets and configs at most 64 characters of a slightly wider set.
const DNS_NAME = /^[a-zA-Z0-9](?:[-_]*[A-Za-z0-9]+)*$/;
const SECRET_NAME = /^[a-zA-Z0-9]+(?:[a-zA-Z0-9-_.]*[a-zA-Z0-9])?$/;
const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;
const SERVICE_NAME_MAX = 63;
const SECRET_NAME_MAX = 64;
const HASH_SUFFIX = '-0123abcd'; // `-<hash8>`: only its length matters here
/** Docker refuses a container memory limit under 6 MiB. */
const MIN_MEMORY_LIMIT = 6 * 1024 * 1024;

const RESERVED_LABEL = (key: string): boolean => key.startsWith('io.bzzz.') || key === 'io.bzzz' || key === 'com.docker.stack.namespace';

export type SemanticCheck = (cluster: BzzzCluster, report: ProblemReporter) => void;

export const SEMANTIC_CHECKS: readonly SemanticCheck[] = [
  checkNodes,
  checkInstances,
  checkNetworks,
  checkSecretsAndConfigs,
  checkDockerNames,
  checkReservedLabels,
  checkImages,
  checkDurationsAndSizes,
  checkPolicies,
  checkVolumeMounts,
  checkIngress,
  checkReserved,
  checkPortCollisions,
];

/**
 * Runs every semantic check on `cluster` (defaults applied). `schemaValid` false means the
 * schema already found problems: a check that trips over a malformed part is skipped, since
 * that part has been reported.
 */
export function semanticProblems(cluster: BzzzCluster, raw: unknown, locate: Locate, schemaValid: boolean): ProblemReporter {
  const report = new ProblemReporter(locate, raw);
  for (const check of SEMANTIC_CHECKS) {
    try {
      check(cluster, report);
    } catch (err) {
      if (schemaValid) throw err;
    }
  }
  return report;
}

// ---- nodes and instances ----

function checkNodes(cluster: BzzzCluster, report: ProblemReporter): void {
  const seen = new Map<string, number>();
  (cluster.spec.nodes ?? []).forEach((n, i) => {
    const first = seen.get(n.name);
    if (first !== undefined) {
      report.add(['spec', 'nodes', i, 'name'], `node ${n.name} again`, 'unique node names', `node \`${n.name}\` is declared twice (first at spec.nodes[${first}]); remove one`);
    } else seen.set(n.name, i);
  });
  const declared = [...seen.keys()];
  for (const c of enabledComponents(cluster)) {
    (c.spec.placement?.nodes ?? []).forEach((node, i) => checkNodeRef(node, [...c.path, 'placement', 'nodes', i], declared, report));
  }
}

function checkNodeRef(node: string, path: PathSegment[], declared: string[], report: ProblemReporter): void {
  if (declared.includes(node)) return;
  const expected = declared.length ? `a node of spec.nodes (${declared.join(', ')})` : 'a node declared in spec.nodes';
  const todo = declared.length ? `use one of ${declared.join(', ')} or add it to spec.nodes` : `declare it: spec.nodes: [{ name: ${node} }]`;
  report.add(path, `node ${JSON.stringify(node)}`, expected, `node \`${node}\` is not declared in spec.nodes; ${todo}`);
}

function checkInstances(cluster: BzzzCluster, report: ProblemReporter): void {
  const agent = cluster.spec.agent;
  const declared = (cluster.spec.nodes ?? []).map((n) => n.name);
  const seen = new Map<string, number>();
  agent.instances.forEach((inst, i) => {
    const first = seen.get(inst.name);
    if (first !== undefined) {
      report.add(['spec', 'agent', 'instances', i, 'name'], `instance ${inst.name} again`, 'unique instance names', `agent instance \`${inst.name}\` is declared twice (first at spec.agent.instances[${first}]); each instance is its own service ${agentServiceName(cluster.metadata.name, inst.name)}: rename one`);
    } else seen.set(inst.name, i);
    if (inst.node !== undefined) {
      checkNodeRef(inst.node, ['spec', 'agent', 'instances', i, 'node'], declared, report);
      const allowed = agent.placement?.nodes;
      if (allowed && !allowed.includes(inst.node)) {
        report.add(['spec', 'agent', 'instances', i, 'node'], `node ${inst.node}`, `one of spec.agent.placement.nodes (${allowed.join(', ')})`, `agent instance \`${inst.name}\` is pinned to node \`${inst.node}\`, which spec.agent.placement.nodes excludes, so it could never run; add the node there or pin the instance elsewhere`);
      }
    }
  });
  const { heartbeatMs, timeoutMs } = agent.election ?? {};
  if (heartbeatMs !== undefined && timeoutMs !== undefined && timeoutMs <= heartbeatMs) {
    report.add(['spec', 'agent', 'election', 'timeoutMs'], `timeoutMs ${timeoutMs}${report.defaultNote(['spec', 'agent', 'election', 'timeoutMs'])} with heartbeatMs ${heartbeatMs}`, 'timeoutMs greater than heartbeatMs (BZZZ uses 3×)', `the election timeout must exceed the heartbeat interval, or every heartbeat gap starts an election; set timeoutMs to about 3 × heartbeatMs (${heartbeatMs * 3})`);
  }
}

// ---- networks, secrets, configs ----

function checkNetworks(cluster: BzzzCluster, report: ProblemReporter): void {
  const networks = cluster.spec.networks ?? {};
  const declared = Object.keys(networks);
  for (const [name, net] of Object.entries(networks)) {
    const path: PathSegment[] = ['spec', 'networks', name];
    if (net.external === true) {
      for (const key of ['driver', 'internal', 'attachable', 'encrypted'] as const) {
        if (!report.isDefault([...path, key])) {
          report.add([...path, key], `\`${key}\` on an external network`, 'only name and labels on an external network', `network \`${name}\` is external: it exists already and the operator does not create it, so \`${key}\` has no effect; remove it`, true);
        }
      }
    } else if (!report.isDefault([...path, 'name'])) {
      report.add([...path, 'name'], '`name` on a network the operator creates', `no name (the network is created as ${cluster.metadata.name}_${name})`, `network \`${name}\` is not external, so it is created as ${cluster.metadata.name}_${name} and \`name\` is not used; remove \`name\` or set external: true to use an existing network`, true);
    }
  }
  for (const c of enabledComponents(cluster)) {
    const list = c.spec.networks ?? [];
    list.forEach((n, i) => {
      const path = [...c.path, 'networks', i];
      if (list.indexOf(n) !== i) {
        report.add(path, `network ${n} again`, 'each network once', `network \`${n}\` is listed twice for ${c.key}; remove one`);
      } else if (!declared.includes(n)) {
        const note = report.isDefault([...c.path, 'networks']) ? ` (${c.key} is attached to [${list.join(', ')}] by default)` : '';
        report.add(report.isDefault(path) ? c.path : path, `network ${JSON.stringify(n)}${note}`, `a network of spec.networks (${declared.join(', ') || 'none declared'})`, `${c.key} uses network \`${n}\`${note}, which spec.networks does not declare; declare it under spec.networks or set ${formatPath([...c.path, 'networks'])}`);
      }
    });
  }
}

function checkSecretsAndConfigs(cluster: BzzzCluster, report: ProblemReporter): void {
  const secrets = Object.keys(cluster.spec.secrets ?? {});
  const configs = Object.keys(cluster.spec.configs ?? {});
  for (const c of enabledComponents(cluster)) {
    checkRefMounts(c, 'secrets', secrets, report);
    checkRefMounts(c, 'configs', configs, report);
  }
  const proxy = cluster.spec.services?.openaiProxy;
  if (proxy && proxy.enabled !== false && proxy.apiKeySecret !== undefined) {
    checkSecretRef(proxy.apiKeySecret, ['spec', 'services', 'openaiProxy', 'apiKeySecret'], secrets, report, 'the OpenAI proxy reads its API key from it; or turn the proxy off with enabled: false');
  }
  const pg = cluster.spec.services?.postgres;
  if (pg && pg.enabled !== false) {
    if (pg.userSecret !== undefined) checkSecretRef(pg.userSecret, ['spec', 'services', 'postgres', 'userSecret'], secrets, report, 'postgres reads its user name from it, e.g. generate: { encoding: alphanumeric }');
    if (pg.passwordSecret !== undefined) checkSecretRef(pg.passwordSecret, ['spec', 'services', 'postgres', 'passwordSecret'], secrets, report, 'postgres reads its password from it, e.g. generate: {}');
  }
  const slack = cluster.spec.notifications?.slack?.webhookUrlSecret;
  if (slack !== undefined) checkSecretRef(slack, ['spec', 'notifications', 'slack', 'webhookUrlSecret'], secrets, report, 'it holds the Slack webhook URL');
}

function checkSecretRef(name: string, path: PathSegment[], declared: string[], report: ProblemReporter, why: string): void {
  if (declared.includes(name)) return;
  const field = String(path.at(-1));
  report.add(path, `secret ${JSON.stringify(name)}${report.defaultNote(path)}`, `a secret of spec.secrets (${declared.join(', ') || 'none declared'})`, `${field}${report.defaultNote(path)} names secret \`${name}\`, which spec.secrets does not declare; declare spec.secrets.${name} (${why})`);
}

function checkRefMounts(c: ComponentRef, kind: 'secrets' | 'configs', declared: string[], report: ProblemReporter): void {
  const mounts = c.spec[kind] ?? [];
  const targets = new Map<string, number>();
  mounts.forEach((m, i) => {
    const path = [...c.path, kind, i];
    if (!declared.includes(m.source)) {
      const singular = kind.slice(0, -1);
      report.add([...path, 'source'], `${singular} ${JSON.stringify(m.source)}`, `a ${singular} of spec.${kind} (${declared.join(', ') || 'none declared'})`, `${c.key} mounts ${singular} \`${m.source}\`, which spec.${kind} does not declare; declare spec.${kind}.${m.source} or fix the name`);
    }
    const target = m.target ?? m.source;
    const first = targets.get(target);
    if (first !== undefined) {
      report.add(path, `target ${target} again`, 'a distinct target per mount', `${c.key} mounts two ${kind} at the same target \`${target}\` (also ${formatPath([...c.path, kind, first])}); give one another target`);
    } else targets.set(target, i);
  });
}

// ---- Docker names the operator will create ----

function checkDockerNames(cluster: BzzzCluster, report: ProblemReporter): void {
  const cname = cluster.metadata.name;
  const service = (name: string, path: PathSegment[], what: string) => {
    if (name.length > SERVICE_NAME_MAX) {
      report.add(path, `service name ${name} (${name.length} characters)`, `at most ${SERVICE_NAME_MAX} characters`, `${what} becomes the Docker service \`${name}\`, ${name.length - SERVICE_NAME_MAX} characters over Docker's limit of ${SERVICE_NAME_MAX}; shorten the name (or metadata.name)`);
    } else if (!DNS_NAME.test(name)) {
      report.add(path, `service name ${name}`, 'a DNS name component (letters, digits, "-" and "_", starting and ending with a letter or digit)', `${what} becomes the Docker service \`${name}\`, which Docker refuses; use letters, digits and "-"`);
    }
  };
  cluster.spec.agent.instances.forEach((inst, i) => service(agentServiceName(cname, inst.name), ['spec', 'agent', 'instances', i, 'name'], `agent instance \`${inst.name}\``));
  for (const c of enabledComponents(cluster)) {
    if (c.key !== 'agent') service(companionServiceName(cname, c.key), c.path, c.key);
  }

  for (const [name, net] of Object.entries(cluster.spec.networks ?? {})) {
    if (net.external === true) continue;
    const docker = `${cname}_${name}`;
    if (docker.length > SERVICE_NAME_MAX || !DNS_NAME.test(docker)) {
      report.add(['spec', 'networks', name], `network name ${docker}`, `a DNS name component of at most ${SERVICE_NAME_MAX} characters (letters, digits, "-", "_")`, `network \`${name}\` is created as \`${docker}\`, which Docker refuses (swarm networks follow the service name rules); rename it without "."`, true);
    }
  }

  for (const kind of ['secrets', 'configs'] as const) {
    for (const [name, obj] of Object.entries(cluster.spec[kind] ?? {})) {
      if (obj.external !== undefined) continue;
      const docker = `${cname}_${name}${HASH_SUFFIX}`;
      if (docker.length > SECRET_NAME_MAX || !SECRET_NAME.test(docker)) {
        const singular = kind.slice(0, -1);
        report.add(['spec', kind, name], `${singular} name ${cname}_${name}-<hash8> (${docker.length} characters)`, `at most ${SECRET_NAME_MAX} characters`, `${singular} \`${name}\` is created as \`${cname}_${name}-<hash8>\`, ${docker.length} characters: over Docker's limit of ${SECRET_NAME_MAX}; shorten its name to at most ${SECRET_NAME_MAX - cname.length - 1 - HASH_SUFFIX.length} characters`, true);
      }
    }
  }
}

// ---- labels ----

function checkReservedLabels(cluster: BzzzCluster, report: ProblemReporter): void {
  const check = (labels: Record<string, string> | undefined, path: PathSegment[], owner: string) => {
    for (const key of Object.keys(labels ?? {})) {
      if (!RESERVED_LABEL(key)) continue;
      report.add([...path, key], `the label ${key}`, 'a label outside io.bzzz.* and com.docker.stack.namespace', `label \`${key}\` on ${owner} is the operator's own (it marks what the operator owns); remove it or use another prefix, e.g. example.com/${key.split('.').pop()}`, true);
    }
  };
  check(cluster.metadata.labels, ['metadata', 'labels'], 'the cluster');
  for (const kind of ['networks', 'secrets', 'configs'] as const) {
    for (const [name, obj] of Object.entries(cluster.spec[kind] ?? {})) check(obj.labels, ['spec', kind, name, 'labels'], `${kind.slice(0, -1)} ${name}`);
  }
  for (const c of enabledComponents(cluster)) check(c.spec.labels, [...c.path, 'labels'], c.key);
}

// ---- images ----

function checkImages(cluster: BzzzCluster, report: ProblemReporter): void {
  for (const c of enabledComponents(cluster)) {
    const path = [...c.path, 'image'];
    if (report.isDefault(path) || typeof c.spec.image !== 'string') continue;
    const parsed = parseImageRef(c.spec.image);
    if (!parsed.ok) {
      report.add(path, `the image ${JSON.stringify(c.spec.image)}`, 'an image reference [registry[:port]/]repository[:tag][@digest]', `Docker refuses the image reference of ${c.key}: ${parsed.reason}`);
    }
  }
}

// ---- values that must parse ----

function checkDurationsAndSizes(cluster: BzzzCluster, report: ProblemReporter): void {
  const duration = (value: string | undefined, path: PathSegment[]) => {
    if (value === undefined || report.isDefault(path)) return;
    try {
      parseDurationNs(value, formatPath(path));
    } catch (err) {
      report.add(path, JSON.stringify(value), 'a duration such as "10s" or "1m30s"', errorMessage(err));
    }
  };
  const policy = (p: UpdatePolicy | undefined, path: PathSegment[]) => {
    duration(p?.delay, [...path, 'delay']);
    duration(p?.monitor, [...path, 'monitor']);
  };
  policy(cluster.spec.updatePolicy, ['spec', 'updatePolicy']);
  policy(cluster.spec.rollbackPolicy, ['spec', 'rollbackPolicy']);
  for (const c of enabledComponents(cluster)) {
    policy(c.spec.update, [...c.path, 'update']);
    policy(c.spec.rollback, [...c.path, 'rollback']);
    duration(c.spec.stopGracePeriod, [...c.path, 'stopGracePeriod']);
    const hc = c.spec.healthcheck;
    if (hc) {
      for (const key of ['interval', 'timeout', 'startPeriod'] as const) duration(hc[key], [...c.path, 'healthcheck', key]);
      checkHealthcheckTest(hc.test, [...c.path, 'healthcheck', 'test'], report);
    }
    checkResources(c, report);
  }
}

function checkHealthcheckTest(test: string[], path: PathSegment[], report: ProblemReporter): void {
  const kind = test[0];
  if (kind !== 'CMD' && kind !== 'CMD-SHELL' && kind !== 'NONE') {
    report.add([...path, 0], JSON.stringify(kind), 'CMD, CMD-SHELL or NONE', `a health check test starts with CMD (then the program and its arguments), CMD-SHELL (then one shell command) or NONE; e.g. ["CMD", ${JSON.stringify(kind)}, ...]`);
  } else if (kind !== 'NONE' && test.length < 2) {
    report.add(path, `${kind} alone`, `${kind} followed by the command`, `the health check test has no command after ${kind}; add it, e.g. ["${kind}", "wget", "-qO-", "http://localhost:8081/health/live"]`);
  }
}

function checkResources(c: ComponentRef, report: ProblemReporter): void {
  const base = [...c.path, 'resources'];
  const read = (amounts: ResourceAmounts | undefined, which: 'limits' | 'reservations') => {
    const path = [...base, which, 'memory'];
    if (amounts?.memory === undefined) return { memory: undefined, cpus: amounts?.cpus };
    try {
      return { memory: parseMemoryBytes(amounts.memory, formatPath(path)), cpus: amounts.cpus };
    } catch (err) {
      report.add(path, JSON.stringify(amounts.memory), 'a memory size such as "512M"', errorMessage(err));
      return { memory: undefined, cpus: amounts.cpus };
    }
  };
  const limits = read(c.spec.resources?.limits, 'limits');
  const reservations = read(c.spec.resources?.reservations, 'reservations');
  if (limits.memory !== undefined && limits.memory < MIN_MEMORY_LIMIT) {
    report.add([...base, 'limits', 'memory'], `${limits.memory} bytes`, 'at least 6M', `a memory limit under 6 MiB is refused by Docker for ${c.key}; raise it (BZZZ services want at least 64M)`);
  }
  if (limits.memory !== undefined && reservations.memory !== undefined && reservations.memory > limits.memory) {
    report.add([...base, 'reservations', 'memory'], 'a reservation above the limit', 'reservations.memory ≤ limits.memory', `${c.key} reserves more memory than its limit allows; lower the reservation or raise the limit`);
  }
  if (limits.cpus !== undefined && reservations.cpus !== undefined && reservations.cpus > limits.cpus) {
    report.add([...base, 'reservations', 'cpus'], `${reservations.cpus} CPUs reserved, ${limits.cpus} allowed`, 'reservations.cpus ≤ limits.cpus', `${c.key} reserves more CPUs than its limit allows; lower the reservation or raise the limit`);
  }
}

// ---- policies ----

function checkPolicies(cluster: BzzzCluster, report: ProblemReporter): void {
  const rollbackPolicy = (p: UpdatePolicy | undefined, path: PathSegment[]) => {
    if (p?.failureAction === 'rollback' && !report.isDefault([...path, 'failureAction'])) {
      report.add([...path, 'failureAction'], 'failureAction rollback in a rollback policy', 'pause or continue', 'a failed rollback cannot itself be rolled back; use pause (stop and wait for you) or continue');
    }
  };
  rollbackPolicy(cluster.spec.rollbackPolicy, ['spec', 'rollbackPolicy']);
  for (const c of enabledComponents(cluster)) rollbackPolicy(c.spec.rollback, [...c.path, 'rollback']);
}

// ---- mounts ----

function checkVolumeMounts(cluster: BzzzCluster, report: ProblemReporter): void {
  for (const c of enabledComponents(cluster)) {
    (c.spec.mounts ?? []).forEach((m, i) => {
      const path = [...c.path, 'mounts', i];
      if (m.type === 'bind' && (m.source === undefined || !m.source.startsWith('/'))) {
        report.add([...path, 'source'], m.source === undefined ? 'no source' : JSON.stringify(m.source), 'an absolute host path', `a bind mount of ${c.key} needs an absolute host path as source, e.g. /rust/bzzz-v2/data`);
      } else if (m.type === 'volume' && m.source !== undefined && !VOLUME_NAME.test(`${cluster.metadata.name}_${m.source}`)) {
        report.add([...path, 'source'], JSON.stringify(m.source), 'a volume name (letters, digits, "_", "." and "-")', `volume \`${m.source}\` of ${c.key} is created as ${cluster.metadata.name}_${m.source}, which Docker refuses; for a host path use type: bind`);
      } else if (m.type === 'tmpfs' && m.source !== undefined) {
        report.add([...path, 'source'], JSON.stringify(m.source), 'no source for tmpfs', `a tmpfs mount of ${c.key} has no source; remove it`);
      }
    });
  }
}

// ---- Traefik ingress ----

function checkIngress(cluster: BzzzCluster, report: ProblemReporter): void {
  const traefik = cluster.spec.ingress?.traefik;
  if (traefik?.enabled === false) return;
  const routed = enabledComponents(cluster).filter((c) => c.spec.ingress !== undefined);
  if (routed.length === 0) return;
  const network = traefik?.network ?? 'external';
  const netPath: PathSegment[] = ['spec', 'ingress', 'traefik', 'network'];
  const declared = Object.keys(cluster.spec.networks ?? {});
  if (!declared.includes(network)) {
    report.add(report.isDefault(netPath) ? ['spec', 'ingress'] : netPath, `network ${JSON.stringify(network)}${report.defaultNote(netPath)}`, `a network of spec.networks (${declared.join(', ')})`, `Traefik reaches ${routed.map((c) => c.key).join(', ')} on network \`${network}\`${report.defaultNote(netPath)}, which spec.networks does not declare; set spec.ingress.traefik.network to the network Traefik is on`);
    return;
  }
  const routes = new Map<string, string>();
  for (const c of routed) {
    const ingress = c.spec.ingress!;
    if (!(c.spec.networks ?? []).includes(network)) {
      report.add([...c.path, 'ingress'], `${c.key} not attached to ${network}`, `${c.key} attached to network ${network}`, `${c.key} is routed by Traefik, which reaches it on network \`${network}\`; add \`${network}\` to ${formatPath([...c.path, 'networks'])}`);
    }
    const route = `${ingress.host}${ingress.path ?? '/'}`;
    const first = routes.get(route);
    if (first !== undefined) {
      report.add([...c.path, 'ingress', 'host'], `route ${route} again`, 'one service per host and path', `${c.key} and ${first} both claim the Traefik route ${route}; give one another host or path`);
    } else routes.set(route, c.key);
  }
}

// ---- reserved sections ----

function checkReserved(cluster: BzzzCluster, report: ProblemReporter): void {
  const shamir = cluster.spec.keys?.shamir;
  if (shamir?.threshold !== undefined && shamir.shares !== undefined && shamir.threshold > shamir.shares) {
    report.add(['spec', 'keys', 'shamir', 'threshold'], `threshold ${shamir.threshold} of ${shamir.shares} shares`, 'threshold ≤ shares', `the admin key could never be rebuilt: ${shamir.threshold} shares needed but only ${shamir.shares} made; lower threshold or raise shares`);
  }
  const roles = cluster.spec.keys?.rotation?.roles ?? [];
  roles.forEach((r, i) => {
    if (roles.indexOf(r) !== i) report.add(['spec', 'keys', 'rotation', 'roles', i], `role ${r} again`, 'each role once', `role \`${r}\` is listed twice; remove one`);
  });
  (cluster.spec.agent.bootstrap ?? []).forEach((b, i) => {
    const port = /:(\d+)$/.exec(b)?.[1];
    if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) {
      report.add(['spec', 'agent', 'bootstrap', i], JSON.stringify(b), 'host:port with a port from 1 to 65535', `bootstrap peer ${b} has port ${port}, out of range; fix the port`);
    }
  });
}
