// The backup jobs as one pipeline the controller and `bzzzctl backup` share: open the cluster's
// repository (refused before anything is written when the directory is not writable or the
// identity cannot be read), back up, verify per spec.backups.verify, forget and prune per
// spec.backups.retention; and the restore drill. Each step's outcome is returned for the journal,
// its errors carry no secret value (the identity is only ever parsed, never quoted).
import { constants } from 'node:fs';
import { access, mkdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { ProgressListener, RetentionPolicy, SnapshotSummary, VerifyReport } from '../backup/types.js';
import type { BzzzCluster } from '../spec/types.js';
import type { SwarmPort } from '../swarm/port.js';
import type { ClusterStore } from '../store/cluster-store.js';
import type { BackupStepOutcome } from '../store/backup-store.js';
import { ageRecipientOf, parseAgeIdentity, parseAgeRecipient } from '../crypto/age-stream.js';
import { parseSubsetPercent } from '../spec/checks/backups.js';
import { readKeyFile } from '../util/read-up-to.js';
import { BzzzError, InvalidInputError } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import { initRepository, isRepository, openRepository, type Repository } from '../backup/index.js';
import { clusterParts, type ClusterPart, type ClusterParts } from './backup-parts.js';
import { runDrill } from './backup-drill.js';
import { DockerExec, type ServiceExec } from '../swarm/exec.js';
import type { Converge } from './backup-converge.js';

const MAX_IDENTITY_BYTES = 8 * 1024;

export interface BackupInclude {
  postgres: boolean;
  swarm: boolean;
  content: boolean;
}

/** What spec.backups asks for, with its defaults: each part on when the cluster has it. */
export function backupInclude(cluster: BzzzCluster): BackupInclude {
  const inc = cluster.spec.backups?.include ?? {};
  const pg = cluster.spec.services?.postgres;
  const hasPg = pg !== undefined && pg.enabled !== false;
  return { postgres: inc.postgres ?? hasPg, swarm: inc.swarm ?? true, content: inc.content ?? true };
}

/** The parts `include` turns on, in restore order. */
export function includedParts(include: BackupInclude): ClusterPart[] {
  return (['swarm', 'postgres', 'content'] as const).filter((p) => include[p]);
}

/** The secrets-directory file the controller reads the identity from: <dir>/<cluster>_<identitySecret>. */
export function mountedIdentityFile(secretsDir: string, cluster: BzzzCluster): string {
  const b = cluster.spec.backups;
  if (!b) throw new InvalidInputError(`cluster ${cluster.metadata.name} has no spec.backups`);
  return join(secretsDir, `${cluster.metadata.name}_${b.identitySecret}`);
}

/** Reads and checks an age identity file; errors name the file and `where` it should come from, never its content. */
export async function readIdentity(file: string, where: string): Promise<string> {
  const what = 'the backup identity';
  const text = await readKeyFile(file, { what, limit: MAX_IDENTITY_BYTES, where, tooLarge: 'not an age identity file' });
  // age-keygen writes comment lines (# created: …, # public key: …) before the key.
  const line = text
    .split('\n')
    .map((l) => l.trim())
    .find((l) => l.startsWith('AGE-SECRET-KEY-'));
  if (!line) throw new InvalidInputError(`the backup identity ${file} holds no age identity (AGE-SECRET-KEY-1…, as age-keygen writes it)`);
  parseAgeIdentity(line, `the backup identity ${file}`);
  return line;
}

/**
 * Refuses a repository directory this process cannot write, naming it: an existing directory
 * must be writable; a missing one needs a writable parent (and `create`). Writes nothing.
 */
export async function checkRepositoryDir(dir: string, o: { create: boolean; field: string }): Promise<'exists' | 'missing'> {
  const st = await stat(dir).catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? undefined : Promise.reject(err)));
  if (st && !st.isDirectory())
    throw new InvalidInputError(`${o.field}: ${dir} is not a directory; point it at a directory (or a mounted NFS path)`);
  const probe = st ? dir : dirname(dir);
  try {
    await access(probe, constants.W_OK | constants.X_OK);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    throw new InvalidInputError(
      code === 'ENOENT'
        ? `${o.field}: neither ${dir} nor its parent ${probe} exists; create it (or mount the NFS share there) on the controller's node`
        : `${o.field}: ${probe} is not writable by this process (uid ${process.getuid?.() ?? '?'}): fix its owner or mode, or point the repository elsewhere; nothing was written`,
    );
  }
  if (!st && !o.create)
    throw new InvalidInputError(`${o.field}: ${dir} does not exist; \`bzzzctl backup create\` makes the repository there on first use`);
  return st ? 'exists' : 'missing';
}

export interface OpenOptions {
  cluster: BzzzCluster;
  /** The file holding the repository's age identity. */
  identityFile: string;
  /** Where the identity should come from, for the error when it cannot be read. */
  where: string;
  /** Make the repository when the directory has none (a backup); else it must exist. */
  create: boolean;
  log?: Logger;
}

/** The cluster's repository, opened with its identity; made on first use when `create`. */
export async function openClusterRepository(o: OpenOptions): Promise<Repository> {
  const b = o.cluster.spec.backups;
  if (!b)
    throw new InvalidInputError(
      `cluster ${o.cluster.metadata.name} has no spec.backups: add spec.backups (repository, identitySecret, schedule) and apply`,
    );
  const field = 'spec.backups.repository';
  const state = await checkRepositoryDir(b.repository, { create: o.create, field });
  const identity = await readIdentity(o.identityFile, o.where);
  const recipients = [ageRecipientOf(identity)];
  (b.recipients ?? []).forEach((r, i) => {
    parseAgeRecipient(r, `spec.backups.recipients[${i}]`);
    if (!recipients.includes(r)) recipients.push(r);
  });
  if (state === 'missing') await mkdir(b.repository, { recursive: false, mode: 0o700 });
  if (!(await isRepository(b.repository))) {
    if (!o.create) throw new InvalidInputError(`${field}: ${b.repository} holds no backup repository; \`bzzzctl backup create\` makes one`);
    await initRepository(b.repository, { recipients });
  }
  return openRepository(b.repository, { identities: [identity], recipients, log: o.log });
}

export interface JobContext {
  cluster: BzzzCluster;
  port: SwarmPort;
  store: ClusterStore;
  repository: Repository;
  reason: string;
  signal: AbortSignal;
  now(): number;
  onProgress?: ProgressListener;
  log?: Logger;
  /** Where the parts come from; default the cluster's own (swarm, PostgreSQL, content). */
  parts?: ClusterParts;
  /** Runs commands in the cluster's tasks (the drill's comparisons); default the port's engine. */
  exec?: ServiceExec;
  /** How a drill's scratch cluster is brought up; default in-process reconcile. */
  converge?: Converge;
}

function retentionOf(cluster: BzzzCluster): RetentionPolicy | undefined {
  const r = cluster.spec.backups?.retention;
  return r && (r.keepLast || r.keepDaily || r.keepWeekly || r.keepMonthly) ? r : undefined;
}

function failed(kind: BackupStepOutcome['kind'], started: number, now: number, err: unknown): BackupStepOutcome {
  const error = err instanceof BzzzError || err instanceof Error ? err.message : String(err);
  return { kind, ok: false, started, finished: now, error: error.slice(0, 500) };
}

/** The scheduled (or `bzzzctl backup create`) job: back up, then verify and prune as the spec says. Stops at the first failure. */
export async function runBackupJob(c: JobContext): Promise<BackupStepOutcome[]> {
  const name = c.cluster.metadata.name;
  const out: BackupStepOutcome[] = [];
  let started = c.now();
  let snap: SnapshotSummary;
  try {
    const sources = await (c.parts ?? clusterParts(c.port)).sources(c.cluster, includedParts(backupInclude(c.cluster)), (p) =>
      c.repository.secretToken(p),
    );
    snap = await c.repository.backup(sources, { cluster: name, reason: c.reason, signal: c.signal, onProgress: c.onProgress });
  } catch (err) {
    return [failed('backup', started, c.now(), err)];
  }
  out.push({
    kind: 'backup',
    ok: true,
    started,
    finished: c.now(),
    snapshot: snap.id,
    bytes: snap.bytes,
    addedBytes: snap.addedBytes,
    files: snap.files,
  });
  const v = c.cluster.spec.backups?.verify;
  if (v?.afterBackup !== false) {
    started = c.now();
    const subset = v?.readDataSubset ? parseSubsetPercent(v.readDataSubset) : undefined;
    try {
      const report = await c.repository.verify({
        ...(subset !== undefined ? { readData: { subsetPercent: subset } } : {}),
        signal: c.signal,
        onProgress: c.onProgress,
      });
      out.push(verifyOutcome(report, started, c.now()));
      if (!report.ok) return out;
    } catch (err) {
      out.push(failed('verify', started, c.now(), err));
      return out;
    }
  }
  const policy = retentionOf(c.cluster);
  if (policy) {
    started = c.now();
    try {
      const f = await c.repository.forget(policy, { cluster: name, now: new Date(c.now()) });
      const p = f.removed.length
        ? await c.repository.prune({ signal: c.signal, onProgress: c.onProgress })
        : { packsRemoved: 0, bytesFreed: 0 };
      out.push({
        kind: 'prune',
        ok: true,
        started,
        finished: c.now(),
        files: f.removed.length,
        bytes: p.bytesFreed,
        problems: f.removed.map((s) => `forgot ${s.id.slice(0, 16)} of ${s.time}`).slice(0, 20),
      });
    } catch (err) {
      out.push(failed('prune', started, c.now(), err));
    }
  }
  return out;
}

export function verifyOutcome(r: VerifyReport, started: number, finished: number): BackupStepOutcome {
  return {
    kind: 'verify',
    ok: r.ok,
    started,
    finished,
    files: r.packsChecked,
    ...(r.problems.length ? { problems: r.problems.slice(0, 20) } : {}),
    ...(r.ok ? {} : { error: `${r.problems.length} problem(s): ${r.problems.slice(0, 3).join('; ')}`.slice(0, 500) }),
  };
}

/** The restore drill of the cluster's latest snapshot. */
export async function runDrillJob(c: JobContext): Promise<BackupStepOutcome[]> {
  const started = c.now();
  try {
    const snapshot = await c.repository.findSnapshot('latest', c.cluster.metadata.name);
    const r = await runDrill({
      port: c.port,
      exec: c.exec ?? new DockerExec(c.port),
      cluster: c.cluster.metadata.name,
      include: includedParts(backupInclude(c.cluster)),
      converge: c.converge,
      restore: async (targets, signal) => {
        // The drill restores in two rounds (swarm first): each round only the parts it has targets for.
        await c.repository.restore(snapshot.id, targets, { parts: targets.map((t) => t.part), signal, onProgress: c.onProgress });
      },
      signal: c.signal,
      progress: (line) => c.log?.info({ cluster: c.cluster.metadata.name }, line),
    });
    const bad = r.tables.filter((t) => !t.checksumMatch || t.rowsLive !== t.rowsRestored);
    const problems = [
      ...bad.map(
        (t) =>
          `table ${t.database}.${t.table}: ${t.rowsRestored ?? 'no'} rows restored of ${t.rowsLive ?? 'no'} live${t.checksumMatch ? '' : ', checksums differ'}`,
      ),
      ...r.problems,
    ].slice(0, 20);
    return [
      {
        kind: 'drill',
        ok: r.ok,
        started,
        finished: c.now(),
        snapshot: snapshot.id,
        files: r.tables.length,
        ...(problems.length ? { problems } : {}),
        ...(r.ok ? {} : { error: (problems[0] ?? 'the drill failed').slice(0, 500) }),
      },
    ];
  } catch (err) {
    return [failed('drill', started, c.now(), err)];
  }
}
