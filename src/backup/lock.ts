// Repository locks: exclusive (backup, forget, prune) or shared (verify, restore). A lock is a
// small plaintext file in locks/ naming its holder (host/pid), when it was taken and when it
// expires; the holder refreshes it while it works. A lock is stale — and taken over — when its
// expiry has passed, or when its holder is on this host and its pid is gone (a SIGKILLed backup
// frees the repository at once, not after a timeout: restic#2736).
import { randomBytes } from 'node:crypto';
import { unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '../util/log.js';
import { BackupLockedError } from './errors.js';
import { listDir, readBounded, writeFileAtomic } from './files.js';
import { LIMITS, dirs } from './layout.js';
import { ShapeReader } from './shape.js';
import { processAlive } from '../util/process-alive.js';

export interface LockRecord {
  /** `host/pid`. */
  holder: string;
  host: string;
  pid: number;
  exclusive: boolean;
  /** What the holder does: backup, verify, … */
  op: string;
  time: string;
  expires: string;
}

export const DEFAULT_LOCK_TTL_MS = 120_000;

export function parseLock(bytes: Buffer, file: string): LockRecord {
  const r = new ShapeReader(file);
  const o = r.object(r.json(bytes), 'lock');
  const time = r.string(o.time, 'time', 64);
  const expires = r.string(o.expires, 'expires', 64);
  if (Number.isNaN(Date.parse(time)) || Number.isNaN(Date.parse(expires))) r.fail('time', 'or expires is not a date');
  if (typeof o.exclusive !== 'boolean') r.fail('exclusive', 'is not a boolean');
  return {
    holder: r.string(o.holder, 'holder', 300),
    host: r.string(o.host, 'host', 255),
    pid: r.int(o.pid, 'pid', 1, 2 ** 32),
    exclusive: o.exclusive as boolean,
    op: r.string(o.op, 'op', 64),
    time,
    expires,
  };
}

/** Why a lock may be taken over, or undefined while it holds. Pure: the caller supplies time, host and liveness. */
export function staleReason(lock: LockRecord, nowMs: number, thisHost: string, alive: (pid: number) => boolean): string | undefined {
  if (Date.parse(lock.expires) < nowMs) return `expired at ${lock.expires}`;
  if (lock.host === thisHost && !alive(lock.pid)) return `process ${lock.pid} on this host is gone`;
  return undefined;
}

/** Whether a lock held by someone else stops us taking ours. */
export function conflicts(wantExclusive: boolean, other: LockRecord): boolean {
  return wantExclusive || other.exclusive;
}

export interface LockOptions {
  ttlMs?: number;
  log?: Logger;
  now?: () => number;
}

export class RepoLock {
  private timer?: NodeJS.Timeout;
  private released = false;
  /** The refresh being written, if any: release waits for it, or its rename would bring the file back. */
  private refreshing: Promise<void> = Promise.resolve();

  private constructor(
    private readonly repo: string,
    readonly name: string,
    private record: LockRecord,
    private readonly ttlMs: number,
    private readonly now: () => number,
    private readonly log?: Logger,
  ) {}

  static async acquire(repo: string, exclusive: boolean, op: string, opts: LockOptions = {}): Promise<RepoLock> {
    const ttlMs = opts.ttlMs ?? DEFAULT_LOCK_TTL_MS;
    const now = opts.now ?? Date.now;
    const host = hostname();
    await checkOthers(repo, exclusive, host, now(), undefined, opts.log);
    const t = now();
    const record: LockRecord = {
      holder: `${host}/${process.pid}`,
      host,
      pid: process.pid,
      exclusive,
      op,
      time: new Date(t).toISOString(),
      expires: new Date(t + ttlMs).toISOString(),
    };
    const name = `${exclusive ? 'x' : 's'}-${randomBytes(8).toString('hex')}.json`;
    await writeFileAtomic(join(dirs.locks(repo), name), [Buffer.from(JSON.stringify(record))], dirs.tmp(repo));
    const lock = new RepoLock(repo, name, record, ttlMs, now, opts.log);
    // Two takers racing both wrote their file before looking: whoever sees the other backs off.
    try {
      await checkOthers(repo, exclusive, host, now(), name, opts.log);
    } catch (err) {
      await lock.release();
      throw err;
    }
    lock.timer = setInterval(
      () => {
        lock.refreshing = lock.refresh();
      },
      Math.max(1000, Math.floor(ttlMs / 3)),
    );
    lock.timer.unref();
    return lock;
  }

  private async refresh(): Promise<void> {
    if (this.released) return;
    this.record = { ...this.record, expires: new Date(this.now() + this.ttlMs).toISOString() };
    try {
      await writeFileAtomic(join(dirs.locks(this.repo), this.name), [Buffer.from(JSON.stringify(this.record))], dirs.tmp(this.repo));
    } catch (err) {
      this.log?.warn({ err: (err as Error).message }, 'backup repository lock refresh failed');
    }
  }

  /**
   * Throws unless our lock file is still there: a holder paused past its expiry (a suspended VM,
   * a stopped process) may have been taken over, and must not then write a snapshot or delete.
   */
  async assertHeld(): Promise<void> {
    const path = join(dirs.locks(this.repo), this.name);
    const still = await readBounded(path, LIMITS.lock, 'lock file')
      .then((b) => parseLock(b, path).holder === this.record.holder)
      .catch(() => false);
    if (!still)
      throw new BackupLockedError(
        `lost the lock on the backup repository ${this.repo} (taken over after it expired); nothing was committed, run the operation again`,
        this.record.holder,
        this.record.time,
        this.record.expires,
      );
  }

  async release(): Promise<void> {
    this.released = true;
    if (this.timer) clearInterval(this.timer);
    await this.refreshing;
    await unlink(join(dirs.locks(this.repo), this.name)).catch(() => undefined);
  }
}

async function checkOthers(
  repo: string,
  exclusive: boolean,
  host: string,
  nowMs: number,
  mine: string | undefined,
  log?: Logger,
): Promise<void> {
  for (const name of await listDir(dirs.locks(repo))) {
    if (name === mine || !name.endsWith('.json')) continue;
    const path = join(dirs.locks(repo), name);
    let lock: LockRecord;
    try {
      lock = parseLock(await readBounded(path, LIMITS.lock, 'lock file'), `lock file ${path}`);
    } catch (err) {
      // Gone meanwhile (released), or not a lock this program wrote (those are written atomically).
      if ((err as Error).message.includes('ENOENT')) continue;
      log?.warn({ file: path, err: (err as Error).message }, 'removing a malformed backup repository lock file');
      await unlink(path).catch(() => undefined);
      continue;
    }
    const stale = staleReason(lock, nowMs, host, processAlive);
    if (stale) {
      log?.info({ file: path, holder: lock.holder, reason: stale }, 'taking over a stale backup repository lock');
      await unlink(path).catch(() => undefined);
      continue;
    }
    if (conflicts(exclusive, lock))
      throw new BackupLockedError(
        `the backup repository ${repo} is locked (${lock.exclusive ? 'exclusive' : 'shared'}, ${lock.op}) by ${lock.holder} since ${lock.time}, until ${lock.expires} unless refreshed; wait for it to finish, or remove ${path} if that process is gone on another host`,
        lock.holder,
        lock.time,
        lock.expires,
      );
  }
}
