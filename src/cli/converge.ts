// After apply (or rollout undo) stored a generation: a controller holding the lease rolls it out
// and the command waits for its status; with none, the command reconciles in-process holding the
// lease (src/ops/single-writer.ts), so that a controller and a command never write at once.
import { cliContext } from './context.js';
import type { ClusterStatus } from '../spec/status.js';
import { ROLLED_BACK_PHASES } from '../spec/rollout.js';
import { underLease } from '../ops/single-writer.js';
import { createClusterReconciler } from '../reconcilers/cluster.js';
import type { Observed } from '../reconcilers/types.js';
import { condition, isReady } from '../reconcilers/status.js';
import { EXIT_ERROR, EXIT_IN_PROGRESS, EXIT_OK, EXIT_PAUSED } from '../util/exit-codes.js';
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

/** The cluster runs on the v1 hosts with v2 parked: `generation` is stored and parked too; waiting cannot bring it up. */
export function parkedOnV1(s: ClusterStatus | undefined, generation: number): boolean {
  // Parked by a finished v1 plan, or by the migration (v1-only): status says Ready False OnV1.
  const onV1 = s?.conditions.some((c) => c.type === 'Ready' && c.status === 'False' && c.reason === 'OnV1');
  return (s?.observedGeneration ?? 0) >= generation && !!onV1 && s?.v1?.plan.phase !== 'Running';
}

/** The rollout of `generation` has decided (succeeded) or stopped for a person (paused). */
function rolloutSettled(s: ClusterStatus | undefined, generation: number): boolean {
  return s?.rollout?.generation === generation && (s.rollout.phase === 'Succeeded' || s.rollout.phase === 'Paused');
}

export interface ConvergeVerdict {
  code: number;
  /** Ready, and (by a controller) its rollout succeeded. */
  ready: boolean;
  /** What to tell people when it is not a plain success. */
  lines: string[];
}

/**
 * What a command that stored `generation` and waited reports. With a controller the generation is
 * a rollout: success is its rollout succeeding (analysis included, through its watch window) —
 * never just the services running, since a release can still be rolled back after that.
 */
export function convergeVerdict(
  s: ClusterStatus | undefined,
  generation: number,
  o: { mode: 'in-process' | 'controller'; wait: boolean; timeout: string; name: string },
): ConvergeVerdict {
  const ready = isReady(s, generation);
  if (!o.wait && (s?.observedGeneration ?? 0) >= generation) return { code: EXIT_OK, ready, lines: [] };
  if (failedAt(s, generation))
    return { code: EXIT_ERROR, ready: false, lines: [failureLine(s, generation), `see: bzzzctl rollout status ${o.name}`] };
  if (parkedOnV1(s, generation)) {
    return {
      code: EXIT_OK,
      ready: false,
      lines: [
        `generation ${generation} is stored, but ${o.name} runs on the v1 hosts: its v2 services are parked at zero replicas`,
        `bring v2 back at this generation: bzzzctl rollback --to v2 ${o.name}`,
      ],
    };
  }
  if (o.mode === 'in-process') {
    if (ready) return { code: EXIT_OK, ready, lines: [] };
  } else if (s?.rollout?.generation === generation && s.rollout.phase === 'Succeeded' && ready) {
    return { code: EXIT_OK, ready, lines: [] };
  } else if (s?.rollout?.generation === generation && s.rollout.phase === 'Paused') {
    return {
      code: EXIT_PAUSED,
      ready: false,
      lines: [
        `the rollout of generation ${generation} is paused: ${s.rollout.cause?.message ?? ''}`,
        `see: bzzzctl rollout status ${o.name}`,
      ],
    };
  } else if (ready) {
    return {
      code: EXIT_IN_PROGRESS,
      ready: false,
      lines: [
        `generation ${generation} runs, but its rollout has not decided after ${o.timeout} (analysis and its watch window go on)`,
        `follow it: bzzzctl rollout status ${o.name} --watch`,
      ],
    };
  }
  const c = condition(s, 'Degraded')?.status === 'True' ? condition(s, 'Degraded') : condition(s, 'Ready');
  return {
    code: EXIT_ERROR,
    ready: false,
    lines: [
      `not converged after ${o.timeout}: ${c?.reason ?? 'NotObserved'}: ${c?.message ?? 'the controller has not observed this generation yet'}`,
      `see: bzzzctl status ${o.name}`,
    ],
  };
}

export async function converge(o: ConvergeOptions): Promise<{ status: ClusterStatus | undefined; mode: 'in-process' | 'controller' }> {
  const { engine, port, store } = cliContext();
  const done = (s: ClusterStatus | undefined) => isReady(s, o.generation) || failedAt(s, o.generation) || parkedOnV1(s, o.generation);
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
    // A controller rolls the generation out: wait for its rollout to decide, not only for Ready.
    until: (s) =>
      (!o.wait && (s?.observedGeneration ?? 0) >= o.generation) ||
      failedAt(s, o.generation) ||
      rolloutSettled(s, o.generation) ||
      parkedOnV1(s, o.generation),
    deadline: o.deadline,
    everyMs: 200,
    onValue: (s) => o.bar.update(formatStatusLine(o.name, s)),
  });
  return { status: waited.value, mode: 'controller' };
}
