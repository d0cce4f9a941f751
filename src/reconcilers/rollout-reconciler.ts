// The rollout reconciler: one more controller beside the cluster reconciler (DESIGN.md, many
// controllers). Per pass: read the cluster record and its rollout → start the rollout of a new
// generation (with the baseline measured first) → measure the analysis rules that are due →
// decide (rollout-decide.ts, pure) → one compare-and-swap write of the rollout → record revision
// outcomes → announce what the rollout's log has not announced yet. The cluster reconciler then
// serves whatever the rollout says (the stable spec while rolled back). Nothing lives only here:
// a controller killed mid-rollback reads the rollout back and finishes it, once.
import type { ClusterStore, StoredSpec } from '../store/cluster-store.js';
import type { RolloutLogEntry, RolloutState, RolloutStore } from '../store/rollout-store.js';
import type { RunState } from '../analysis/run.js';
import type { SwarmPort } from '../swarm/port.js';
import { ownedBy } from '../swarm/labels.js';
import { FINISHED_PHASES, type RolloutCause } from '../spec/rollout.js';
import { parseDurationMs } from '../spec/units.js';
import { logger, type Logger } from '../util/log.js';
import { decideRollout, watchEnded, withLog, type AnalysisVerdict } from './rollout-decide.js';
import type { ReconcileResult, Reconciler } from './reconciler.js';

/** Analysis of a rollout, with the providers behind it (rollout-analysis.ts). */
export interface RolloutAnalyzer {
  /** Values of the rules that compare with a baseline, measured before `before` where the provider can (null: none). */
  baselines(spec: StoredSpec, before: Date): Promise<Record<string, number | null>>;
  start(spec: StoredSpec, now: Date): RunState;
  /** Measures the rules due now; returns the run, the verdict and when the next measurement is due (ms). */
  step(
    spec: StoredSpec,
    r: RolloutState,
    now: Date,
    finished: boolean,
  ): Promise<{ analysis: RunState; verdict: AnalysisVerdict; nextAt?: number }>;
}

/** Told of every rollout event once it is recorded; delivery is the listener's business (never blocks). */
export type RolloutListener = (cluster: string, entry: RolloutLogEntry) => void;

export interface RolloutReconcilerOptions {
  port: SwarmPort;
  store: ClusterStore;
  rollouts: RolloutStore;
  analyzer?: RolloutAnalyzer;
  onEvent?: RolloutListener;
  log?: Logger;
  now?: () => Date;
  /** Requeue while services move (status changes also enqueue through the cluster's events). Default 2 s. */
  progressRequeueMs?: number;
}

const DEFAULT_WATCH = '10m';

export function createRolloutReconciler(opts: RolloutReconcilerOptions): Reconciler {
  const log = opts.log ?? logger('rollouts');
  const now = opts.now ?? (() => new Date());
  const progressMs = opts.progressRequeueMs ?? 2000;

  async function reconcile(cluster: string): Promise<ReconcileResult> {
    const rec = await opts.store.get(cluster);
    if (!rec) return {};
    const spec = await opts.store.getSpec(cluster, rec.generation);
    const analysis = spec.cluster.spec.upgrade?.analysis;
    const watchMs = analysis ? parseDurationMs(analysis.watch ?? DEFAULT_WATCH, 'spec.upgrade.analysis.watch') : 0;
    const read = await opts.rollouts.get(cluster);
    const t = now();

    let rollout = read;
    let verdict: AnalysisVerdict | undefined;
    let nextAt: number | undefined;
    if (!rollout || rollout.generation < rec.generation) {
      // A new generation: its rollout starts here.
      const lastGood = rollout ? undefined : await lastGoodRevision(cluster, rec.generation);
      const by = spec.appliedBy;
      const startCause: RolloutCause | undefined =
        by?.via === 'undo'
          ? {
              kind: 'manual',
              by: `${by.user}@${by.host}`,
              message: `undo to revision ${by.fromRevision} by ${by.user}@${by.host}`,
              at: spec.appliedAt,
            }
          : undefined;
      const step = decideRollout({ generation: rec.generation, rollout, status: rec.status, lastGood, startCause, watchMs, now: t });
      const next = withLog(step, t.toISOString());
      if (next && analysis && opts.analyzer) {
        if (next.stable !== undefined) next.baselines = await opts.analyzer.baselines(spec, new Date(spec.appliedAt));
        next.analysis = opts.analyzer.start(spec, t);
      }
      if (next && (await write(cluster, read, next))) {
        await record(cluster, step.revisions);
        rollout = next;
      }
      return { requeueAfterMs: progressMs };
    }
    if (rollout.generation !== rec.generation) return {};

    const measuring = rollout.phase === 'Progressing' || rollout.phase === 'Watching';
    if (measuring && analysis && opts.analyzer) {
      const measured = await opts.analyzer.step(spec, rollout, t, watchEnded(rollout, watchMs, t));
      // Nothing due: nothing to write (a write comes back as an event and queues another pass).
      if (measured.analysis !== rollout.analysis) rollout = { ...rollout, analysis: measured.analysis };
      verdict = measured.verdict;
      nextAt = measured.nextAt;
    }
    const step = decideRollout({ generation: rec.generation, rollout, status: rec.status, verdict, watchMs, now: t });
    const next = withLog(step, t.toISOString()) ?? (rollout !== read ? rollout : undefined);
    if (next && (await write(cluster, read, next))) {
      rollout = next;
      // A revision that succeeded keeps the images it ran, with the digests the engine resolved.
      const images = step.revisions.some((r) => r.record.outcome === 'Succeeded') ? await runningImages(cluster) : undefined;
      await record(
        cluster,
        step.revisions.map((r) => (r.record.outcome === 'Succeeded' ? { ...r, record: { ...r.record, images } } : r)),
      );
    }
    await announce(cluster, rollout);
    // The rollout record is the operator's bookkeeping, like status: not counted as engine writes
    // to the cluster's objects (a converged cluster still makes none).
    return { requeueAfterMs: requeue(rollout, t, watchMs, nextAt) };
  }

  /**
   * Compare-and-swap against the rollout as this pass read it: if a verb or the webhook changed it
   * meanwhile, this pass's decision is stale and is dropped (the change enqueues another pass).
   */
  async function write(cluster: string, read: RolloutState | undefined, next: RolloutState): Promise<boolean> {
    const stamp = (r: RolloutState | undefined) => (r ? `${r.generation}/${r.phase}/${r.log?.length ?? 0}/${r.log?.at(-1)?.at ?? ''}` : '');
    const { written } = await opts.rollouts.update(cluster, (current) => (stamp(current) === stamp(read) ? next : undefined));
    if (written && next.phase !== read?.phase) {
      log.info({ cluster, generation: next.generation, phase: next.phase, from: read?.phase, cause: next.cause?.kind }, 'rollout');
    }
    return written;
  }

  async function record(cluster: string, revisions: ReturnType<typeof decideRollout>['revisions']): Promise<void> {
    for (const r of revisions) await opts.rollouts.markRevision(cluster, r.generation, r.record);
  }

  async function lastGoodRevision(cluster: string, below: number): Promise<number | undefined> {
    const revisions = await opts.rollouts.revisions(cluster);
    return revisions.filter((r) => r.generation < below && r.record?.outcome === 'Succeeded').at(-1)?.generation;
  }

  async function runningImages(cluster: string): Promise<Record<string, string>> {
    const services = await opts.port.listServices({ labels: ownedBy(cluster) });
    return Object.fromEntries(services.map((s) => [s.Spec.Name, s.Spec.TaskTemplate.ContainerSpec.Image]));
  }

  /** Hands every entry not yet announced to the listener, then marks them (the outbox). */
  async function announce(cluster: string, r: RolloutState | undefined): Promise<void> {
    const pending = r?.log?.filter((e) => !e.announced) ?? [];
    if (!r || pending.length === 0 || !opts.onEvent) return;
    for (const e of pending) opts.onEvent(cluster, e);
    await opts.rollouts.update(cluster, (current) =>
      current && current.generation === r.generation
        ? {
            ...current,
            log: current.log?.map((e) => (pending.some((p) => p.at === e.at && p.kind === e.kind) ? { ...e, announced: true } : e)),
          }
        : undefined,
    );
  }

  return { reconcile };
}

function requeue(r: RolloutState | undefined, now: Date, watchMs: number, nextAt: number | undefined): number | undefined {
  if (!r || FINISHED_PHASES.has(r.phase) || r.phase === 'Paused') return undefined;
  if (r.phase === 'RollingBack') return 1000;
  const candidates = [nextAt, r.phase === 'Watching' && r.convergedAt ? Date.parse(r.convergedAt) + watchMs : undefined]
    .filter((x): x is number => x !== undefined)
    .map((x) => Math.max(0, x - now.getTime()));
  return Math.min(2000, ...candidates);
}
