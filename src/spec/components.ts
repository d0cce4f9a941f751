// The components a cluster runs (the agent and the enabled companions), with their spec paths
// and the Docker service names the operator gives them.
import { COMPANION_COMPONENT, COMPANION_NAMES } from './defaults.js';
import type { PathSegment } from './problems.js';
import type { BzzzCluster, CompanionName, ComponentSpec, ReplicatedComponentSpec } from './types.js';

export interface ComponentRef {
  key: 'agent' | CompanionName;
  /** Path of the component in the spec, e.g. ['spec', 'services', 'redis']. */
  path: PathSegment[];
  spec: ComponentSpec & Pick<ReplicatedComponentSpec, 'replicas'>;
}

/** Service name of a companion: `<cluster>_<component>`, e.g. `bzzz_mcp-server`. */
export function companionServiceName(cluster: string, key: CompanionName): string {
  return `${cluster}_${COMPANION_COMPONENT[key]}`;
}

/** Service name of an agent instance: `<cluster>_agent-<instance>`. */
export function agentServiceName(cluster: string, instance: string): string {
  return `${cluster}_agent-${instance}`;
}

/** The agent and every companion not turned off (`enabled: false`), in a fixed order. */
export function enabledComponents(cluster: BzzzCluster): ComponentRef[] {
  const out: ComponentRef[] = [];
  if (cluster.spec.agent && typeof cluster.spec.agent === 'object') {
    out.push({ key: 'agent', path: ['spec', 'agent'], spec: cluster.spec.agent });
  }
  for (const key of COMPANION_NAMES) {
    const c = cluster.spec.services?.[key];
    if (c && typeof c === 'object' && c.enabled !== false) out.push({ key, path: ['spec', 'services', key], spec: c });
  }
  return out;
}
