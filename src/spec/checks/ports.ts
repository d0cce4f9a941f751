// Published port collisions across the whole cluster (agent instances' `publish`, the agent's
// and the companions' `ports`). Swarm refuses the second service of a pair at create time, or
// leaves its tasks pending forever; either way the spec cannot converge, so refuse it now.
//
// Rules: an ingress-mode port is taken on every node, so it collides with any other use of the
// same port and protocol. Two host-mode uses collide when they are certain to land on the same
// node: both pinned to the same node, or the spec names exactly one node. (Unpinned host-mode
// tasks are spread by the scheduler, which knows which host ports are free.)
import type { PathSegment } from '../problems.js';
import { formatPath } from '../problems.js';
import type { ProblemReporter } from '../report.js';
import { enabledComponents } from '../components.js';
import type { BzzzCluster } from '../types.js';
import { defaultPublishMode } from '../defaults.js';

interface PortUse {
  /** Who publishes it, for people: "agent instance a", "mcpServer". */
  owner: string;
  /** One Docker service: uses within the same service always collide. */
  service: string;
  path: PathSegment[];
  port: number;
  protocol: 'tcp' | 'udp';
  mode: 'ingress' | 'host';
  /** Nodes the task may run on; undefined when any node. */
  nodes?: string[];
}

export function checkPortCollisions(cluster: BzzzCluster, report: ProblemReporter): void {
  const uses = collectPortUses(cluster);
  const singleNode = cluster.spec.nodes?.length === 1 ? cluster.spec.nodes[0].name : undefined;
  for (let j = 0; j < uses.length; j++) {
    for (let i = 0; i < j; i++) {
      // Report at the use the user wrote when the other one is a default.
      const [a, b] = report.isDefault(uses[j].path) && !report.isDefault(uses[i].path) ? [uses[j], uses[i]] : [uses[i], uses[j]];
      if (a.port !== b.port || a.protocol !== b.protocol) continue;
      const why = collision(a, b, singleNode);
      if (!why) continue;
      const where = `${formatPath(a.path)}${report.defaultNote(a.path)}`;
      report.add(
        b.path,
        `${b.port}/${b.protocol} published${report.defaultNote(b.path)} by ${b.owner} in ${b.mode} mode`,
        `a port no other service publishes (${why})`,
        `port ${b.port}/${b.protocol} is published twice: by ${b.owner} here and by ${a.owner} at ${where}; ${why}. Change one of the published ports`,
      );
      break; // one problem per use is enough to fix it
    }
  }
  checkHostPortReplicas(uses, cluster, report, singleNode);
}

function collision(a: PortUse, b: PortUse, singleNode: string | undefined): string | undefined {
  if (a.mode === 'ingress' && b.mode === 'ingress') return 'an ingress-mode port is published on every node, once per swarm';
  if (a.mode === 'ingress' || b.mode === 'ingress') return 'an ingress-mode port is taken on every node, host-mode ones included';
  if (a.service === b.service) return 'one task cannot bind the same host port twice';
  const na = a.nodes?.length === 1 ? a.nodes[0] : singleNode;
  const nb = b.nodes?.length === 1 ? b.nodes[0] : singleNode;
  if (na !== undefined && na === nb) return `both run on node ${na} in host mode`;
  return undefined;
}

/** More than one task of a service pinned to one node cannot all bind the same host port. */
function checkHostPortReplicas(uses: PortUse[], cluster: BzzzCluster, report: ProblemReporter, singleNode: string | undefined): void {
  for (const c of enabledComponents(cluster)) {
    if (c.key === 'agent') continue;
    const replicas = c.spec.replicas ?? 1;
    const maxPerNode = c.spec.placement?.maxReplicasPerNode ?? 0;
    if (replicas <= 1 || maxPerNode === 1) continue;
    for (const u of uses) {
      if (u.owner !== c.key || u.mode !== 'host') continue;
      const node = u.nodes?.length === 1 ? u.nodes[0] : singleNode;
      if (node === undefined) continue;
      report.add(
        u.path,
        `host port ${u.port}/${u.protocol} with ${replicas} replicas on node ${node}`,
        'one task per node for a host-mode port',
        `${c.key} runs ${replicas} tasks on node ${node} but publishes ${u.port}/${u.protocol} in host mode: only one task can bind it. Use ingress mode, set placement.maxReplicasPerNode: 1 over several nodes, or replicas: 1`,
      );
    }
  }
}

function collectPortUses(cluster: BzzzCluster): PortUse[] {
  const uses: PortUse[] = [];
  for (const c of enabledComponents(cluster)) {
    const ports = Array.isArray(c.spec.ports) ? c.spec.ports : [];
    const placementNodes = c.spec.placement?.nodes;
    if (c.key === 'agent') {
      const instances = Array.isArray(cluster.spec.agent.instances) ? cluster.spec.agent.instances : [];
      instances.forEach((inst, idx) => {
        const nodes = inst.node ? [inst.node] : placementNodes;
        const service = `agent-${inst.name}`;
        const owner = `agent instance ${inst.name}`;
        ports.forEach((p, j) => {
          if (typeof p?.published !== 'number') return;
          uses.push({
            owner,
            service,
            path: ['spec', 'agent', 'ports', j, 'published'],
            port: p.published,
            protocol: p.protocol ?? 'tcp',
            mode: p.mode ?? 'ingress',
            ...(nodes ? { nodes } : {}),
          });
        });
        const pub = inst.publish;
        if (!pub) return;
        for (const kind of ['p2p', 'api', 'health'] as const) {
          const port = pub[kind];
          if (typeof port !== 'number') continue;
          uses.push({
            owner,
            service,
            path: ['spec', 'agent', 'instances', idx, 'publish', kind],
            port,
            protocol: 'tcp',
            mode: pub.mode ?? defaultPublishMode(inst),
            ...(nodes ? { nodes } : {}),
          });
        }
      });
      continue;
    }
    ports.forEach((p, j) => {
      if (typeof p?.published !== 'number') return;
      uses.push({
        owner: c.key,
        service: c.key,
        path: [...c.path, 'ports', j, 'published'],
        port: p.published,
        protocol: p.protocol ?? 'tcp',
        mode: p.mode ?? 'ingress',
        ...(placementNodes ? { nodes: placementNodes } : {}),
      });
    });
  }
  return uses;
}
