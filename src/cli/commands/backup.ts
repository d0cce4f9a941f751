// bzzzctl backup create|list|verify|restore|prune|drill — the jobs the backup controller runs on
// its schedule, run here by hand: the cluster's repository (spec.backups.repository) opened with
// its age identity (-i FILE, or <secrets-dir>/<cluster>_<identitySecret>), under the repository's
// own lock, no controller needed. create and drill are journaled in the cluster's backup record
// (when the cluster is stored in the swarm) so status shows them and a scheduled run never
// overlaps them. Progress: a bar on a terminal, JSON lines on stderr with -o json.
import { cliContext } from '../context.js';
import { printDocument, printLines, table, type OutputFormat } from '../output.js';
import { formatBytes, progressReporter } from '../backup-progress.js';
import type { ProgressListener, SnapshotSummary } from '../../backup/types.js';
import { loadSpecFile } from '../../spec/index.js';
import { parseSubsetPercent } from '../../spec/checks/backups.js';
import type { BzzzCluster } from '../../spec/types.js';
import { BackupStore, type BackupJobKind, type BackupState, type BackupStepOutcome } from '../../store/backup-store.js';
import { parseCron } from '../../util/cron.js';
import { beat, DEFAULT_STALE_MS, finished, interrupted, recorded, started } from '../../reconcilers/backup-plan.js';
import {
  backupInclude,
  includedParts,
  mountedIdentityFile,
  openClusterRepository,
  runBackupJob,
  runDrillJob,
  verifyOutcome,
  type BackupInclude,
} from '../../ops/backup-jobs.js';
import type { Repository } from '../../backup/index.js';
import { clusterParts } from '../../ops/backup-parts.js';
import { convergeUnderLease } from '../../ops/backup-converge.js';
import { ConflictError, InvalidInputError, NotFoundError } from '../../util/errors.js';
import { EXIT_ERROR, EXIT_OK } from '../../util/exit-codes.js';
import { hostname } from 'node:os';
import { holderGoneHere } from '../../util/process-alive.js';

export interface BackupCommonOptions {
  filename?: string;
  identity?: string;
  secretsDir?: string;
  output: OutputFormat;
}

const CLUSTER_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
const PARTS = ['swarm', 'postgres', 'content'] as const;

/** `--read-data` / `--read-data-subset N%` as the repository's readData option; refuses both at once. */
export function readDataOption(o: { readData?: boolean; readDataSubset?: string }): boolean | { subsetPercent: number } | undefined {
  if (o.readData && o.readDataSubset !== undefined)
    throw new InvalidInputError('--read-data reads every pack and --read-data-subset a share of them: pass one of the two');
  if (o.readDataSubset !== undefined) {
    const n = parseSubsetPercent(o.readDataSubset);
    if (n === undefined)
      throw new InvalidInputError(`--read-data-subset ${JSON.stringify(o.readDataSubset)}: give a share above 0 and at most 100, e.g. 5%`);
    return { subsetPercent: n };
  }
  return o.readData ? true : undefined;
}

/** `--only swarm,postgres` as the parts to restore; every part when absent. */
export function onlyParts(only: string | undefined): BackupInclude | undefined {
  if (only === undefined) return undefined;
  const names = only
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const bad = names.filter((n) => !(PARTS as readonly string[]).includes(n));
  if (!names.length || bad.length)
    throw new InvalidInputError(
      `--only ${JSON.stringify(only)}: name parts among ${PARTS.join(', ')}, separated by commas${bad.length ? ` (not a part: ${bad.join(', ')})` : ''}`,
    );
  return { swarm: names.includes('swarm'), postgres: names.includes('postgres'), content: names.includes('content') };
}

/** `--as NEWNAME`: a cluster name (what metadata.name allows). */
export function restoreName(as: string | undefined, from: string): string {
  if (as === undefined) return from;
  if (as.length > 32 || !CLUSTER_NAME.test(as))
    throw new InvalidInputError(
      `--as ${JSON.stringify(as)}: a cluster name is lowercase letters, digits and "-", at most 32 characters, starting and ending with a letter or digit`,
    );
  return as;
}

interface Resolved {
  name: string;
  cluster: BzzzCluster;
  /** The cluster is stored in the swarm: its backup journal can record this run. */
  stored: boolean;
}

/** The cluster from `-f FILE` or from the swarm by NAME (one of the two). */
export async function resolveBackupCluster(name: string | undefined, filename: string | undefined): Promise<Resolved> {
  if (name && filename) throw new InvalidInputError(`give the cluster by name (${name}) or by -f ${filename}, not both`);
  if (!name && !filename) throw new InvalidInputError('which cluster? give its name (as stored in the swarm) or -f cluster.yaml');
  let cluster: BzzzCluster;
  let stored = false;
  if (filename) {
    cluster = (await loadSpecFile(filename)).cluster;
    stored =
      (await cliContext()
        .store.get(cluster.metadata.name)
        .catch(() => undefined)) !== undefined;
  } else {
    const { store } = cliContext();
    const rec = await store.get(name as string);
    if (!rec)
      throw new NotFoundError(
        `cluster ${name} not found: bzzzctl status lists the clusters stored in this swarm (or pass -f cluster.yaml)`,
      );
    cluster = (await store.getSpec(name as string, rec.generation)).cluster;
    stored = true;
  }
  if (!cluster.spec.backups)
    throw new InvalidInputError(
      `cluster ${cluster.metadata.name} has no spec.backups: add spec.backups (repository, identitySecret, schedule) and apply`,
    );
  return { name: cluster.metadata.name, cluster, stored };
}

async function open(r: Resolved, o: BackupCommonOptions, create: boolean): Promise<Repository> {
  const b = r.cluster.spec.backups;
  return openClusterRepository({
    cluster: r.cluster,
    identityFile: o.identity ?? mountedIdentityFile(o.secretsDir ?? '/run/secrets', r.cluster),
    where: o.identity
      ? 'check -i/--identity'
      : `pass -i FILE (the age identity of spec.secrets.${b?.identitySecret}) or --secrets-dir where ${r.name}_${b?.identitySecret} is`,
    create,
  });
}

/**
 * Runs `work` journaled in the cluster's backup record (when stored), with a heartbeat like the
 * controller's: refused while another live job runs; a job whose heartbeat stopped (its runner
 * died and no controller noticed) is recorded interrupted and taken over.
 */
async function journaled(r: Resolved, kind: BackupJobKind, work: () => Promise<BackupStepOutcome[]>): Promise<BackupStepOutcome[]> {
  if (!r.stored) return work();
  const { engine, store } = cliContext();
  const journal = new BackupStore(engine, store);
  const holder = `bzzzctl@${hostname()}/${process.pid}`;
  const { written, state } = await journal.update(r.name, (cur) => {
    const run = cur?.running;
    // A runner on this host whose process is gone (a SIGKILLed bzzzctl) is dead now, not after the stale time.
    const dead = run && (Date.now() - Date.parse(run.heartbeat) > DEFAULT_STALE_MS || holderGoneHere(run.holder));
    return started(dead ? (interrupted(cur, run, Date.now()) ?? cur) : cur, { kind, missed: 0, holder, now: Date.now() });
  });
  if (!written) {
    const run = state?.running;
    throw new ConflictError(
      `cluster ${r.name}: a ${run?.kind ?? 'backup'} job runs (${run?.holder ?? 'another process'}, since ${run?.started ?? '?'}); wait for it to end`,
    );
  }
  const heartbeat = setInterval(() => {
    void journal.update(r.name, (cur) => beat(cur, holder, Date.now())).catch(() => undefined);
  }, DEFAULT_STALE_MS / 3);
  heartbeat.unref();
  let steps: BackupStepOutcome[] = [];
  try {
    steps = await work();
    return steps;
  } finally {
    clearInterval(heartbeat);
    await journal.update(r.name, (cur) => finished(cur, { holder, kind, steps })).catch(() => undefined);
  }
}

function stepLines(steps: readonly BackupStepOutcome[]): string[] {
  return steps.map((s) => {
    const took = `${((s.finished - s.started) / 1000).toFixed(1)} s`;
    const what =
      s.kind === 'backup' && s.ok
        ? `snapshot ${s.snapshot?.slice(0, 16)}: ${s.files ?? 0} files, ${formatBytes(s.bytes ?? 0)}, ${formatBytes(s.addedBytes ?? 0)} new`
        : s.kind === 'prune' && s.ok
          ? `${s.files ?? 0} snapshot(s) forgotten, ${formatBytes(s.bytes ?? 0)} freed`
          : s.kind === 'verify' && s.ok
            ? `${s.files ?? 0} pack(s) checked, no problem`
            : s.ok
              ? 'ok'
              : `FAILED: ${s.error ?? ''}`;
    return [`${s.kind.padEnd(7)} ${what} (${took})`, ...(s.problems ?? []).map((p) => `        ${p}`)].join('\n');
  });
}

/** Opens the repository, runs `work` with a progress listener, then stops the bar and closes the repository however it ended. */
async function withRepository<T>(
  r: Resolved,
  o: BackupCommonOptions,
  create: boolean,
  work: (repository: Repository, onProgress: ProgressListener) => Promise<T>,
): Promise<T> {
  const repository = await open(r, o, create);
  const bar = progressReporter(o.output);
  try {
    return await work(repository, bar.listener);
  } finally {
    bar.done();
    await repository.close();
  }
}

/** create and drill: the controller's own job, journaled, its steps printed. */
async function jobCommand(kind: BackupJobKind, name: string | undefined, o: BackupCommonOptions): Promise<number> {
  const r = await resolveBackupCluster(name, o.filename);
  const { engine: port, store } = cliContext();
  const steps = await withRepository(r, o, kind === 'backup', (repository, onProgress) =>
    journaled(r, kind, () => {
      const ctx = {
        cluster: r.cluster,
        port,
        store,
        repository,
        signal: new AbortController().signal,
        now: Date.now,
        onProgress,
        converge: convergeUnderLease(port, 'backup drill'),
      };
      return kind === 'drill' ? runDrillJob({ ...ctx, reason: 'drill' }) : runBackupJob({ ...ctx, reason: 'manual' });
    }),
  );
  const ok = steps.every((s) => s.ok);
  if (o.output !== 'text') printDocument({ cluster: r.name, ok, steps }, o.output);
  else printLines(stepLines(steps));
  return ok ? EXIT_OK : EXIT_ERROR;
}

export function backupCreateCommand(name: string | undefined, o: BackupCommonOptions): Promise<number> {
  return jobCommand('backup', name, o);
}

export function backupDrillCommand(name: string, o: BackupCommonOptions): Promise<number> {
  return jobCommand('drill', name, o);
}

function snapshotRow(s: SnapshotSummary): string[] {
  return [s.id.slice(0, 16), s.time, s.reason, s.parts.join(','), String(s.files), formatBytes(s.bytes), formatBytes(s.addedBytes)];
}

/** The schedule's next slots and what the journal holds (a running job, the last outcomes), for people. */
export function scheduleLines(cluster: BzzzCluster, state: BackupState | undefined, now: number): string[] {
  const b = cluster.spec.backups;
  if (!b) return [];
  const tz = b.timeZone ?? 'UTC';
  const next = (expr: string) => {
    const at = parseCron(expr, tz).next(now);
    return at === undefined ? 'none' : new Date(at).toISOString();
  };
  const out = [
    `schedule: backup "${b.schedule}" (${tz}), next ${next(b.schedule)}${b.drill ? `; drill "${b.drill.schedule}", next ${next(b.drill.schedule)}` : ''}`,
  ];
  if (state?.running) out.push(`running:  ${state.running.kind} by ${state.running.holder} since ${state.running.started}`);
  for (const k of ['backup', 'verify', 'prune', 'drill'] as const) {
    const l = state?.last[k];
    if (l)
      out.push(
        `last ${k.padEnd(7)} ${l.ok ? 'ok' : 'FAILED'} ${l.finished}${l.snapshot ? ` (snapshot ${l.snapshot.slice(0, 16)})` : ''}${l.error ? `: ${l.error}` : ''}`,
      );
  }
  return out;
}

export async function backupListCommand(name: string | undefined, o: BackupCommonOptions): Promise<number> {
  const r = await resolveBackupCluster(name, o.filename);
  const snaps = await withRepository(r, o, false, (repository) => repository.snapshots({ cluster: r.name }));
  const { engine, store } = cliContext();
  const journal = r.stored ? await new BackupStore(engine, store).get(r.name) : undefined;
  if (o.output !== 'text') printDocument({ cluster: r.name, snapshots: snaps, ...(journal ? { journal } : {}) }, o.output);
  else
    printLines([
      ...(snaps.length
        ? table(['ID', 'TIME', 'REASON', 'PARTS', 'FILES', 'SIZE', 'ADDED'], snaps.map(snapshotRow))
        : [`${r.name}: no snapshots yet (bzzzctl backup create ${r.name})`]),
      '',
      ...scheduleLines(r.cluster, journal, Date.now()),
    ]);
  return EXIT_OK;
}

export async function backupVerifyCommand(
  name: string | undefined,
  o: BackupCommonOptions & { readData?: boolean; readDataSubset?: string },
): Promise<number> {
  const readData = readDataOption(o);
  const r = await resolveBackupCluster(name, o.filename);
  const started = Date.now();
  const report = await withRepository(r, o, false, (repository, onProgress) =>
    repository.verify({ ...(readData !== undefined ? { readData } : {}), onProgress }),
  );
  if (r.stored) {
    const { engine, store } = cliContext();
    const step = verifyOutcome(report, started, Date.now());
    await new BackupStore(engine, store).update(r.name, (cur) => recorded(cur, [step])).catch(() => undefined);
  }
  if (o.output !== 'text') printDocument({ cluster: r.name, ...report }, o.output);
  else
    printLines([
      `${r.name}: ${report.ok ? 'repository OK' : 'PROBLEMS FOUND'}: ${report.packsChecked} of ${report.packsTotal} pack(s) read, ${report.chunksChecked} chunk(s) checked`,
      ...report.problems.map((p) => `  ${p}`),
    ]);
  return report.ok ? EXIT_OK : EXIT_ERROR;
}

export async function backupRestoreCommand(
  name: string | undefined,
  o: BackupCommonOptions & { snapshot?: string; as?: string; only?: string },
): Promise<number> {
  const parts = onlyParts(o.only);
  const r = await resolveBackupCluster(name, o.filename);
  const into = restoreName(o.as, r.name);
  const chosen = parts ? PARTS.filter((p) => parts[p]) : undefined;
  const { engine: port } = cliContext();
  const { snap, done } = await withRepository(r, o, false, async (repository, onProgress) => {
    const snap = await repository.findSnapshot(o.snapshot ?? 'latest', r.name);
    const targets = clusterParts(port, { converge: convergeUnderLease(port, 'backup restore') }).targets(
      into,
      includedParts(parts ?? backupInclude(r.cluster)),
    );
    const done = await repository.restore(snap.id, targets, { ...(chosen ? { parts: [...chosen] } : {}), onProgress });
    return { snap, done };
  });
  const doc = { cluster: r.name, into, snapshot: snap.id, time: snap.time, parts: chosen ?? snap.parts, ...done };
  if (o.output !== 'text') printDocument(doc, o.output);
  else
    printLines([
      `${r.name}: snapshot ${snap.id.slice(0, 16)} of ${snap.time} restored into ${into} (${doc.parts.join(', ')}): ${done.files} files, ${formatBytes(done.bytes)}`,
    ]);
  return EXIT_OK;
}

export async function backupPruneCommand(name: string | undefined, o: BackupCommonOptions & { dryRun?: boolean }): Promise<number> {
  const r = await resolveBackupCluster(name, o.filename);
  const policy = r.cluster.spec.backups?.retention;
  if (!policy || !(policy.keepLast || policy.keepDaily || policy.keepWeekly || policy.keepMonthly))
    throw new InvalidInputError(
      `cluster ${r.name} has no spec.backups.retention: every snapshot is kept; set keepLast (or keepDaily/Weekly/Monthly) to forget older ones`,
    );
  const dryRun = o.dryRun === true;
  const { f, p } = await withRepository(r, o, false, async (repository, onProgress) => {
    const f = await repository.forget(policy, { cluster: r.name, dryRun, now: new Date() });
    const p = dryRun || !f.removed.length ? undefined : await repository.prune({ onProgress });
    return { f, p };
  });
  const doc = { cluster: r.name, dryRun, kept: f.kept.map((s) => s.id), removed: f.removed.map((s) => s.id), ...(p ?? {}) };
  if (o.output !== 'text') printDocument(doc, o.output);
  else
    printLines([
      `${r.name}: ${f.kept.length} snapshot(s) kept, ${f.removed.length} ${dryRun ? 'would be forgotten (dry run: nothing changed)' : 'forgotten'}`,
      ...f.removed.map((s) => `  - ${s.id.slice(0, 16)} ${s.time} ${s.reason}`),
      ...(p ? [`  ${p.packsRemoved} pack(s) removed, ${formatBytes(p.bytesFreed)} freed`] : []),
    ]);
  return EXIT_OK;
}
