// Asks each cluster's agents how they are, on its own timer, so a reconcile pass never waits on
// a slow or absent agent (a probe can take its whole timeout; drift correction must not). The
// pass reads the latest reports; when they change, the cluster is queued so status follows.
import type { BzzzCluster } from '../spec/types.js';
import type { AgentStatus } from '../spec/status.js';
import type { AgentProber } from '../reconcilers/agents.js';
import { stableStringify } from '../swarm/labels.js';
import type { Runnable } from './types.js';
import type { Logger } from '../util/log.js';

export interface AgentMonitor extends Runnable {
  /** Latest reports of a cluster's agents, without waiting; undefined before the first probe. */
  latest(cluster: string): AgentStatus[] | undefined;
  /** The reconciler tells the monitor which spec a cluster runs (instances, ports) and the controller's API token. */
  track(cluster: BzzzCluster, token?: string): void;
  forget(cluster: string): void;
}

export function createAgentMonitor(opts: {
  prober: AgentProber;
  intervalMs?: number;
  onChange: (cluster: string) => void;
  log?: Logger;
}): AgentMonitor {
  const intervalMs = opts.intervalMs ?? 5000;
  const specs = new Map<string, BzzzCluster>();
  const tokens = new Map<string, string | undefined>();
  const reports = new Map<string, AgentStatus[]>();
  const inFlight = new Set<string>();
  let timer: NodeJS.Timeout | undefined;

  async function probe(name: string): Promise<void> {
    const spec = specs.get(name);
    if (!spec || inFlight.has(name)) return;
    inFlight.add(name);
    try {
      const next = await opts.prober(spec, tokens.get(name));
      const changed = stableStringify(reports.get(name)) !== stableStringify(next);
      reports.set(name, next);
      if (changed && specs.has(name)) opts.onChange(name);
    } catch (err) {
      opts.log?.warn({ cluster: name, err }, 'agent probe failed');
    } finally {
      inFlight.delete(name);
    }
  }

  return {
    latest: (name) => reports.get(name),
    track(cluster, token) {
      const name = cluster.metadata.name;
      const isNew = !specs.has(name);
      specs.set(name, cluster);
      tokens.set(name, token);
      if (isNew) void probe(name);
    },
    forget(name) {
      specs.delete(name);
      tokens.delete(name);
      reports.delete(name);
    },
    start(signal) {
      timer = setInterval(() => {
        for (const name of specs.keys()) void probe(name);
      }, intervalMs);
      signal.addEventListener('abort', () => clearInterval(timer), { once: true });
    },
    async stop() {
      clearInterval(timer);
    },
  };
}
