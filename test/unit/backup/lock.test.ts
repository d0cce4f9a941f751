import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BackupLockedError } from '../../../src/backup/errors.js';
import { type LockRecord, RepoLock, conflicts, staleReason } from '../../../src/backup/lock.js';

const now = Date.parse('2026-05-01T12:00:00Z');
function lock(over: Partial<LockRecord> = {}): LockRecord {
  return {
    holder: 'other-host/42',
    host: 'other-host',
    pid: 42,
    exclusive: true,
    op: 'backup',
    time: new Date(now - 60_000).toISOString(),
    expires: new Date(now + 60_000).toISOString(),
    ...over,
  };
}

describe('lock takeover rules', () => {
  const rows: [string, LockRecord, boolean, RegExp | undefined][] = [
    ['another host, not expired: holds', lock(), true, undefined],
    ['another host, expired: stale', lock({ expires: new Date(now - 1).toISOString() }), true, /expired at/],
    ['this host, live pid: holds', lock({ host: 'me' }), true, undefined],
    ['this host, dead pid: stale at once, before expiry', lock({ host: 'me' }), false, /process 42 on this host is gone/],
    ['another host, dead-looking pid: holds (the pid is not ours to check)', lock(), false, undefined],
  ];
  for (const [name, l, alive, reason] of rows) {
    it(name, () => {
      const got = staleReason(l, now, 'me', () => alive);
      if (reason) expect(got).toMatch(reason);
      else expect(got).toBeUndefined();
    });
  }

  it('shared locks coexist; exclusive conflicts with anything', () => {
    expect(conflicts(false, lock({ exclusive: false }))).toBe(false);
    expect(conflicts(false, lock({ exclusive: true }))).toBe(true);
    expect(conflicts(true, lock({ exclusive: false }))).toBe(true);
  });
});

describe('RepoLock on disk', () => {
  let repo: string;
  beforeEach(async () => {
    repo = await mkdtemp(join(tmpdir(), 'bka-lock-'));
    await mkdir(join(repo, 'locks'));
    await mkdir(join(repo, 'tmp'));
  });
  afterEach(() => rm(repo, { recursive: true, force: true }));

  const put = (name: string, l: LockRecord) => writeFile(join(repo, 'locks', name), JSON.stringify(l));

  it('refuses while another live holder has it, naming holder and expiry', async () => {
    const held = lock({ host: 'far-away', holder: 'far-away/77', expires: new Date(Date.now() + 60_000).toISOString() });
    await put('x-other.json', held);
    const err = await RepoLock.acquire(repo, false, 'verify').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackupLockedError);
    expect((err as BackupLockedError).holder).toBe('far-away/77');
    expect((err as BackupLockedError).expires).toBe(held.expires);
    expect((err as Error).message).toContain('far-away/77');
    expect((err as Error).message).toContain(held.expires);
    // Nothing of ours left behind.
    expect(await readdir(join(repo, 'locks'))).toEqual(['x-other.json']);
  });

  it('takes over a lock whose holder on this host is dead, and one that expired', async () => {
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
    await put(
      'x-dead.json',
      lock({
        host: hostname(),
        holder: `${hostname()}/${dead}`,
        pid: Number(dead),
        expires: new Date(Date.now() + 3_600_000).toISOString(),
      }),
    );
    await put('x-old.json', lock({ expires: new Date(Date.now() - 1000).toISOString() }));
    const l = await RepoLock.acquire(repo, true, 'backup');
    expect(await readdir(join(repo, 'locks'))).toEqual([l.name]);
    await l.release();
    expect(await readdir(join(repo, 'locks'))).toEqual([]);
  });

  it('lets shared holders share and keeps an exclusive taker out', async () => {
    const a = await RepoLock.acquire(repo, false, 'verify');
    const b = await RepoLock.acquire(repo, false, 'restore');
    await expect(RepoLock.acquire(repo, true, 'prune')).rejects.toThrow(BackupLockedError);
    await a.release();
    await b.release();
    const c = await RepoLock.acquire(repo, true, 'prune');
    await expect(RepoLock.acquire(repo, false, 'verify')).rejects.toThrow(/exclusive, prune/);
    await c.release();
  });

  it('refreshes its expiry while held', async () => {
    const l = await RepoLock.acquire(repo, true, 'backup', { ttlMs: 3000 });
    const read = async () => JSON.parse(await readFile(join(repo, 'locks', l.name), 'utf8')) as LockRecord;
    const first = await read();
    await new Promise((r) => setTimeout(r, 1300));
    const later = await read();
    expect(Date.parse(later.expires)).toBeGreaterThan(Date.parse(first.expires));
    expect(later.time).toBe(first.time);
    await l.release();
    expect(await readdir(join(repo, 'locks'))).toEqual([]);
  });

  it('knows when its lock was taken over, so nothing is committed after that', async () => {
    const l = await RepoLock.acquire(repo, true, 'backup');
    await l.assertHeld();
    await rm(join(repo, 'locks', l.name));
    await expect(l.assertHeld()).rejects.toThrow(/lost the lock on the backup repository .*nothing was committed/);
    await l.release();
  });

  it('removes a malformed lock file instead of staying locked by it', async () => {
    await writeFile(join(repo, 'locks', 'x-junk.json'), '{"holder":');
    const l = await RepoLock.acquire(repo, true, 'backup');
    expect(await readdir(join(repo, 'locks'))).toEqual([l.name]);
    await l.release();
  });
});
