// Time and connection limits of the agent's HTTP servers. Every one is finite: a client that
// stalls (headers never finished, an upload that stops sending, a download nobody reads) loses
// its connection, and no number of them can hold more than `maxConnections` sockets.
export interface HttpLimits {
  /** Time to receive the request headers. */
  headersTimeoutMs: number;
  /** Time to receive the whole request, body included (bounds a slow-drip upload). */
  requestTimeoutMs: number;
  /** A socket with no traffic either way for this long is closed (a stalled upload or reader). */
  idleTimeoutMs: number;
  /** Time an idle keep-alive connection is kept for the next request. */
  keepAliveTimeoutMs: number;
  /** Open connections at most; more are closed as they arrive. */
  maxConnections: number;
}

export const DEFAULT_HTTP_LIMITS: HttpLimits = {
  headersTimeoutMs: 10_000,
  // 1 GiB (the default blob limit) in 5 minutes needs ~3.5 MB/s: enough inside a cluster; raise
  // it with the blob limit.
  requestTimeoutMs: 300_000,
  idleTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  maxConnections: 512,
};

/** Node checks header and request timeouts on an interval: short enough for the shortest one. */
export function checkingIntervalMs(l: HttpLimits): number {
  return Math.max(100, Math.min(30_000, Math.floor(Math.min(l.headersTimeoutMs, l.requestTimeoutMs) / 2)));
}
