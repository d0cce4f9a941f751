// Waiting for a restored cluster to converge, the way `bzzzctl apply` does with no controller:
// reconcile passes in-process until the generation is Ready. The caller decides who may write —
// the CLI wraps this in src/ops/single-writer.ts's underLease, the controller already holds the
// lease, a test drives a cluster of its own — so this function does not take the lease itself.
import { createClusterReconciler } from '../reconcilers/cluster.js';
import { isReady } from '../reconcilers/status.js';
import type { ClusterStatus } from '../spec/status.js';
import { ClusterStore } from '../store/cluster-store.js';
import type { SwarmPort } from '../swarm/port.js';
import { BzzzError } from '../util/errors.js';
import { silentLogger } from '../util/log.js';
import { poll } from '../util/poll.js';
import { underLease } from './single-writer.js';

/** Brings `cluster` to Ready at `generation` (or later); returns its status. */
export type Converge = (cluster: string, generation: number, signal: AbortSignal) => Promise<ClusterStatus | undefined>;

export class NotConvergedError extends BzzzError {}

/** A Converge that reconciles in-process (no lease: see the header) until Ready or `timeoutMs`. */
export function convergeInProcess(port: SwarmPort, timeoutMs = 300_000): Converge {
  return async (cluster, generation, signal) => {
    const reconciler = createClusterReconciler({ port, store: new ClusterStore(port), log: silentLogger() });
    let status: ClusterStatus | undefined;
    let problems: string[] = [];
    const r = await poll(
      async () => {
        const report = await reconciler.pass(cluster);
        status = report?.status;
        problems = report?.problems.map((p) => `${p.object}: ${p.message}`) ?? [];
        return report;
      },
      {
        until: () => isReady(status, generation),
        deadline: Date.now() + timeoutMs,
        everyMs: (rep) => (rep?.problems.length ? 1000 : 300),
        signal,
      },
    );
    if (!r.met) {
      const ready = status?.conditions.find((c) => c.type === 'Ready');
      throw new NotConvergedError(
        `cluster ${cluster} did not become Ready at generation ${generation} within ${timeoutMs} ms` +
          `${ready ? ` (${ready.reason}: ${ready.message})` : ''}${problems.length ? `; problems: ${problems.slice(0, 3).join('; ')}` : ''}: see bzzzctl status ${cluster}`,
      );
    }
    return status;
  };
}

/**
 * The CLI's Converge: reconcile in-process under the controller lease (waiting its turn behind
 * another bzzzctl command); when a controller holds the lease for good, it reconciles the stored
 * spec itself, and this waits for the cluster's status to say Ready.
 */
export function convergeUnderLease(port: SwarmPort, command: string, timeoutMs = 300_000): Converge {
  const inProcess = convergeInProcess(port, timeoutMs);
  return async (cluster, generation, signal) => {
    const deadline = Date.now() + timeoutMs;
    const r = await underLease(port, command, (lost) => inProcess(cluster, generation, AbortSignal.any([signal, lost])), {
      waitUntil: Date.now() + 60_000,
    });
    if (r.held) return r.result;
    const store = new ClusterStore(port);
    let status: ClusterStatus | undefined;
    const w = await poll(async () => (status = (await store.get(cluster))?.status), {
      until: () => isReady(status, generation),
      deadline,
      everyMs: 500,
      signal,
    });
    if (!w.met)
      throw new NotConvergedError(
        `cluster ${cluster} did not become Ready at generation ${generation} within ${timeoutMs} ms under the controller (${r.holder}): see bzzzctl status ${cluster}`,
      );
    return status;
  };
}
