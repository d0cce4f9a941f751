// bzzzctl rollout status|history|undo|pause|resume|abort NAME — what kubectl rollout and Argo
// Rollouts' kubectl plugin do, for the whole stack. Status and history read the swarm (the rollout
// record, the stored specs with their outcomes); pause, resume and abort are one compare-and-swap
// on the rollout record that the controller acts on; undo stores an earlier revision as a new
// generation and converges like apply.
import { cliContext } from '../context.js';
import { appliedBy } from '../resolve-apply.js';
import { converge, convergeVerdict } from '../converge.js';
import { printDocument, printLines, progress, table, type OutputFormat } from '../output.js';
import { RolloutStore, type RolloutState, type Revision } from '../../store/rollout-store.js';
import type { ClusterRecord, StoredSpec } from '../../store/cluster-store.js';
import { leaseIsLive, readLease } from '../../store/lease.js';
import { isCommandHolder } from '../../ops/single-writer.js';
import { FINISHED_PHASES, type RolloutCause } from '../../spec/rollout.js';
import type { ClusterStatus } from '../../spec/status.js';
import { parseDurationMs } from '../../spec/index.js';
import { isReady } from '../../reconcilers/status.js';
import { pauseRollout, resumeRollout, rollBackRollout, withLog, type RolloutStep } from '../../reconcilers/rollout-decide.js';
import { configHash8, versionedName } from '../../swarm/labels.js';
import { InvalidInputError, NotFoundError } from '../../util/errors.js';
import { poll } from '../../util/poll.js';
import { EXIT_ERROR, EXIT_IN_PROGRESS, EXIT_OK, EXIT_PAUSED } from '../../util/exit-codes.js';
import { finalPhase, type RuleState } from '../../analysis/run.js';

function context() {
  const { port, store } = cliContext();
  return { port, store, rollouts: new RolloutStore(port, store) };
}

async function record(name: string): Promise<ClusterRecord> {
  const rec = await context().store.get(name);
  if (!rec) throw new NotFoundError(`cluster ${name} not found: bzzzctl status lists the clusters stored in this swarm`);
  return rec;
}

// ---- status ----

export interface RolloutStatusView {
  name: string;
  generation: number;
  phase: RolloutState['phase'] | 'None';
  stable?: number;
  startedAt?: string;
  convergedAt?: string;
  finishedAt?: string;
  cause?: RolloutCause;
  services: ClusterStatus['components'];
  rules: Array<{
    name: string;
    phase: RuleState['phase'];
    dryRun: boolean;
    counts: RuleState['counts'];
    baseline?: number | null;
    last?: RuleState['last'][number];
  }>;
  log: NonNullable<RolloutState['log']>;
}

function statusView(name: string, rec: ClusterRecord, r: RolloutState | undefined): RolloutStatusView {
  const current = r?.generation === rec.generation ? r : undefined;
  return {
    name,
    generation: rec.generation,
    phase: current?.phase ?? 'None',
    ...(current?.stable !== undefined ? { stable: current.stable } : {}),
    ...(current ? { startedAt: current.startedAt } : {}),
    ...(current?.convergedAt ? { convergedAt: current.convergedAt } : {}),
    ...(current?.finishedAt ? { finishedAt: current.finishedAt } : {}),
    ...(current?.cause ? { cause: current.cause } : {}),
    services: rec.status?.components ?? [],
    rules: (current?.analysis?.rules ?? []).map((x) => ({
      name: x.rule.name,
      // A finished rollout measures no more: a rule still Running measured until the end.
      phase: FINISHED_PHASES.has(current?.phase ?? 'Progressing') ? finalPhase(x).phase : x.phase,
      dryRun: x.rule.dryRun,
      counts: x.counts,
      ...(current?.baselines && x.rule.name in current.baselines ? { baseline: current.baselines[x.rule.name] } : {}),
      ...(x.last.length ? { last: x.last[x.last.length - 1] } : {}),
    })),
    log: current?.log ?? [],
  };
}

function exitFor(v: RolloutStatusView): number {
  if (v.phase === 'Succeeded') return EXIT_OK;
  if (v.phase === 'RolledBack' || v.phase === 'Aborted' || v.phase === 'RollingBack') return EXIT_ERROR;
  if (v.phase === 'Paused') return EXIT_PAUSED;
  return EXIT_IN_PROGRESS;
}

/** The phases `--watch` stops at. */
const settled = (v: RolloutStatusView) => FINISHED_PHASES.has(v.phase as RolloutState['phase']) || v.phase === 'Paused';

function statusLines(v: RolloutStatusView): string[] {
  const lines = [
    `${v.name}: generation ${v.generation} ${v.phase}${v.stable !== undefined ? ` (stable: generation ${v.stable})` : ''}${v.startedAt ? `, started ${v.startedAt}` : ''}`,
  ];
  if (v.phase === 'None')
    lines.push('  no rollout recorded for this generation: a controller (bzzzctl controller run, or bzzzctl up) runs rollouts');
  if (v.cause) {
    const c = v.cause;
    const rule = c.rule
      ? ` rule ${c.rule} saw ${c.value} (threshold ${c.threshold})`
      : c.trigger
        ? ` trigger ${c.trigger} (alert ${c.alert})`
        : '';
    lines.push(`  cause: ${c.kind}${rule}: ${c.message}`);
  }
  if (v.services.length) {
    lines.push('  services:');
    lines.push(
      ...table(
        ['SERVICE', 'IMAGE', 'RUNNING', 'UPDATE'],
        v.services.map((s) => [
          s.service,
          s.image,
          `${s.running}/${s.desired}`,
          s.update ? `${s.update}${s.updateMessage ? ` (${s.updateMessage})` : ''}` : '',
        ]),
      ).map((l) => `    ${l}`),
    );
  }
  if (v.rules.length) {
    lines.push('  analysis:');
    lines.push(
      ...table(
        ['RULE', 'PHASE', 'MEASURED', 'FAILED', 'INCONCLUSIVE', 'ERRORS', 'BASELINE', 'LAST'],
        v.rules.map((r) => [
          `${r.name}${r.dryRun ? ' (dry run)' : ''}`,
          r.phase,
          String(r.counts.measured),
          String(r.counts.failed),
          String(r.counts.inconclusive),
          String(r.counts.errors),
          r.baseline === undefined ? '' : r.baseline === null ? 'none' : String(r.baseline),
          r.last ? `${r.last.value ?? (r.last.noData ? 'no data' : 'error')} ${r.last.outcome}: ${r.last.message}` : '',
        ]),
      ).map((l) => `    ${l}`),
    );
  }
  return lines;
}

export async function rolloutStatusCommand(name: string, opts: { watch: boolean; timeout: string; output: OutputFormat }): Promise<number> {
  const { rollouts } = context();
  const read = async () => statusView(name, await record(name), await rollouts.get(name));
  let view = await read();
  if (opts.watch && !settled(view)) {
    const bar = opts.output === 'text' ? progress() : { update() {}, done() {} };
    const waited = await poll(read, {
      until: settled,
      deadline: Date.now() + parseDurationMs(opts.timeout, '--timeout'),
      everyMs: 1000,
      onValue: (v) => bar.update(statusLines(v)[0]),
    });
    bar.done();
    view = waited.value ?? view;
  }
  if (opts.output !== 'text') printDocument(view, opts.output);
  else printLines(statusLines(view));
  return exitFor(view);
}

// ---- history ----

export interface RevisionView {
  revision: number;
  current: boolean;
  /** Running now (the current generation, or the stable one a rollback returned to). */
  serving: boolean;
  appliedAt: string;
  appliedBy?: string;
  via?: string;
  outcome: string;
  reason?: string;
  images: Record<string, string>;
  secretVersions: Record<string, string>;
  configVersions: Record<string, string>;
}

function revisionView(r: Revision, rec: ClusterRecord, rollout: RolloutState | undefined): RevisionView {
  const cluster = rec.name;
  const rolledBack =
    rollout?.generation === rec.generation && rollout.stable !== undefined && /RollingBack|RolledBack|Aborted/.test(rollout.phase);
  const serving = rolledBack ? rollout?.stable : rec.generation;
  const by = r.spec.appliedBy;
  const outcome =
    r.record?.outcome ??
    (rollout?.generation === r.generation
      ? rollout.phase
      : r.generation === rec.generation
        ? isReady(rec.status, r.generation)
          ? 'Running'
          : 'Progressing'
        : '—');
  return {
    revision: r.generation,
    current: r.generation === rec.generation,
    serving: r.generation === serving,
    appliedAt: r.spec.appliedAt,
    ...(by ? { appliedBy: `${by.user}@${by.host}` } : {}),
    ...(by?.via === 'undo' ? { via: `undo of revision ${by.fromRevision}` } : {}),
    outcome,
    ...(r.record?.reason ? { reason: r.record.reason } : {}),
    images: r.record?.images ?? {},
    secretVersions: Object.fromEntries(Object.entries(r.spec.secretVersions).map(([l, h]) => [l, versionedName(cluster, l, h)])),
    configVersions: Object.fromEntries(
      Object.entries(r.spec.configContents).map(([l, c]) => [l, versionedName(cluster, l, configHash8(c))]),
    ),
  };
}

export async function rolloutHistoryCommand(name: string, opts: { output: OutputFormat }): Promise<number> {
  const { rollouts } = context();
  const rec = await record(name);
  const [revisions, rollout] = await Promise.all([rollouts.revisions(name), rollouts.get(name)]);
  const views = revisions.map((r) => revisionView(r, rec, rollout));
  if (opts.output !== 'text') {
    printDocument({ name, generation: rec.generation, revisions: views }, opts.output);
    return EXIT_OK;
  }
  printLines(
    table(
      ['REVISION', 'APPLIED', 'BY', 'OUTCOME', 'REASON'],
      views.map((v) => [
        `${v.revision}${v.current ? ' (current)' : ''}${v.serving && !v.current ? ' (running)' : ''}`,
        v.appliedAt,
        `${v.appliedBy ?? ''}${v.via ? ` (${v.via})` : ''}`,
        v.outcome,
        v.reason ?? '',
      ]),
    ),
  );
  return EXIT_OK;
}

// ---- undo ----

export async function rolloutUndoCommand(
  name: string,
  opts: { toRevision?: string; timeout: string; wait: boolean; output: OutputFormat },
): Promise<number> {
  const { store, rollouts } = context();
  const rec = await record(name);
  const [revisions, rollout, lease] = await Promise.all([rollouts.revisions(name), rollouts.get(name), readLease(cliContext().engine)]);
  const target = pickRevision(rec, rollout, revisions, opts.toRevision);
  await requireSecretVersions(target.spec);
  const { generation: _g, appliedAt: _a, appliedBy: _b, ...doc } = target.spec;
  const stored = await store.putSpec({ ...doc, appliedBy: appliedBy('undo', target.generation) });
  const summary = stored.changed
    ? `bzzzcluster/${name}: revision ${target.generation} stored as generation ${stored.generation}`
    : `bzzzcluster/${name}: generation ${stored.generation} already is revision ${target.generation}`;
  const say = (line: string) => {
    if (opts.output === 'text') process.stderr.write(`${line}\n`);
  };
  const bar = opts.output === 'text' ? progress() : { update() {}, done() {} };
  const controller = leaseIsLive(lease, Date.now()) && !isCommandHolder(lease?.holder) ? lease?.holder : undefined;
  const { status, mode } = await converge({
    name,
    generation: stored.generation,
    summary,
    controller,
    wait: opts.wait,
    deadline: Date.now() + parseDurationMs(opts.timeout, '--timeout'),
    say,
    bar,
    command: 'rollout undo',
  });
  bar.done();
  const verdict = convergeVerdict(status, stored.generation, { mode, wait: opts.wait, timeout: opts.timeout, name });
  if (opts.output !== 'text') {
    printDocument(
      { name, generation: stored.generation, revision: target.generation, changed: stored.changed, mode, ready: verdict.ready, status },
      opts.output,
    );
  } else {
    printLines([`${summary} (${mode === 'controller' ? 'by the controller' : 'in-process'})`, ...verdict.lines]);
  }
  return verdict.code;
}

/** The revision undo brings back: the one asked for, else the stable one, else the newest earlier success. */
function pickRevision(rec: ClusterRecord, rollout: RolloutState | undefined, revisions: Revision[], asked?: string): Revision {
  const kept = revisions.map((r) => r.generation).join(', ') || 'none';
  if (asked !== undefined) {
    const n = Number(asked);
    if (!Number.isInteger(n) || n < 1) throw new InvalidInputError(`--to-revision ${asked}: expected a revision number (kept: ${kept})`);
    const r = revisions.find((x) => x.generation === n);
    if (!r)
      throw new InvalidInputError(`--to-revision ${n}: revision ${n} is not kept (kept: ${kept}); see bzzzctl rollout history ${rec.name}`);
    return r;
  }
  const stable = rollout?.generation === rec.generation ? rollout.stable : undefined;
  const earlier = revisions.filter((r) => r.generation < rec.generation);
  const r =
    earlier.find((x) => x.generation === stable) ?? earlier.filter((x) => x.record?.outcome === 'Succeeded').at(-1) ?? earlier.at(-1);
  if (!r) throw new InvalidInputError(`cluster ${rec.name} has no earlier revision to go back to (kept: ${kept})`);
  return r;
}

/** Secrets from files or env vars cannot be written again without the files: their versions must still exist. */
async function requireSecretVersions(spec: StoredSpec): Promise<void> {
  const cluster = spec.cluster.metadata.name;
  const names = Object.entries(spec.secretVersions).map(([l, h]) => versionedName(cluster, l, h));
  if (names.length === 0) return;
  const have = new Set((await cliContext().port.listSecrets({ names })).map((s) => s.Spec.Name));
  const gone = names.filter((n) => !have.has(n));
  if (gone.length) {
    throw new InvalidInputError(
      `revision ${spec.generation} used secret version(s) ${gone.join(', ')}, removed since; its value came from a file or env var that only bzzzctl apply reads: apply that revision's spec file instead`,
    );
  }
}

// ---- pause, resume, abort ----

export async function rolloutVerbCommand(
  verb: 'pause' | 'resume' | 'abort',
  name: string,
  opts: { output: OutputFormat },
): Promise<number> {
  const { rollouts } = context();
  const rec = await record(name);
  const by = appliedBy();
  const who = `${by.user}@${by.host}`;
  const now = new Date();
  const cause: RolloutCause = { kind: 'manual', by: who, message: `${verb} by ${who}`, at: now.toISOString() };
  const { state, written } = await rollouts.update(name, (current) => {
    const r = current?.generation === rec.generation ? current : undefined;
    const step: RolloutStep =
      verb === 'pause' ? pauseRollout(r, cause) : verb === 'resume' ? resumeRollout(r, who, now) : rollBackRollout(r, cause);
    return withLog(step, cause.at);
  });
  const view = statusView(name, rec, state);
  if (opts.output !== 'text') printDocument({ ...view, changed: written }, opts.output);
  else
    printLines([
      `${name}: ${written ? `${verb} recorded` : `nothing to ${verb}: already ${view.phase}`}; the controller acts on it`,
      ...statusLines(view),
    ]);
  return EXIT_OK;
}
