// The agent's Prometheus metrics, in a registry of its own (so several agents in one process —
// the cluster tests — never mix their numbers). Names are BZZZ's `bzzz_*`. Gauges that mirror
// live state (peers, health, election, memory) are filled by callbacks that /metrics runs before
// it reads the registry (refresh), so a scrape never shows a stale value.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { StoreOp } from './cas/types.js';
import { REJECT_REASONS } from './decision-signature.js';

export const ERROR_COMPONENTS = ['dht', 'replication', 'store', 'http', 'pubsub', 'election'] as const;

/** The ops of bzzz_store_operations_total and bzzz_store_io_errors_total (`read`: streaming a blob out). */
export const STORE_OPS = [
  'put',
  'get',
  'get_buffer',
  'has',
  'stat',
  'delete',
  'verify',
  'scrub',
  'read',
] as const satisfies readonly StoreOp[];

export const ELECTION_STATE_VALUES = { follower: 0, candidate: 1, admin: 2 } as const;

export interface AgentMetrics {
  readonly registry: Registry;
  readonly connectedPeers: Gauge;
  readonly systemHealthScore: Gauge;
  readonly componentHealthScore: Gauge<'component'>;
  /** 0 follower, 1 candidate, 2 admin. */
  readonly electionState: Gauge;
  readonly electionTerm: Gauge;
  readonly errorsTotal: Counter<'component'>;
  /** Lowest number of live holders (providers that are connected, or this agent) over the local blobs. */
  readonly replicationFactor: Gauge;
  /** Average live holders over the local blobs. */
  readonly replicationFactorAvg: Gauge;
  /** Provider records this agent announces (one per local blob). */
  readonly providerRecords: Gauge;
  readonly dhtOperationSeconds: Histogram<'op' | 'outcome'>;
  /** Publish-to-delivery time of messages on the agent's topics, measured by the receiver. */
  readonly pubsubPropagationSeconds: Histogram<'topic'>;
  readonly pubsubMessagesTotal: Counter<'topic' | 'direction'>;
  readonly blobTransfersTotal: Counter<'direction' | 'outcome'>;
  readonly blobRepairsTotal: Counter<'outcome'>;
  /**
   * Every HTTP request by server (api, health), route, method and status. Its `_count` with
   * server="api" is the request count the error rate divides by (bzzz_errors_total{component="http"}
   * over it); its `_sum` over `_count` is the mean latency the latency trigger compares with a baseline.
   */
  readonly httpRequestSeconds: Histogram<'server' | 'route' | 'method' | 'status'>;
  /** Memory in use (cgroup usage less inactive file cache, or RSS outside a memory cgroup). */
  readonly memoryUsageBytes: Gauge;
  /** The container's memory limit (cgroup), capped at the machine's memory; the machine's without one. */
  readonly memoryLimitBytes: Gauge;
  /** memoryUsageBytes / memoryLimitBytes. */
  readonly memoryUsageRatio: Gauge;
  /** Content store operations by op (put, get, …) and outcome (ok, error). */
  readonly storeOperationsTotal: Counter<'op' | 'outcome'>;
  /** Content store operations that failed in the filesystem (an errno: EIO, ENOSPC, EACCES …) or read corrupted bytes. */
  readonly storeIoErrorsTotal: Counter<'op' | 'kind'>;
  /** Health check runs that ended in `fail`, by check. */
  readonly healthCheckFailuresTotal: Counter<'check'>;
  /** 1 for the agent's current overall health status (healthy, degraded, unhealthy), 0 for the others. */
  readonly healthStatus: Gauge<'status'>;
  /** Decisions refused on read: unsigned, malformed, bad signature, signer not a member or not allowed. */
  readonly contentRejectedTotal: Counter<'reason'>;
  /** API requests refused before routing: no token, unknown token, cross-origin. */
  readonly apiAuthFailuresTotal: Counter<'reason'>;
  /** New content refused because the store is at its quota or the disk at its free-space reserve. */
  readonly storeRefusedTotal: Counter<'reason'>;
  /** P2P input refused: GossipSub messages the validators rejected, blob requests from non-members. */
  readonly p2pRejectedTotal: Counter<'reason'>;
  /** Set before each scrape: live state that is cheaper to read than to track. */
  onCollect(fn: () => void | Promise<void>): void;
  /**
   * Runs the onCollect callbacks, one after the other. /metrics calls it before it reads the
   * registry: prom-client reads metrics concurrently, so a collect hook on one metric would race
   * the others' values (a scrape would show the health of the scrape before).
   */
  refresh(): Promise<void>;
}

/** Reasons of bzzz_p2p_rejected_total. */
export const P2P_REJECT_REASONS = [
  'pubsub_non_member',
  'pubsub_malformed',
  'blob_non_member',
  'election_non_member',
  'election_term_unproven',
  'election_over_budget',
] as const;

export function createAgentMetrics(options: { defaultMetrics?: boolean } = {}): AgentMetrics {
  const registry = new Registry();
  const collectors: Array<() => void | Promise<void>> = [];
  const connectedPeers = new Gauge({
    name: 'bzzz_p2p_connected_peers',
    help: 'Peers this agent has an open libp2p connection to.',
    registers: [registry],
  });
  const m: AgentMetrics = {
    registry,
    connectedPeers,
    systemHealthScore: new Gauge({
      name: 'bzzz_system_health_score',
      help: 'Overall health score of the agent, 0 (down) to 1 (healthy).',
      registers: [registry],
    }),
    componentHealthScore: new Gauge({
      name: 'bzzz_component_health_score',
      help: 'Health score per component, 0 to 1.',
      labelNames: ['component'],
      registers: [registry],
    }),
    electionState: new Gauge({
      name: 'bzzz_election_state',
      help: 'Election state of this agent: 0 follower, 1 candidate, 2 admin.',
      registers: [registry],
    }),
    electionTerm: new Gauge({ name: 'bzzz_election_term', help: 'Current election term seen by this agent.', registers: [registry] }),
    errorsTotal: new Counter({ name: 'bzzz_errors_total', help: 'Errors by component.', labelNames: ['component'], registers: [registry] }),
    replicationFactor: new Gauge({
      name: 'bzzz_dht_replication_factor',
      help: 'Lowest observed number of live holders (connected providers plus this agent) over the blobs this agent holds.',
      registers: [registry],
    }),
    replicationFactorAvg: new Gauge({
      name: 'bzzz_dht_replication_factor_avg',
      help: 'Average observed number of live holders over the blobs this agent holds.',
      registers: [registry],
    }),
    providerRecords: new Gauge({
      name: 'bzzz_dht_provider_records',
      help: 'Provider records this agent announces on the DHT (one per blob it holds).',
      registers: [registry],
    }),
    dhtOperationSeconds: new Histogram({
      name: 'bzzz_dht_operation_duration_seconds',
      help: 'Duration of DHT operations (provide, find_providers, put, get) and blob fetches.',
      labelNames: ['op', 'outcome'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    pubsubPropagationSeconds: new Histogram({
      name: 'bzzz_pubsub_propagation_seconds',
      help: 'Time from publish (sender clock) to delivery (receiver clock) of GossipSub messages.',
      labelNames: ['topic'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
      registers: [registry],
    }),
    pubsubMessagesTotal: new Counter({
      name: 'bzzz_pubsub_messages_total',
      help: 'GossipSub messages by topic and direction.',
      labelNames: ['topic', 'direction'],
      registers: [registry],
    }),
    blobTransfersTotal: new Counter({
      name: 'bzzz_blob_transfers_total',
      help: 'Blob transfers over the /bzzz/blob protocol.',
      labelNames: ['direction', 'outcome'],
      registers: [registry],
    }),
    blobRepairsTotal: new Counter({
      name: 'bzzz_blob_repairs_total',
      help: 'Corrupted blobs fetched again from a peer.',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    httpRequestSeconds: new Histogram({
      name: 'bzzz_http_request_duration_seconds',
      help: 'HTTP requests by server (api, health), route, method and status; _count is the request count.',
      labelNames: ['server', 'route', 'method', 'status'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
      registers: [registry],
    }),
    contentRejectedTotal: new Counter({
      name: 'bzzz_content_rejected_total',
      help: 'Content refused on read because it is not a decision signed by a member allowed to publish it, by reason.',
      labelNames: ['reason'],
      registers: [registry],
    }),
    apiAuthFailuresTotal: new Counter({
      name: 'bzzz_api_auth_failures_total',
      help: 'API requests refused before routing, by reason (missing, invalid, cross_origin).',
      labelNames: ['reason'],
      registers: [registry],
    }),
    storeRefusedTotal: new Counter({
      name: 'bzzz_store_refused_total',
      help: 'New content refused by the content store, by reason (quota, reserve).',
      labelNames: ['reason'],
      registers: [registry],
    }),
    p2pRejectedTotal: new Counter({
      name: 'bzzz_p2p_rejected_total',
      help: 'P2P input refused, by reason (pubsub_non_member, pubsub_malformed, blob_non_member, election_non_member, election_term_unproven, election_over_budget).',
      labelNames: ['reason'],
      registers: [registry],
    }),
    memoryUsageBytes: new Gauge({
      name: 'bzzz_memory_usage_bytes',
      help: "Memory in use: the container's cgroup usage less inactive file cache (as docker stats), or the process's RSS outside a memory cgroup.",
      registers: [registry],
    }),
    memoryLimitBytes: new Gauge({
      name: 'bzzz_memory_limit_bytes',
      help: "The container's memory limit (cgroup v2 memory.max or v1 memory.limit_in_bytes), capped at the machine's memory; the machine's memory without a limit.",
      registers: [registry],
    }),
    memoryUsageRatio: new Gauge({
      name: 'bzzz_memory_usage_ratio',
      help: 'bzzz_memory_usage_bytes / bzzz_memory_limit_bytes, 0 to 1.',
      registers: [registry],
    }),
    storeOperationsTotal: new Counter({
      name: 'bzzz_store_operations_total',
      help: 'Content store operations by op (put, get, get_buffer, has, stat, delete, verify, scrub, read) and outcome (ok, error).',
      labelNames: ['op', 'outcome'],
      registers: [registry],
    }),
    storeIoErrorsTotal: new Counter({
      name: 'bzzz_store_io_errors_total',
      help: 'Content store operations that failed in the filesystem (kind="errno": EIO, ENOSPC, EACCES …) or read bytes that do not match their address (kind="corruption").',
      labelNames: ['op', 'kind'],
      registers: [registry],
    }),
    healthCheckFailuresTotal: new Counter({
      name: 'bzzz_health_check_failures_total',
      help: 'Health check runs that ended in fail, by check.',
      labelNames: ['check'],
      registers: [registry],
    }),
    healthStatus: new Gauge({
      name: 'bzzz_health_status',
      help: 'Overall health: 1 for the current status (healthy, degraded, unhealthy), 0 for the others. unhealthy is what /health answers 503 for.',
      labelNames: ['status'],
      registers: [registry],
    }),
    onCollect(fn) {
      collectors.push(fn);
    },
    async refresh() {
      for (const fn of collectors) {
        try {
          await fn();
        } catch {
          // a failing collector leaves its gauges at the previous value; the scrape still works
        }
      }
    },
  };
  // Known components start at 0, so rate() and alerts see the series before the first error.
  for (const component of ERROR_COMPONENTS) m.errorsTotal.inc({ component }, 0);
  for (const reason of REJECT_REASONS) m.contentRejectedTotal.inc({ reason }, 0);
  for (const reason of ['missing', 'invalid', 'cross_origin']) m.apiAuthFailuresTotal.inc({ reason }, 0);
  for (const reason of ['quota', 'reserve']) m.storeRefusedTotal.inc({ reason }, 0);
  for (const reason of P2P_REJECT_REASONS) m.p2pRejectedTotal.inc({ reason }, 0);
  for (const op of STORE_OPS) {
    for (const outcome of ['ok', 'error']) m.storeOperationsTotal.inc({ op, outcome }, 0);
    for (const kind of ['errno', 'corruption']) m.storeIoErrorsTotal.inc({ op, kind }, 0);
  }
  if (options.defaultMetrics === true) collectDefaultMetrics({ register: registry, prefix: 'bzzz_' });
  return m;
}

/** Times an async operation into a histogram with an `outcome` label. */
export async function timed<T>(h: Histogram<'op' | 'outcome'>, op: string, fn: () => Promise<T>): Promise<T> {
  const end = h.startTimer({ op });
  try {
    const r = await fn();
    end({ outcome: 'ok' });
    return r;
  } catch (err) {
    end({ outcome: 'error' });
    throw err;
  }
}
