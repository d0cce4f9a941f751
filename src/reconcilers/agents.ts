// Report what the agents themselves say, beside the swarm's view: health, peers, the elected
// admin, replication. The controller runs inside the swarm on the cluster's network, so it
// reaches each instance by its service name (agent-<instance>); probes are short and parallel,
// and an agent that does not answer is reported unhealthy with the reason, never an error.
import type { BzzzCluster } from '../spec/types.js';
import { DEFAULT_AGENT_PORTS } from '../spec/defaults.js';
import type { AgentStatus } from '../spec/status.js';
import { readBodyUpTo } from '../util/bounded-body.js';

export type { AgentStatus };

/** `token`: the controller's bearer token for the agents' API (the election status is behind it). */
export type AgentProber = (cluster: BzzzCluster, token?: string) => Promise<AgentStatus[]>;

/** Nothing an agent answers is trusted: bodies are read up to these sizes, then the probe fails. */
const MAX_JSON_BYTES = 64 * 1024;
const MAX_METRICS_BYTES = 1024 * 1024;

interface ElectionStatus {
  self?: string;
  admin?: string | null;
  term?: number;
}
interface HealthSummary {
  status?: string;
  score?: number;
  peerId?: string;
}

/** Value of a gauge in Prometheus text (first sample without labels, or the only one). */
export function gaugeValue(metrics: string, name: string): number | undefined {
  for (const line of metrics.split('\n')) {
    if (line.startsWith('#') || !line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== ' ' && rest[0] !== '{') continue;
    const v = Number(line.trim().split(/\s+/).pop());
    if (Number.isFinite(v)) return v;
  }
  return undefined;
}

async function getJson<T>(url: string, timeoutMs: number, token?: string): Promise<{ status: number; body: T }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), headers: token ? { authorization: `Bearer ${token}` } : {} });
  const text = await readBodyUpTo(res, MAX_JSON_BYTES, url);
  return { status: res.status, body: JSON.parse(text) as T };
}

async function getText(url: string, timeoutMs: number): Promise<string> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  return readBodyUpTo(res, MAX_METRICS_BYTES, url);
}

/** Probes every instance over the cluster network (service DNS names). */
export function httpAgentProber(opts: { timeoutMs?: number; host?: (instance: string) => string } = {}): AgentProber {
  const timeoutMs = opts.timeoutMs ?? 1500;
  const host = opts.host ?? ((i: string) => `agent-${i}`);
  return async (cluster, token) => {
    const ports = { ...DEFAULT_AGENT_PORTS, ...(cluster.spec.agent.agentPorts ?? {}) };
    return Promise.all(
      cluster.spec.agent.instances.map(async (inst): Promise<AgentStatus> => {
        const base: AgentStatus = {
          name: inst.name,
          service: `${cluster.metadata.name}_agent-${inst.name}`,
          healthy: false,
          peers: 0,
          admin: false,
        };
        const h = host(inst.name);
        try {
          const [health, election, metrics] = await Promise.all([
            getJson<HealthSummary>(`http://${h}:${ports.health}/health`, timeoutMs),
            getJson<ElectionStatus>(`http://${h}:${ports.api}/api/election/status`, timeoutMs, token),
            getText(`http://${h}:${ports.health}/metrics`, timeoutMs),
          ]);
          const e = election.body;
          return {
            ...base,
            healthy: health.status === 200 && health.body.status !== 'unhealthy',
            peers: gaugeValue(metrics, 'bzzz_p2p_connected_peers') ?? 0,
            admin: !!e.self && e.admin === e.self,
            peerId: e.self ?? health.body.peerId,
            adminPeer: e.admin ?? null,
            term: e.term,
            score: typeof health.body.score === 'number' ? Math.round(health.body.score * 10) / 10 : undefined,
            replicationFactor: gaugeValue(metrics, 'bzzz_dht_replication_factor'),
          };
        } catch (err) {
          const cause = (err as { cause?: { code?: string } }).cause?.code;
          return { ...base, error: `not answering on ${h}:${ports.health}/${ports.api}${cause ? ` (${cause})` : ''}` };
        }
      }),
    );
  };
}
