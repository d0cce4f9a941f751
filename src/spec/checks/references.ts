// Semantic checks: references between parts of the spec. Instances and placements name declared
// nodes; components use declared networks, secrets and configs; Traefik reaches routed services.
import type { PathSegment } from '../problems.js';
import { formatPath } from '../problems.js';
import type { ProblemReporter } from '../report.js';
import { agentServiceName, enabledComponents, type ComponentRef } from '../components.js';
import type { BzzzCluster } from '../types.js';
import { defaultPublishMode } from '../defaults.js';

// ---- nodes and instances ----

export function checkNodes(cluster: BzzzCluster, report: ProblemReporter): void {
  const seen = new Map<string, number>();
  (cluster.spec.nodes ?? []).forEach((n, i) => {
    const first = seen.get(n.name);
    if (first !== undefined) {
      report.add(
        ['spec', 'nodes', i, 'name'],
        `node ${n.name} again`,
        'unique node names',
        `node \`${n.name}\` is declared twice (first at spec.nodes[${first}]); remove one`,
      );
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
  const todo = declared.length
    ? `use one of ${declared.join(', ')} or add it to spec.nodes`
    : `declare it: spec.nodes: [{ name: ${node} }]`;
  report.add(path, `node ${JSON.stringify(node)}`, expected, `node \`${node}\` is not declared in spec.nodes; ${todo}`);
}

export function checkInstances(cluster: BzzzCluster, report: ProblemReporter): void {
  const agent = cluster.spec.agent;
  const declared = (cluster.spec.nodes ?? []).map((n) => n.name);
  const seen = new Map<string, number>();
  agent.instances.forEach((inst, i) => {
    const first = seen.get(inst.name);
    if (first !== undefined) {
      report.add(
        ['spec', 'agent', 'instances', i, 'name'],
        `instance ${inst.name} again`,
        'unique instance names',
        `agent instance \`${inst.name}\` is declared twice (first at spec.agent.instances[${first}]); each instance is its own service ${agentServiceName(cluster.metadata.name, inst.name)}: rename one`,
      );
    } else seen.set(inst.name, i);
    if (inst.node !== undefined) {
      checkNodeRef(inst.node, ['spec', 'agent', 'instances', i, 'node'], declared, report);
      const allowed = agent.placement?.nodes;
      if (allowed && !allowed.includes(inst.node)) {
        report.add(
          ['spec', 'agent', 'instances', i, 'node'],
          `node ${inst.node}`,
          `one of spec.agent.placement.nodes (${allowed.join(', ')})`,
          `agent instance \`${inst.name}\` is pinned to node \`${inst.node}\`, which spec.agent.placement.nodes excludes, so it could never run; add the node there or pin the instance elsewhere`,
        );
      }
    }
  });
}

// ---- networks, secrets, configs ----

export function checkNetworks(cluster: BzzzCluster, report: ProblemReporter): void {
  const networks = cluster.spec.networks ?? {};
  const declared = Object.keys(networks);
  for (const [name, net] of Object.entries(networks)) {
    const path: PathSegment[] = ['spec', 'networks', name];
    if (net.external === true) {
      for (const key of ['driver', 'internal', 'attachable', 'encrypted'] as const) {
        if (!report.isDefault([...path, key])) {
          report.add(
            [...path, key],
            `\`${key}\` on an external network`,
            'only name and labels on an external network',
            `network \`${name}\` is external: it exists already and the operator does not create it, so \`${key}\` has no effect; remove it`,
            true,
          );
        }
      }
    } else if (!report.isDefault([...path, 'name'])) {
      report.add(
        [...path, 'name'],
        '`name` on a network the operator creates',
        `no name (the network is created as ${cluster.metadata.name}_${name})`,
        `network \`${name}\` is not external, so it is created as ${cluster.metadata.name}_${name} and \`name\` is not used; remove \`name\` or set external: true to use an existing network`,
        true,
      );
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
        report.add(
          report.isDefault(path) ? c.path : path,
          `network ${JSON.stringify(n)}${note}`,
          `a network of spec.networks (${declared.join(', ') || 'none declared'})`,
          `${c.key} uses network \`${n}\`${note}, which spec.networks does not declare; declare it under spec.networks or set ${formatPath([...c.path, 'networks'])}`,
        );
      }
    });
  }
}

export function checkSecretsAndConfigs(cluster: BzzzCluster, report: ProblemReporter): void {
  const secrets = Object.keys(cluster.spec.secrets ?? {});
  const configs = Object.keys(cluster.spec.configs ?? {});
  for (const c of enabledComponents(cluster)) {
    checkRefMounts(c, 'secrets', secrets, report);
    checkRefMounts(c, 'configs', configs, report);
  }
  const proxy = cluster.spec.services?.openaiProxy;
  if (proxy && proxy.enabled !== false && proxy.apiKeySecret !== undefined) {
    checkSecretRef(
      proxy.apiKeySecret,
      ['spec', 'services', 'openaiProxy', 'apiKeySecret'],
      secrets,
      report,
      'the OpenAI proxy reads its API key from it; or turn the proxy off with enabled: false',
    );
  }
  const pg = cluster.spec.services?.postgres;
  if (pg && pg.enabled !== false) {
    if (pg.userSecret !== undefined)
      checkSecretRef(
        pg.userSecret,
        ['spec', 'services', 'postgres', 'userSecret'],
        secrets,
        report,
        'postgres reads its user name from it, e.g. generate: { encoding: alphanumeric }',
      );
    if (pg.passwordSecret !== undefined)
      checkSecretRef(
        pg.passwordSecret,
        ['spec', 'services', 'postgres', 'passwordSecret'],
        secrets,
        report,
        'postgres reads its password from it, e.g. generate: {}',
      );
  }
  const slack = cluster.spec.notifications?.slack?.webhookUrlSecret;
  if (slack !== undefined)
    checkSecretRef(slack, ['spec', 'notifications', 'slack', 'webhookUrlSecret'], secrets, report, 'it holds the Slack webhook URL');
}

function checkSecretRef(name: string, path: PathSegment[], declared: string[], report: ProblemReporter, why: string): void {
  if (declared.includes(name)) return;
  const field = String(path.at(-1));
  report.add(
    path,
    `secret ${JSON.stringify(name)}${report.defaultNote(path)}`,
    `a secret of spec.secrets (${declared.join(', ') || 'none declared'})`,
    `${field}${report.defaultNote(path)} names secret \`${name}\`, which spec.secrets does not declare; declare spec.secrets.${name} (${why})`,
  );
}

function checkRefMounts(c: ComponentRef, kind: 'secrets' | 'configs', declared: string[], report: ProblemReporter): void {
  const mounts = c.spec[kind] ?? [];
  const targets = new Map<string, number>();
  mounts.forEach((m, i) => {
    const path = [...c.path, kind, i];
    if (!declared.includes(m.source)) {
      const singular = kind.slice(0, -1);
      report.add(
        [...path, 'source'],
        `${singular} ${JSON.stringify(m.source)}`,
        `a ${singular} of spec.${kind} (${declared.join(', ') || 'none declared'})`,
        `${c.key} mounts ${singular} \`${m.source}\`, which spec.${kind} does not declare; declare spec.${kind}.${m.source} or fix the name`,
      );
    }
    const target = m.target ?? m.source;
    const first = targets.get(target);
    if (first !== undefined) {
      report.add(
        path,
        `target ${target} again`,
        'a distinct target per mount',
        `${c.key} mounts two ${kind} at the same target \`${target}\` (also ${formatPath([...c.path, kind, first])}); give one another target`,
      );
    } else targets.set(target, i);
  });
}

// ---- Traefik ingress ----

export function checkIngress(cluster: BzzzCluster, report: ProblemReporter): void {
  const traefik = cluster.spec.ingress?.traefik;
  if (traefik?.enabled === false) return;
  const routed = enabledComponents(cluster).filter((c) => c.spec.ingress !== undefined);
  if (routed.length === 0) return;
  const network = traefik?.network ?? 'external';
  const netPath: PathSegment[] = ['spec', 'ingress', 'traefik', 'network'];
  const declared = Object.keys(cluster.spec.networks ?? {});
  if (!declared.includes(network)) {
    report.add(
      report.isDefault(netPath) ? ['spec', 'ingress'] : netPath,
      `network ${JSON.stringify(network)}${report.defaultNote(netPath)}`,
      `a network of spec.networks (${declared.join(', ')})`,
      `Traefik reaches ${routed.map((c) => c.key).join(', ')} on network \`${network}\`${report.defaultNote(netPath)}, which spec.networks does not declare; set spec.ingress.traefik.network to the network Traefik is on`,
    );
    return;
  }
  const routes = new Map<string, string>();
  for (const c of routed) {
    const ingress = c.spec.ingress!;
    if (!(c.spec.networks ?? []).includes(network)) {
      report.add(
        [...c.path, 'ingress'],
        `${c.key} not attached to ${network}`,
        `${c.key} attached to network ${network}`,
        `${c.key} is routed by Traefik, which reaches it on network \`${network}\`; add \`${network}\` to ${formatPath([...c.path, 'networks'])}`,
      );
    }
    const route = `${ingress.host}${ingress.path ?? '/'}`;
    const first = routes.get(route);
    if (first !== undefined) {
      report.add(
        [...c.path, 'ingress', 'host'],
        `route ${route} again`,
        'one service per host and path',
        `${c.key} and ${first} both claim the Traefik route ${route}; give one another host or path`,
      );
    } else routes.set(route, c.key);
  }
}

/**
 * A task only on `internal: true` overlays gets no gateway bridge, so a port it publishes in
 * host mode never reaches it: the service runs and the port answers nothing (seen on Docker
 * 20.10). Ingress-mode ports go through the ingress network the engine attaches, so they are
 * not checked here.
 */
export function checkPublishedPortsReachable(cluster: BzzzCluster, report: ProblemReporter): void {
  const networks = cluster.spec.networks ?? {};
  const onlyInternal = (list: string[]) =>
    list.length > 0 && list.every((n) => networks[n] && networks[n].external !== true && networks[n].internal === true);
  for (const c of enabledComponents(cluster)) {
    const hostPorts =
      (c.spec.ports ?? []).some((p) => typeof p?.published === 'number' && p.mode === 'host') ||
      (c.key === 'agent' &&
        (cluster.spec.agent.instances ?? []).some(
          (i) => i.publish && (i.publish.mode ?? defaultPublishMode(i)) === 'host' && (i.publish.p2p || i.publish.api || i.publish.health),
        ));
    const list = c.spec.networks ?? [];
    if (!hostPorts || !onlyInternal(list)) continue;
    const routable = Object.entries(networks)
      .filter(([, n]) => n.external === true || n.internal !== true)
      .map(([k]) => k);
    report.add(
      [...c.path, 'networks'],
      `only internal networks [${list.join(', ')}] for ${c.key}, which publishes host-mode ports`,
      'at least one network that is not internal',
      `${c.key} publishes ports in host mode but is attached only to internal networks (${list.join(', ')}), which give its tasks no route to the host, so those ports would answer nothing; add ${routable.length ? `\`${routable[0]}\`` : 'a network without internal: true'} to ${formatPath([...c.path, 'networks'])}`,
    );
  }
}

// ---- API callers ----

/** Each declared API caller has a unique name and a token from a file or env secret (apply reads it). */
export function checkApiCallers(cluster: BzzzCluster, report: ProblemReporter): void {
  const seen = new Map<string, number>();
  const secrets = cluster.spec.secrets ?? {};
  (cluster.spec.agent.api?.callers ?? []).forEach((c, i) => {
    const path: PathSegment[] = ['spec', 'agent', 'api', 'callers', i];
    const first = seen.get(c.name);
    if (first !== undefined || c.name === 'bzzz-operator' || c.name.startsWith('bzzzctl-')) {
      report.add(
        [...path, 'name'],
        `caller ${c.name}`,
        'a unique name, not bzzz-operator or bzzzctl-*',
        first !== undefined
          ? `API caller \`${c.name}\` is declared twice (first at spec.agent.api.callers[${first}]); rename one`
          : `API caller name \`${c.name}\` is reserved for the built-in callers; choose another`,
      );
    } else seen.set(c.name, i);
    const s = secrets[c.token];
    if (!s) {
      report.add(
        [...path, 'token'],
        `secret ${c.token}`,
        'a secret of spec.secrets',
        `API caller \`${c.name}\` names token secret \`${c.token}\`, which spec.secrets does not declare: add it with a file or env source`,
      );
    } else if (s.file === undefined && s.env === undefined) {
      report.add(
        [...path, 'token'],
        `secret ${c.token}`,
        'a secret whose source is file or env',
        `API caller \`${c.name}\`: its token secret \`${c.token}\` must come from a file or an environment variable (bzzzctl apply hashes it; a generated or external value is never seen by anyone)`,
      );
    }
  });
}
