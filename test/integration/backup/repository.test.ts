// The backup repository on disk, end to end, with the real `age` CLI: a pack is a standard age
// file; a flipped byte is found and named; a backup SIGKILLed at several points leaves a
// repository that verifies and a lock the next backup takes over; restore is byte for byte;
// forget + prune free space and keep verify clean. No Docker.
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BackupAbortedError,
  type Repository,
  directorySource,
  directoryTarget,
  initRepository,
  isRepository,
  openRepository,
} from '../../../src/backup/index.js';
import { decodeTrailer } from '../../../src/backup/pack-format.js';
import type { BackupSource, Progress } from '../../../src/backup/types.js';
import { generateAgeIdentity } from '../../../src/crypto/age-stream.js';
import { hashBytes } from '../../../src/crypto/blake3.js';

const run = promisify(execFile);
const MiB = 1024 * 1024;
const key = generateAgeIdentity();
const stranger = generateAgeIdentity();
let base: string;
let keyJson: string;
let childBundle: string;

async function files(dir: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(d: string) {
    for (const e of await readdir(d, { withFileTypes: true })) {
      if (e.isDirectory()) await walk(join(d, e.name));
      else out.push(relative(dir, join(d, e.name)));
    }
  }
  await walk(dir);
  return out.sort();
}

/** Every file under `dir`: path → BLAKE3, mode and mtime. */
async function tree(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const f of await files(dir)) {
    const st = await stat(join(dir, f));
    out[f] = `${hashBytes(await readFile(join(dir, f)))} ${(st.mode & 0o777).toString(8)} ${Math.round(st.mtimeMs)}`;
  }
  return out;
}

async function makeData(dir: string, mib: number): Promise<void> {
  await mkdir(join(dir, 'sub', 'deeper'), { recursive: true });
  const big = randomBytes(mib * MiB);
  const third = Math.floor(big.length / 3);
  await writeFile(join(dir, 'a.bin'), big.subarray(0, third));
  await writeFile(join(dir, 'sub', 'b.bin'), big.subarray(third, 2 * third));
  await writeFile(join(dir, 'sub', 'deeper', 'c.bin'), big.subarray(2 * third));
  // A duplicate region: stored once.
  await writeFile(join(dir, 'sub', 'copy-of-a.bin'), big.subarray(0, third));
  await writeFile(join(dir, 'empty'), '');
  await writeFile(join(dir, 'small.txt'), 'hello\n');
  await chmod(join(dir, 'small.txt'), 0o640);
  await utimes(join(dir, 'small.txt'), new Date('2020-02-02T02:02:02Z'), new Date('2020-02-02T02:02:02Z'));
}

async function newRepo(name: string): Promise<Repository> {
  const dir = join(base, name);
  await initRepository(dir, { recipients: [key.recipient] });
  return openRepository(dir, { identities: [key.identity], recipients: [key.recipient] });
}

async function packsOf(repoDir: string): Promise<string[]> {
  return (await files(join(repoDir, 'data'))).map((f) => join(repoDir, 'data', f));
}

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'bka-repo-'));
  keyJson = join(base, 'key.json');
  await writeFile(join(base, 'key.txt'), `${key.identity}\n`, { mode: 0o600 });
  await writeFile(join(base, 'stranger.txt'), `${stranger.identity}\n`, { mode: 0o600 });
  await writeFile(keyJson, JSON.stringify(key), { mode: 0o600 });
  childBundle = join(base, 'backup-child.mjs');
  await build({
    entryPoints: [join(import.meta.dirname, 'backup-child.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    outfile: childBundle,
    logLevel: 'warning',
  });
  // The bundle imports packages from the project's node_modules.
  await run('ln', ['-s', join(import.meta.dirname, '../../../node_modules'), join(base, 'node_modules')]);
});

afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

describe('backup repository', () => {
  it('init refuses a non-empty directory that is not a repository, and a repository twice', async () => {
    const dir = join(base, 'not-empty');
    await mkdir(dir);
    await writeFile(join(dir, 'precious.txt'), 'x');
    await expect(initRepository(dir, { recipients: [key.recipient] })).rejects.toThrow(`${dir} is not empty and not a backup repository`);
    expect(await readdir(dir)).toEqual(['precious.txt']);
    await expect(initRepository(join(base, 'bad-recipient'), { recipients: ['age1nope'] })).rejects.toThrow(
      /recipient 1: not an age X25519 recipient/,
    );
    const repo = await newRepo('twice');
    expect(await isRepository(repo.dir)).toBe(true);
    await expect(initRepository(repo.dir, { recipients: [key.recipient] })).rejects.toThrow(/already a backup repository/);
    await expect(openRepository(dir, { identities: [key.identity], recipients: [key.recipient] })).rejects.toThrow(
      /not a backup repository/,
    );
    await expect(openRepository(repo.dir, { identities: [stranger.identity], recipients: [key.recipient] })).rejects.toThrow(
      /repository config .*not encrypted to any of the identities given/,
    );
  });

  it('restores byte for byte; a second backup reads no unchanged file and adds nothing', async () => {
    const src = join(base, 'rt-src');
    await makeData(src, 12);
    const repo = await newRepo('rt-repo');
    const seen: Progress[] = [];
    const first = await repo.backup([directorySource('files', src)], {
      cluster: 'c1',
      reason: 'manual',
      tags: { by: 'test' },
      onProgress: (p) => seen.push(p),
    });
    expect(first.files).toBe(6);
    expect(first.tags).toEqual({ by: 'test' });
    // The last report is the whole run: every byte and file, new chunks fewer than chunks (the copy).
    const last = seen.at(-1) as Progress;
    expect(last).toMatchObject({ op: 'backup', bytes: first.bytes, files: 6 });
    expect(last.newChunks).toBeLessThan(last.chunks);
    // The duplicated third is stored once.
    expect(first.addedBytes).toBeLessThan(first.bytes - 3 * MiB);
    let opened = 0;
    const inner = directorySource('files', src);
    const counting: BackupSource = {
      part: 'files',
      async *entries(signal) {
        for await (const e of inner.entries(signal)) {
          const open = e.open;
          yield open ? { ...e, open: () => (opened++, open()) } : e;
        }
      },
    };
    await writeFile(join(src, 'sub', 'new.txt'), 'a new file\n');
    const second = await repo.backup([counting], { cluster: 'c1', reason: 'manual' });
    expect(opened).toBe(1);
    expect(second.addedBytes).toBe(11);
    const out = join(base, 'rt-out');
    const restoring: Progress[] = [];
    const restored = await repo.restore(second.id.slice(0, 10), [directoryTarget('files', out)], { onProgress: (p) => restoring.push(p) });
    expect(restored).toEqual({ files: 7, bytes: second.bytes });
    expect(restoring.at(-1)).toMatchObject({ op: 'restore', bytes: second.bytes, totalBytes: second.bytes, files: 7 });
    expect(await tree(out)).toEqual(await tree(src));
    expect(await repo.snapshots({ cluster: 'c1' })).toHaveLength(2);
    expect((await repo.findSnapshot('latest', 'c1')).id).toBe(second.id);
    await expect(repo.findSnapshot('latest', 'nope')).rejects.toThrow(/no snapshot of cluster nope/);
    await expect(repo.findSnapshot('0123456789abcdef')).rejects.toThrow(/no snapshot has an id starting with 0123456789abcdef/);
    await expect(repo.findSnapshot('../x')).rejects.toThrow(/is not hex; give an id, a prefix of one, or latest/);
    await expect(repo.restore(first.id, [directoryTarget('other', out)])).rejects.toThrow(/no restore target for part files/);
    // A damaged manifest is left out of the list (verify names it), and backups go on.
    await writeFile(join(repo.dir, 'snapshots', first.id), 'garbage');
    const again = await openRepository(repo.dir, { identities: [key.identity], recipients: [key.recipient] });
    expect((await again.snapshots()).map((s) => s.id)).toEqual([second.id]);
    expect((await again.verify()).problems).toEqual([
      expect.stringMatching(new RegExp(`^snapshot ${first.id.slice(0, 16)}: snapshot manifest .*${first.id} does not match its name`)),
    ]);
    await again.backup([directorySource('files', src)], { cluster: 'c1', reason: 'manual' });
  });

  it('writes packs the real age CLI decrypts with the key, and not with another', async () => {
    const src = join(base, 'age-src');
    await makeData(src, 3);
    const repo = await newRepo('age-repo');
    await repo.backup([directorySource('files', src)], { cluster: 'c', reason: 'manual' });
    const packs = await packsOf(repo.dir);
    expect(packs.length).toBeGreaterThan(0);
    for (const pack of packs) {
      // The name is the BLAKE3 of the file: checkable without any key.
      expect(hashBytes(await readFile(pack))).toBe(`blake3:${pack.split('/').at(-1)}`);
      const { stdout } = await run('age', ['-d', '-i', join(base, 'key.txt'), pack], { encoding: 'buffer', maxBuffer: 64 * MiB });
      const chunks = decodeTrailer(stdout);
      if (typeof chunks === 'string') throw new Error(chunks);
      for (const c of chunks) expect(hashBytes(stdout.subarray(c.offset, c.offset + c.length))).toBe(`blake3:${c.id}`);
      await expect(run('age', ['-d', '-i', join(base, 'stranger.txt'), pack], { encoding: 'buffer', maxBuffer: 64 * MiB })).rejects.toThrow(
        /no identity matched any of the recipients/,
      );
    }
    // Index files and manifests are age files too.
    for (const f of await readdir(join(repo.dir, 'snapshots'))) {
      const { stdout } = await run('age', ['-d', '-i', join(base, 'key.txt'), join(repo.dir, 'snapshots', f)]);
      expect(JSON.parse(stdout).cluster).toBe('c');
    }
  });

  it('finds a byte flipped in a pack on disk and names the pack and the chunk', async () => {
    const src = join(base, 'flip-src');
    await makeData(src, 6);
    const repo = await newRepo('flip-repo');
    await repo.backup([directorySource('files', src)], { cluster: 'c', reason: 'manual' });
    expect((await repo.verify({ readData: true })).ok).toBe(true);
    const [pack] = await packsOf(repo.dir);
    const bytes = await readFile(pack as string);
    const at = Math.floor(bytes.length / 2);
    bytes[at] = (bytes[at] as number) ^ 0x01;
    await writeFile(pack as string, bytes);
    const id = (pack as string).split('/').at(-1) as string;
    // Without the data read, the size still matches; hashing the packs against their names finds it (no key needed).
    expect((await repo.verify()).ok).toBe(true);
    expect((await repo.verify({ checkPackNames: true })).problems).toEqual([
      `pack ${id}: its bytes do not hash to its name (altered on disk)`,
    ]);
    const report = await repo.verify({ readData: true });
    expect(report.ok).toBe(false);
    expect(report.packsChecked).toBe(report.packsTotal);
    expect(report.problems).toContainEqual(`pack ${id}: its bytes do not hash to its name (altered on disk)`);
    const damaged = report.problems.filter((p) =>
      new RegExp(`^pack ${id}: chunk [0-9a-f]{64} \\(offset \\d+, \\d+ bytes\\) is damaged$`).test(p),
    );
    // One 64 KiB segment is hit: one chunk (two when the segment straddles a cut).
    expect(damaged.length).toBeGreaterThanOrEqual(1);
    expect(damaged.length).toBeLessThanOrEqual(2);
    // The subset check reads some packs only; the corruption is found when that pack is among them.
    const subset = await repo.verify({ readData: { subsetPercent: 100 } });
    expect(subset.problems).toEqual(report.problems);
    // Restore refuses the damaged data, naming pack and chunk.
    await expect(repo.restore('latest', [directoryTarget('files', join(base, 'flip-out'))])).rejects.toThrow(
      new RegExp(`pack ${id}: chunk [0-9a-f]{64}`),
    );
  });

  it('stays consistent when a backup is SIGKILLed at several points; the next backup takes over the lock', async () => {
    const src = join(base, 'kill-src');
    await makeData(src, 48);
    const repo = await newRepo('kill-repo');
    /** Runs the backup child and SIGKILLs it once it has read `point` bytes (0: as it starts). */
    const killAt = async (point: number) => {
      const child = spawn(process.execPath, [childBundle, repo.dir, src, keyJson], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
      });
      const exit = new Promise<NodeJS.Signals | number | null>((res) => child.on('exit', (code, sig) => res(sig ?? code)));
      let buffered = '';
      child.stdout.on('data', (d: Buffer) => {
        buffered += d.toString();
        const lines = buffered.split('\n');
        buffered = lines.pop() ?? '';
        for (const line of lines) {
          const reached = point === 0 ? line === 'started' : line.startsWith('read ') && Number(line.slice(5)) >= point;
          if (reached) child.kill('SIGKILL');
        }
      });
      expect(await exit, `child killed at ${point}: ${stderr}`).toBe('SIGKILL');
      // Killed while reading its data, it held the exclusive lock: the file stays behind.
      if (point > 0) expect(await readdir(join(repo.dir, 'locks'))).toHaveLength(1);
    };
    for (const point of [0, 6 * MiB, 20 * MiB, 40 * MiB, 52 * MiB]) {
      await killAt(point);
      // verify takes its shared lock over the dead holder's exclusive one.
      expect((await repo.verify({ readData: true })).problems).toEqual([]);
      expect(await repo.snapshots()).toEqual([]);
    }
    // Packs of the killed runs are on disk (not indexed: harmless).
    expect((await packsOf(repo.dir)).length).toBeGreaterThan(0);
    // One more killed run leaves its lock; the next backup takes it over, runs to the end, and
    // restores what was backed up.
    await killAt(30 * MiB);
    const done = await repo.backup([directorySource('files', src)], { cluster: 'crash', reason: 'after' });
    expect(await readdir(join(repo.dir, 'locks'))).toEqual([]);
    expect((await repo.verify({ readData: true })).ok).toBe(true);
    await repo.restore(done.id, [directoryTarget('files', join(base, 'kill-out'))]);
    expect(await tree(join(base, 'kill-out'))).toEqual(await tree(src));
    // Leftovers of the killed runs (unindexed packs, tmp files) go with prune.
    const before = (await packsOf(repo.dir)).length;
    await repo.prune();
    expect((await packsOf(repo.dir)).length).toBeLessThanOrEqual(before);
    expect(await readdir(join(repo.dir, 'tmp'))).toEqual([]);
    expect((await repo.verify({ readData: true })).ok).toBe(true);
  });

  it('stops an aborted backup with a clear error and leaves the repository consistent', async () => {
    const src = join(base, 'abort-src');
    await makeData(src, 24);
    const repo = await newRepo('abort-repo');
    const ac = new AbortController();
    const inner = directorySource('files', src);
    // Aborted once the first 8 MiB file has been handed over (mid-run, packs already written).
    const aborting: BackupSource = {
      part: 'files',
      async *entries(signal) {
        for await (const e of inner.entries(signal)) {
          yield e;
          if (e.path === 'a.bin') ac.abort();
        }
      },
    };
    await expect(repo.backup([aborting], { cluster: 'a', reason: 'manual', signal: ac.signal })).rejects.toThrow(BackupAbortedError);
    expect(await repo.snapshots()).toEqual([]);
    expect(await readdir(join(repo.dir, 'locks'))).toEqual([]);
    expect((await repo.verify({ readData: true })).problems).toEqual([]);
  });

  it('forget + prune free space and keep verify clean', async () => {
    const src = join(base, 'prune-src');
    await makeData(src, 6);
    const repo = await newRepo('prune-repo');
    const t0 = Date.parse('2026-01-01T00:00:00Z');
    for (let i = 0; i < 3; i++) {
      await writeFile(join(src, `gen-${i}.bin`), randomBytes(2 * MiB));
      if (i > 0) await rm(join(src, `gen-${i - 1}.bin`));
      await repo.backup([directorySource('files', src)], { cluster: 'p', reason: 'schedule', now: new Date(t0 + i * 86_400_000) });
    }
    // Another cluster's snapshot is not touched by forget for `p`.
    await repo.backup([directorySource('files', join(src, 'sub'))], { cluster: 'q', reason: 'schedule' });
    const du = async () => (await Promise.all((await packsOf(repo.dir)).map((p) => stat(p)))).reduce((n, s) => n + s.size, 0);
    const dry = await repo.forget({ keepLast: 1 }, { cluster: 'p', dryRun: true });
    expect(dry.removed).toHaveLength(2);
    expect(await repo.snapshots({ cluster: 'p' })).toHaveLength(3);
    const sizeBefore = await du();
    const { kept, removed } = await repo.forget({ keepLast: 1 }, { cluster: 'p' });
    expect(kept).toHaveLength(1);
    expect(removed).toHaveLength(2);
    expect(await repo.snapshots({ cluster: 'q' })).toHaveLength(1);
    const pruned = await repo.prune();
    expect(pruned.packsRemoved).toBeGreaterThan(0);
    expect(pruned.bytesFreed).toBeGreaterThan(3 * MiB);
    expect(await du()).toBeLessThan(sizeBefore - 3 * MiB);
    const report = await repo.verify({ readData: true });
    expect(report.problems).toEqual([]);
    await repo.restore(kept[0]?.id as string, [directoryTarget('files', join(base, 'prune-out'))]);
    expect(await tree(join(base, 'prune-out'))).toEqual(await tree(src));
  });
});
