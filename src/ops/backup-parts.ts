// Which parts a cluster has, as sources to back up and targets to restore into. Parts come in
// a fixed order — swarm, postgres, content — because the other two restore into the running
// tasks the swarm part brings up.
import type { BackupSource, RestoreTarget } from '../backup/types.js';
import type { BzzzCluster } from '../spec/types.js';
import { enabledComponents } from '../spec/index.js';
import { ClusterStore } from '../store/cluster-store.js';
import { DockerExec, type ServiceExec } from '../swarm/exec.js';
import type { SwarmPort } from '../swarm/port.js';
import { InvalidInputError, NotFoundError } from '../util/errors.js';
import { convergeInProcess, type Converge } from './backup-converge.js';
import { contentSource, contentTarget } from './backup-content.js';
import { postgresSource, postgresTarget } from './backup-postgres.js';
import { swarmSource } from './backup-swarm-source.js';
import { swarmTarget } from './backup-swarm-target.js';

export const CLUSTER_PARTS = ['swarm', 'postgres', 'content'] as const;
export type ClusterPart = (typeof CLUSTER_PARTS)[number];

/** The parts `include` names (all when empty); refuses a name that is not a part. */
export function selectParts(include?: readonly string[]): ClusterPart[] {
  if (!include?.length) return [...CLUSTER_PARTS];
  const unknown = include.filter((p) => !(CLUSTER_PARTS as readonly string[]).includes(p));
  if (unknown.length)
    throw new InvalidInputError(`unknown backup part(s) ${unknown.join(', ')}: the parts are ${CLUSTER_PARTS.join(', ')}`);
  return CLUSTER_PARTS.filter((p) => include.includes(p));
}

export interface ClusterSourcesOptions {
  port: SwarmPort;
  exec: ServiceExec;
  cluster: string;
  include?: readonly string[];
  /** The cluster's spec; default its current stored generation. */
  spec?: BzzzCluster;
  /** A stable secret per purpose (Repository.secretToken): pg_dump's --restrict-key. */
  secretToken?(purpose: string): string;
}

/** The sources of the parts the cluster has: postgres only when enabled, content only with agents. */
export async function clusterSources(o: ClusterSourcesOptions): Promise<BackupSource[]> {
  const parts = selectParts(o.include);
  const spec = o.spec ?? (await currentSpec(o.port, o.cluster));
  const instances = spec.spec.agent.instances.map((i) => i.name);
  const out: BackupSource[] = [];
  for (const part of parts) {
    if (part === 'swarm') out.push(swarmSource({ port: o.port, exec: o.exec, cluster: o.cluster }));
    if (part === 'postgres' && enabledComponents(spec).some((c) => c.key === 'postgres')) {
      const token = o.secretToken;
      out.push(postgresSource({ exec: o.exec, cluster: o.cluster, restrictKey: token && ((db) => token(`pg_dump ${o.cluster} ${db}`)) }));
    }
    if (part === 'content' && instances.length) out.push(contentSource({ exec: o.exec, cluster: o.cluster, instances }));
  }
  return out;
}

export interface ClusterTargetsOptions {
  port: SwarmPort;
  exec: ServiceExec;
  /** The cluster to restore into (the backed-up one's name, or a new one). */
  name: string;
  include?: readonly string[];
  /** Default: reconcile in-process until Ready (backup-converge.ts). */
  converge?: Converge;
  transform?(cluster: BzzzCluster): BzzzCluster;
}

/** Targets for the parts `include` names, in restore order (swarm first). */
export function clusterTargets(o: ClusterTargetsOptions): RestoreTarget[] {
  return selectParts(o.include).map((part): RestoreTarget => {
    switch (part) {
      case 'swarm':
        return swarmTarget({ port: o.port, name: o.name, converge: o.converge ?? convergeInProcess(o.port), transform: o.transform });
      case 'postgres':
        return postgresTarget({ exec: o.exec, cluster: o.name });
      case 'content':
        return contentTarget({ exec: o.exec, cluster: o.name });
    }
  });
}

async function currentSpec(port: SwarmPort, cluster: string): Promise<BzzzCluster> {
  const store = new ClusterStore(port);
  const record = await store.get(cluster);
  if (!record) throw new NotFoundError(`cluster ${cluster} is not in the swarm: check the name with bzzzctl get clusters`);
  return (await store.getSpec(cluster, record.generation)).cluster;
}

/** The cluster's parts as sources and restore targets, bound to one engine (the jobs' view; tests inject their own). */
export interface ClusterParts {
  /** Sources of the parts named that the cluster has (postgres only when enabled, content only with agents). */
  sources(cluster: BzzzCluster, include: readonly ClusterPart[], secretToken?: (purpose: string) => string): Promise<BackupSource[]>;
  /** Targets restoring the parts named into the cluster `into` (the backed-up one's name or a new one). */
  targets(into: string, include: readonly ClusterPart[]): RestoreTarget[];
}

/** The parts of clusters on `port`'s engine; `converge` brings a restored cluster up (default in-process, no lease). */
export function clusterParts(port: SwarmPort, o: { exec?: ServiceExec; converge?: Converge } = {}): ClusterParts {
  const exec = o.exec ?? new DockerExec(port);
  return {
    sources: (cluster, include, secretToken) =>
      clusterSources({ port, exec, cluster: cluster.metadata.name, spec: cluster, include, secretToken }),
    targets: (into, include) => clusterTargets({ port, exec, name: into, include, converge: o.converge }),
  };
}
