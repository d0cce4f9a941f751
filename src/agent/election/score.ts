// Candidate scoring (BZZZ's plan: uptime, capabilities, resources, network quality). The score is
// a number in 0..1; the election uses it only for liveness-side preferences (who times out first,
// whom voters prefer early in an election, whom the admin hands off to), never for safety.
import { cpus, freemem, loadavg, totalmem } from 'node:os';

export interface ScoreInputs {
  /** How long this agent has been running. */
  readonly uptimeMs: number;
  /** What this agent can do (e.g. 'shamir-share', 'dht-server'); compared with the wanted list. */
  readonly capabilities: readonly string[];
  /** Free memory / total memory, 0..1. */
  readonly freeMemoryRatio: number;
  /** Idle CPU, 0..1 (1 − load average per core, clamped). */
  readonly cpuIdleRatio: number;
  /** Peers this agent is connected to now; divided by clusterSize − 1 for network quality. */
  readonly connectedPeers: number;
}

export interface ScoreWeights {
  readonly uptime: number;
  readonly capabilities: number;
  readonly resources: number;
  readonly network: number;
}

export interface ScoreSettings {
  readonly weights: ScoreWeights;
  /** Uptime counts fully from this age on (a fresh restart is a worse admin than a settled node). */
  readonly uptimeSaturationMs: number;
  /** Capabilities an admin should have; the capability part is the fraction present. */
  readonly wantedCapabilities: readonly string[];
}

/**
 * Network quality and resources weigh most: an admin must reach everyone and must not be starved.
 * Uptime next (a node that just restarted may be flapping). Capabilities last.
 */
export const DEFAULT_SCORE_SETTINGS: ScoreSettings = {
  weights: { uptime: 0.25, capabilities: 0.15, resources: 0.3, network: 0.3 },
  uptimeSaturationMs: 60 * 60 * 1000,
  wantedCapabilities: ['admin', 'shamir-share', 'dht-server'],
};

export type ScoreProvider = () => ScoreInputs;

/** The weighted score in 0..1, rounded to 3 decimals (what goes on the wire). */
export function computeScore(inputs: ScoreInputs, clusterSize: number, settings: ScoreSettings = DEFAULT_SCORE_SETTINGS): number {
  const w = settings.weights;
  const total = w.uptime + w.capabilities + w.resources + w.network;
  if (!(total > 0)) return 0;
  const uptime = clamp01(inputs.uptimeMs / settings.uptimeSaturationMs);
  const wanted = settings.wantedCapabilities;
  const have = new Set(inputs.capabilities);
  const capabilities = wanted.length === 0 ? 1 : wanted.filter((c) => have.has(c)).length / wanted.length;
  const resources = (clamp01(inputs.freeMemoryRatio) + clamp01(inputs.cpuIdleRatio)) / 2;
  const network = clusterSize <= 1 ? 1 : clamp01(inputs.connectedPeers / (clusterSize - 1));
  const score = (w.uptime * uptime + w.capabilities * capabilities + w.resources * resources + w.network * network) / total;
  return Math.round(clamp01(score) * 1000) / 1000;
}

/** Inputs read from this machine: os memory and load, plus what the caller knows (peers, capabilities). */
export function systemScoreProvider(init: {
  startedAt: number;
  now?: () => number;
  capabilities?: readonly string[];
  connectedPeers: () => number;
}): ScoreProvider {
  const now = init.now ?? Date.now;
  const cores = Math.max(1, cpus().length);
  return () => ({
    uptimeMs: Math.max(0, now() - init.startedAt),
    capabilities: init.capabilities ?? [],
    freeMemoryRatio: freemem() / Math.max(1, totalmem()),
    cpuIdleRatio: 1 - (loadavg()[0] ?? 0) / cores,
    connectedPeers: init.connectedPeers(),
  });
}

function clamp01(x: number): number {
  return Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0;
}
