// The agent's health checks (BZZZ v1's pkg/health set): peers, pubsub, DHT, election, store
// integrity, disk, memory. Each is a small function of narrow inputs returning a score in 0..1
// and pass / warn / fail with a message a person can act on.
import { statfs } from 'node:fs/promises';
import type { ElectionStatus } from '../election/index.js';
import { readMemory, type MemoryReading } from './memory.js';

export type CheckStatus = 'pass' | 'warn' | 'fail';

export interface CheckOutcome {
  status: CheckStatus;
  score: number;
  message: string;
  details?: Record<string, unknown>;
}

export interface HealthCheck {
  readonly name: string;
  /** A failing critical check makes the agent unhealthy (not only degraded). */
  readonly critical: boolean;
  /** Share of the overall score. */
  readonly weight: number;
  run(): Promise<CheckOutcome> | CheckOutcome;
}

const clamp = (x: number): number => (Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0);

/** Connected agents against the others in the cluster (clusterSize − 1). */
export function peersCheck(d: { connected(): number; expected: number }): HealthCheck {
  return {
    name: 'peers',
    critical: false,
    weight: 2,
    run() {
      const n = d.connected();
      if (d.expected <= 0)
        return {
          status: 'pass',
          score: 1,
          message: `single-agent cluster; ${n} peer(s) connected`,
          details: { connected: n, expected: 0 },
        };
      const score = clamp(n / d.expected);
      const status: CheckStatus = n === 0 ? 'fail' : n < d.expected ? 'warn' : 'pass';
      const message =
        n === 0 ? 'no peer connected: check --bootstrap and that the other agents run' : `${n} of ${d.expected} other agents connected`;
      return { status, score, message, details: { connected: n, expected: d.expected } };
    },
  };
}

/** Agents subscribed to the coordination topic (GossipSub reaches only those). */
export function pubsubCheck(d: { topic: string; subscribers(): number; expected: number; received(): number }): HealthCheck {
  return {
    name: 'pubsub',
    critical: false,
    weight: 1,
    run() {
      const n = d.subscribers();
      const details = { topic: d.topic, subscribers: n, expected: d.expected, received: d.received() };
      if (d.expected <= 0) return { status: 'pass', score: 1, message: 'single-agent cluster', details };
      const score = clamp(n / d.expected);
      return {
        status: n === 0 ? 'fail' : n < d.expected ? 'warn' : 'pass',
        score,
        message: `${n} of ${d.expected} other agents on ${d.topic}`,
        details,
      };
    },
  };
}

/** The DHT routing table: with no entry, no provide or lookup can reach anyone. */
export function dhtCheck(d: {
  routingTableSize(): number;
  expected: number;
  lastRound(): { min: number; blobs: number; error?: string } | undefined;
  factor: number;
}): HealthCheck {
  return {
    name: 'dht',
    critical: false,
    weight: 1,
    run() {
      const size = d.routingTableSize();
      const round = d.lastRound();
      const details = {
        routingTable: size,
        replication: round === undefined ? null : { minHolders: round.min, blobs: round.blobs, factor: d.factor },
      };
      if (d.expected > 0 && size === 0)
        return { status: 'fail', score: 0, message: 'DHT routing table is empty: no peer to provide to or look up from', details };
      if (round !== undefined && round.blobs > 0 && round.min < Math.min(d.factor, d.expected + 1)) {
        return {
          status: 'warn',
          score: 0.5,
          message: `some blobs have ${round.min} live holder(s), below the replication factor ${d.factor}`,
          details,
        };
      }
      return { status: 'pass', score: 1, message: `${size} peer(s) in the DHT routing table`, details };
    },
  };
}

/** An admin known (this agent or another) within the heartbeat timeout. */
export function electionCheck(d: { status(): Pick<ElectionStatus, 'admin' | 'state' | 'term'> }): HealthCheck {
  return {
    name: 'election',
    critical: false,
    weight: 2,
    run() {
      const s = d.status();
      const details = { admin: s.admin, state: s.state, term: s.term };
      if (s.admin !== null) return { status: 'pass', score: 1, message: `admin is ${s.admin} (term ${s.term})`, details };
      if (s.state === 'candidate') return { status: 'warn', score: 0.5, message: `election in progress (term ${s.term})`, details };
      return { status: 'fail', score: 0, message: 'no admin known: an election needs a majority of the cluster connected', details };
    },
  };
}

/** Corrupted blobs found and whether they were fetched again. */
export function storeCheck(d: {
  stats(): { blobs: number; corruptions: number; quarantined: number };
  repairs(): { repaired: number; pending: number; unrepaired: number };
}): HealthCheck {
  return {
    name: 'store',
    critical: true,
    weight: 2,
    run() {
      const s = d.stats();
      const r = d.repairs();
      const details = { ...s, ...r };
      if (r.unrepaired > 0) {
        return {
          status: 'fail',
          score: 0.2,
          message: `${r.unrepaired} corrupted blob(s) could not be fetched again yet (retried every replication round): check the disk, and that peers hold copies`,
          details,
        };
      }
      if (r.pending > 0)
        return { status: 'warn', score: 0.7, message: `${r.pending} corrupted blob(s) being fetched again from peers`, details };
      if (s.corruptions > 0)
        return {
          status: 'pass',
          score: 1,
          message: `${s.blobs} blob(s); ${s.corruptions} corrupted one(s) found and repaired since start`,
          details,
        };
      return { status: 'pass', score: 1, message: `${s.blobs} blob(s), no corruption found`, details };
    },
  };
}

/** Free space where the data directory lives. */
export function diskCheck(d: { dir: string; warnFreeRatio?: number; failFreeRatio?: number }): HealthCheck {
  const warn = d.warnFreeRatio ?? 0.1;
  const fail = d.failFreeRatio ?? 0.03;
  return {
    name: 'disk',
    critical: true,
    weight: 1,
    async run() {
      const s = await statfs(d.dir);
      const total = s.blocks * s.bsize;
      const free = s.bavail * s.bsize;
      const ratio = total > 0 ? free / total : 0;
      // No path in the details: the health port is unauthenticated.
      const details = { freeBytes: free, totalBytes: total, freeRatio: Math.round(ratio * 1000) / 1000 };
      const pct = `${(ratio * 100).toFixed(1)}%`;
      if (ratio < fail)
        return {
          status: 'fail',
          score: 0,
          message: `only ${pct} free on the data directory's disk: free space or move --data-dir`,
          details,
        };
      if (ratio < warn) return { status: 'warn', score: clamp(ratio / warn), message: `${pct} free on the data directory's disk`, details };
      return { status: 'pass', score: 1, message: `${pct} free`, details };
    },
  };
}

/** Memory in use against the container's limit (health/memory.ts: cgroup v2 or v1), or the machine's. */
export function memoryCheck(d: { read?: () => Promise<Pick<MemoryReading, 'usageBytes' | 'limitBytes'>> } = {}): HealthCheck {
  const read = d.read ?? (() => readMemory());
  return {
    name: 'memory',
    critical: false,
    weight: 1,
    async run() {
      const { usageBytes: used, limitBytes: limit } = await read();
      const ratio = limit > 0 ? used / limit : 1;
      const details = { usedBytes: used, limitBytes: limit, ratio: Math.round(ratio * 1000) / 1000 };
      const mib = (b: number) => `${Math.round(b / 1048576)} MiB`;
      const text = `memory in use ${mib(used)} is ${Math.round(ratio * 100)}% of the ${mib(limit)} limit`;
      if (ratio >= 0.9) return { status: 'fail', score: 0.1, message: text, details };
      if (ratio >= 0.75) return { status: 'warn', score: 0.5, message: text, details };
      return { status: 'pass', score: 1, message: `memory in use ${mib(used)} of ${mib(limit)}`, details };
    },
  };
}
