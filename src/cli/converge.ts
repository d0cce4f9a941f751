// After apply (or rollout undo) stored a generation: a controller holding the lease rolls it out
// and the command waits for its status; with none, the command reconciles in-process holding the
// lease (src/ops/single-writer.ts), so that a controller and a command never write at once.
import { cliContext } from './context.js';
import type { ClusterStatus } from '../spec/status.js';
import { ROLLED_BACK_PHASES } from '../spec/rollout.js';
import { underLease } from '../ops/single-writer.js';
import { createClusterReconciler } from '../reconcilers/cluster.js';
import type { Observed } from '../reconcilers/types.js';
import { isReady } from '../reconcilers/status.js';
import { silentLogger } from '../util/log.js';
import { poll } from '../util/poll.js';
import { formatStatusLine } from './commands/status.js';

export interface ConvergeOptions {
  name: string;
  generation: number;
  summary: string;
  /** The holder of a live controller lease, when one was read. */
  controller?: string;
  /** The cluster as the command just read it, with no write since (the first pass starts from it). */
  fresh?: Observed;
  wait: boolean;
  deadline: number;
  say(line: string): void;
  bar: { update(text: string): void };
  command: string;
}

/** The generation cannot come: the engine refused it, or its rollout was rolled back. Waiting longer cannot help. */
export function failedAt(s: ClusterStatus | undefined, generation: number): boolean {
  return s?.failure?.generation === generation || (s?.rollout?.generation === generation && ROLLED_BACK_PHASES.has(s.rollout.phase));
}

/** What failedAt found, for people. */
export function failureLine(s: ClusterStatus | undefined, generation: number): string {
  const rolledBack = s?.conditions.find((c) => c.type === 'Failed' && c.status === 'True' && /RolledBack|RolloutAborted/.test(c.reason));
  if (rolledBack) return rolledBack.message;
  return `generation ${generation} failed: ${s?.failure?.object}: ${s?.failure?.message}; fix the spec and apply again`;
}

export async function converge(o: ConvergeOptions): Promise<{ status: ClusterStatus | undefined; mode: 'in-process' | 'controller' }> {
  const { engine, port, store } = cliContext();
  const done = (s: ClusterStatus | undefined) => isReady(s, o.generation) || failedAt(s, o.generation);
  let status: ClusterStatus | undefined;
  let controller = o.controller;
  let fresh = o.fresh;
  if (controller === undefined) {
    // No controller: reconcile here, holding the lease so that one started meanwhile stands by.
    const run = await underLease(
      engine,
      o.command,
      async (lost) => {
        o.say(`${o.summary}; no controller running: reconciling in-process`);
        const reconciler = createClusterReconciler({ port, store, log: silentLogger() });
        await poll(
          async () => {
            const report = await reconciler.pass(o.name, fresh);
            fresh = undefined;
            status = report?.status;
            return report;
          },
          {
            until: () => !o.wait || done(status),
            deadline: o.deadline,
            everyMs: (report) => (report?.problems.length ? 1000 : 300),
            onValue: () => o.bar.update(formatStatusLine(o.name, status)),
            signal: lost,
          },
        );
      },
      { waitUntil: o.deadline },
    );
    if (!run.held) controller = run.holder;
  }
  if (controller === undefined) return { status, mode: 'in-process' };
  o.say(`${o.summary}; controller ${controller} reconciles it`);
  const waited = await poll(async () => (await store.get(o.name))?.status, {
    until: (s) => (!o.wait && (s?.observedGeneration ?? 0) >= o.generation) || done(s),
    deadline: o.deadline,
    everyMs: 200,
    onValue: (s) => o.bar.update(formatStatusLine(o.name, s)),
  });
  return { status: waited.value, mode: 'controller' };
}
