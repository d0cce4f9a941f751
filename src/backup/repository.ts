// Creating and opening a repository directory, and the Repository every caller uses: each
// operation takes its lock (exclusive for backup/forget/prune, shared for verify/restore), runs,
// and releases it, also when it fails.
import { createHmac } from 'node:crypto';
import { constants } from 'node:fs';
import { access, mkdir, readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { AgePayloadOpener, parseAgeIdentity, parseAgeRecipient } from '../crypto/age-stream.js';
import { InvalidInputError } from '../util/errors.js';
import { type Logger, silentLogger } from '../util/log.js';
import { type BackupOptions, runBackup } from './backup-op.js';
import { createChunker } from './chunker.js';
import { newConfig, parseConfig } from './config.js';
import type { RepoContext } from './context.js';
import { RepositoryPathError } from './errors.js';
import { fsyncDir, readBounded, writeFileAtomic } from './files.js';
import { ChunkIndex } from './index-file.js';
import { LIMITS, MARKER_FILE, MARKER_TEXT, dirs } from './layout.js';
import { type LockOptions, RepoLock } from './lock.js';
import { SnapshotStore } from './manifest.js';
import { PackReader } from './pack-reader.js';
import { type PruneOptions, runPrune } from './prune-op.js';
import { type RestoreOptions, runRestore } from './restore-op.js';
import { applyRetention } from './retention.js';
import { openJson, sealJson } from './sealed-json.js';
import { ShapeReader } from './shape.js';
import type { BackupSource, RestoreTarget, RetentionPolicy, SnapshotSummary, VerifyReport } from './types.js';
import { type VerifyOptions, runVerify } from './verify-op.js';

export interface Repository {
  readonly dir: string;
  backup(sources: readonly BackupSource[], opts: BackupOptions): Promise<SnapshotSummary>;
  snapshots(filter?: { cluster?: string }): Promise<SnapshotSummary[]>;
  findSnapshot(idOrPrefix: string | 'latest', cluster?: string): Promise<SnapshotSummary>;
  verify(opts?: VerifyOptions): Promise<VerifyReport>;
  restore(snapshotId: string, targets: readonly RestoreTarget[], opts?: RestoreOptions): Promise<{ files: number; bytes: number }>;
  forget(
    policy: RetentionPolicy,
    opts: { cluster: string; dryRun?: boolean; now?: Date },
  ): Promise<{ kept: SnapshotSummary[]; removed: SnapshotSummary[] }>;
  prune(opts?: PruneOptions): Promise<{ packsRemoved: number; bytesFreed: number }>;
  /**
   * A secret of this repository for `purpose` (32 hex digits, HMAC of the config's secret seed):
   * stable across backups, unknown to whoever lacks the repository key — e.g. pg_dump's
   * --restrict-key, so day-to-day dumps stay identical (deduplicated) without a key the dumped
   * server could predict.
   */
  secretToken(purpose: string): string;
  close(): Promise<void>;
}

function checkKeys(recipients: readonly string[], identities?: readonly string[]): void {
  if (recipients.length === 0) throw new InvalidInputError('backup repository: at least one age recipient (age1…) is needed');
  recipients.forEach((r, i) => parseAgeRecipient(r, `backup repository recipient ${i + 1}`));
  identities?.forEach((id, i) => parseAgeIdentity(id, `backup repository identity ${i + 1}`));
}

export async function isRepository(dir: string): Promise<boolean> {
  try {
    const marker = await readBounded(join(dir, MARKER_FILE), LIMITS.marker, 'repository marker');
    return marker.toString('utf8') === MARKER_TEXT;
  } catch {
    return false;
  }
}

export async function initRepository(dir: string, opts: { recipients: readonly string[]; now?: Date }): Promise<void> {
  checkKeys(opts.recipients);
  const root = resolve(dir);
  if (await isRepository(root)) throw new RepositoryPathError(`${root} is already a backup repository; open it instead`);
  const st = await stat(root).catch(() => undefined);
  if (st && !st.isDirectory())
    throw new RepositoryPathError(`${root} is not a directory; give an empty or new directory for the repository`);
  if (st && (await readdir(root)).length > 0)
    throw new RepositoryPathError(`${root} is not empty and not a backup repository; give an empty or new directory`);
  try {
    await mkdir(root, { recursive: true, mode: 0o700 });
    await access(root, constants.W_OK);
  } catch (err) {
    throw new RepositoryPathError(
      `${root} cannot be created or is not writable (${(err as NodeJS.ErrnoException).code ?? 'error'}); fix its permissions or pick another path`,
      {
        cause: err,
      },
    );
  }
  for (const d of [dirs.tmp(root), dirs.index(root), dirs.snapshots(root), dirs.locks(root), dirs.data(root)])
    await mkdir(d, { recursive: true, mode: 0o700 });
  for (let i = 0; i < 256; i++) await mkdir(join(dirs.data(root), i.toString(16).padStart(2, '0')), { recursive: true, mode: 0o700 });
  await writeFileAtomic(join(root, 'config'), [sealJson(newConfig(opts.now ?? new Date()), opts.recipients)], dirs.tmp(root));
  // The marker last: a directory without it is not (yet) a repository.
  await writeFileAtomic(join(root, MARKER_FILE), [Buffer.from(MARKER_TEXT)], dirs.tmp(root));
  await fsyncDir(root);
}

export interface OpenOptions {
  identities: readonly string[];
  recipients: readonly string[];
  log?: Logger;
  /** Lock expiry (refreshed every third of it while held). */
  lockTtlMs?: number;
}

export async function openRepository(dir: string, opts: OpenOptions): Promise<Repository> {
  const root = resolve(dir);
  if (opts.identities.length === 0)
    throw new InvalidInputError('backup repository: an age identity (AGE-SECRET-KEY-1…) is needed to open it');
  checkKeys(opts.recipients, opts.identities);
  if (!(await isRepository(root)))
    throw new RepositoryPathError(`${root} is not a backup repository (no ${MARKER_FILE} marker); create one with init`);
  const configPath = join(root, 'config');
  const reader = new ShapeReader(`repository config ${configPath}`);
  const config = parseConfig(
    openJson(await readBounded(configPath, LIMITS.config, 'repository config'), opts.identities, reader),
    reader.file,
  );
  const log = opts.log ?? silentLogger();
  const ctx: RepoContext = {
    dir: root,
    identities: opts.identities,
    recipients: opts.recipients,
    opener: new AgePayloadOpener(opts.identities),
    config,
    chunker: createChunker(Buffer.from(config.chunker.seed, 'hex'), config.chunker),
    snapshots: new SnapshotStore(root, opts.identities, opts.recipients, log),
    log,
    lockOptions: { ttlMs: opts.lockTtlMs, log },
    index: new ChunkIndex(),
  };
  return new DirRepository(ctx);
}

class DirRepository implements Repository {
  constructor(private readonly ctx: RepoContext) {}

  get dir(): string {
    return this.ctx.dir;
  }

  secretToken(purpose: string): string {
    return createHmac('sha256', Buffer.from(this.ctx.config.chunker.seed, 'hex'))
      .update(`bzzz-backup token: ${purpose}`)
      .digest('hex')
      .slice(0, 32);
  }

  private async locked<T>(exclusive: boolean, op: string, fn: (lock: RepoLock) => Promise<T>): Promise<T> {
    const lock = await RepoLock.acquire(this.ctx.dir, exclusive, op, this.ctx.lockOptions as LockOptions);
    try {
      return await fn(lock);
    } finally {
      await lock.release();
    }
  }

  backup(sources: readonly BackupSource[], opts: BackupOptions): Promise<SnapshotSummary> {
    return this.locked(true, 'backup', (lock) => runBackup(this.ctx, sources, opts, lock));
  }

  snapshots(filter?: { cluster?: string }): Promise<SnapshotSummary[]> {
    return this.ctx.snapshots.list(filter?.cluster);
  }

  findSnapshot(idOrPrefix: string, cluster?: string): Promise<SnapshotSummary> {
    return this.ctx.snapshots.find(idOrPrefix, cluster);
  }

  verify(opts: VerifyOptions = {}): Promise<VerifyReport> {
    return this.locked(false, 'verify', () => runVerify(this.ctx, opts));
  }

  restore(snapshotId: string, targets: readonly RestoreTarget[], opts: RestoreOptions = {}): Promise<{ files: number; bytes: number }> {
    return this.locked(false, 'restore', async () => {
      const reader = new PackReader(this.ctx.dir, this.ctx.opener);
      try {
        return await runRestore(this.ctx, reader, snapshotId, targets, opts);
      } finally {
        await reader.close();
      }
    });
  }

  forget(
    policy: RetentionPolicy,
    opts: { cluster: string; dryRun?: boolean; now?: Date },
  ): Promise<{ kept: SnapshotSummary[]; removed: SnapshotSummary[] }> {
    return this.locked(true, 'forget', async (lock) => {
      const { keep, remove } = applyRetention(await this.ctx.snapshots.list(opts.cluster), policy, opts.now ?? new Date());
      if (!opts.dryRun) await lock.assertHeld();
      if (!opts.dryRun) for (const s of remove) await this.ctx.snapshots.remove(s.id);
      if (!opts.dryRun && remove.length > 0) await fsyncDir(dirs.snapshots(this.ctx.dir));
      return { kept: keep, removed: remove };
    });
  }

  prune(opts: PruneOptions = {}): Promise<{ packsRemoved: number; bytesFreed: number }> {
    return this.locked(true, 'prune', async (lock) => {
      const reader = new PackReader(this.ctx.dir, this.ctx.opener);
      try {
        return await runPrune(this.ctx, reader, opts, lock);
      } finally {
        await reader.close();
      }
    });
  }

  async close(): Promise<void> {
    this.ctx.index = new ChunkIndex();
  }
}
