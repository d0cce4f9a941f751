// bzzzctl backup: its verbs and help, and the refusals that come before any repository is
// touched — arguments that contradict each other, a cluster given twice or not at all, a spec
// without spec.backups, a repository directory that is not writable, an identity file that holds
// no age identity. Each is exit 1 with the flag, field or path named, and nothing written.
import { execFileSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { buildProgram, main } from '../../../src/cli/main.js';
import { onlyParts, readDataOption, restoreName, scheduleLines } from '../../../src/cli/commands/backup.js';
import type { BzzzCluster } from '../../../src/spec/types.js';
import { formatBytes, progressLine, progressReporter } from '../../../src/cli/backup-progress.js';
import { generateAgeIdentity } from '../../../src/crypto/age-stream.js';
import { COMPANIONS_OFF } from '../../support/specs.js';

let dir: string;
let err: string[];
let out: string[];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bkc-cli-'));
  out = [];
  err = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => {
    out.push(String(c));
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation((c: string | Uint8Array) => {
    err.push(String(c));
    return true;
  });
});

/** A directory this process cannot write: its mode for a user; immutable (chattr +i) for root, whom modes do not stop. */
async function lock(d: string): Promise<boolean> {
  if (process.getuid?.() !== 0) {
    await chmod(d, 0o500);
    return true;
  }
  try {
    execFileSync('chattr', ['+i', d], { stdio: 'ignore' });
  } catch {
    return false; // no chattr, or a filesystem without the immutable flag
  }
  locked.push(d);
  return true;
}
const locked: string[] = [];

afterEach(async () => {
  vi.restoreAllMocks();
  process.exitCode = undefined;
  for (const d of locked.splice(0)) execFileSync('chattr', ['-i', d]);
  await chmod(join(dir, 'locked'), 0o700).catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
});

function specFile(repository: string, backups = true): Promise<string> {
  const f = join(dir, 'lab.yaml');
  return writeFile(
    f,
    `apiVersion: bzzz.io/v2
kind: BzzzCluster
metadata: { name: bkc-lab }
spec:
  version: "1.0.0"
  secrets:
    backup_key: { file: ./backup_key }
  agent:
    instances: [{ name: a }]
${COMPANIONS_OFF}${backups ? `  backups:\n    repository: ${repository}\n    identitySecret: backup_key\n    schedule: "0 3 * * *"\n` : ''}`,
  ).then(() => f);
}

describe('argument parsing', () => {
  it.each([
    [{ readData: true }, true],
    [{ readDataSubset: '5%' }, { subsetPercent: 5 }],
    [{}, undefined],
  ])('readDataOption(%j) → %j', (o, want) => expect(readDataOption(o)).toEqual(want));

  it('refuses --read-data with --read-data-subset, and a subset that is no share', () => {
    expect(() => readDataOption({ readData: true, readDataSubset: '5%' })).toThrow(/pass one of the two/);
    expect(() => readDataOption({ readDataSubset: '150%' })).toThrow(/--read-data-subset "150%"/);
    expect(() => readDataOption({ readDataSubset: 'five' })).toThrow(/give a share above 0/);
  });

  it('--only names parts', () => {
    expect(onlyParts('swarm,postgres')).toEqual({ swarm: true, postgres: true, content: false });
    expect(onlyParts(undefined)).toBeUndefined();
    expect(() => onlyParts('swarm,files')).toThrow(/not a part: files/);
    expect(() => onlyParts(',')).toThrow(/--only/);
  });

  it('--as is a cluster name', () => {
    expect(restoreName(undefined, 'lab')).toBe('lab');
    expect(restoreName('lab-restored', 'lab')).toBe('lab-restored');
    expect(() => restoreName('Lab_2', 'lab')).toThrow(/--as "Lab_2"/);
  });
});

describe('bzzzctl backup', () => {
  it('has the six verbs with their help', () => {
    const backup = buildProgram().commands.find((c) => c.name() === 'backup');
    expect(backup?.commands.map((c) => c.name())).toEqual(['create', 'list', 'verify', 'restore', 'prune', 'drill']);
    const verify = backup?.commands.find((c) => c.name() === 'verify')?.helpInformation() ?? '';
    expect(verify).toMatch(/--read-data-subset <percent>/);
    expect(verify).toMatch(/-i, --identity <file>/);
    expect(backup?.commands.find((c) => c.name() === 'restore')?.helpInformation()).toMatch(/--only <parts>/);
    expect(backup?.commands.find((c) => c.name() === 'drill')?.helpInformation()).toMatch(/drill \[options\] <name>/);
  });

  it('exit 1 for contradicting flags, before anything is opened', async () => {
    expect(await main(['node', 'bzzzctl', 'backup', 'verify', 'lab', '--read-data', '--read-data-subset', '5%'])).toBe(1);
    expect(err.join('')).toMatch(/pass one of the two/);
    expect(await main(['node', 'bzzzctl', 'backup', 'restore', 'lab', '--only', 'everything'])).toBe(1);
    expect(await main(['node', 'bzzzctl', 'backup', 'list'])).toBe(1);
    expect(err.join('')).toMatch(/which cluster\?/);
  });

  it('exit 1 for a cluster given by name and -f, or a spec without spec.backups', async () => {
    const f = await specFile('/tmp/x', false);
    expect(await main(['node', 'bzzzctl', 'backup', 'list', 'lab', '-f', f])).toBe(1);
    expect(err.join('')).toMatch(/not both/);
    expect(await main(['node', 'bzzzctl', 'backup', 'list', '-f', f])).toBe(1);
    expect(err.join('')).toMatch(/has no spec\.backups/);
  });

  it('a repository that is not writable: exit 1 naming the field and the path, nothing written', async (ctx) => {
    const locked = join(dir, 'locked');
    await mkdir(locked);
    if (!(await lock(locked))) ctx.skip();
    const f = await specFile(join(locked, 'repo'));
    const key = join(dir, 'key');
    await writeFile(key, `${generateAgeIdentity().identity}\n`);
    expect(await main(['node', 'bzzzctl', 'backup', 'create', '-f', f, '-i', key])).toBe(1);
    expect(err.join('')).toMatch(new RegExp(`spec\\.backups\\.repository: ${locked} is not writable`));
    expect(await readdir(locked)).toEqual([]);
  });

  it('a repository whose parent does not exist: exit 1 naming the path; an identity that is no age key: exit 1 naming the file, not its content', async () => {
    const f = await specFile(join(dir, 'no', 'such', 'repo'));
    const key = join(dir, 'key');
    await writeFile(key, `${generateAgeIdentity().identity}\n`);
    expect(await main(['node', 'bzzzctl', 'backup', 'create', '-f', f, '-i', key])).toBe(1);
    expect(err.join('')).toMatch(/neither .*no\/such\/repo nor its parent .* exists/);
    err = [];
    const f2 = await specFile(join(dir, 'repo'));
    await writeFile(key, 'hunter2-not-a-key\n');
    expect(await main(['node', 'bzzzctl', 'backup', 'create', '-f', f2, '-i', key])).toBe(1);
    expect(err.join('')).toMatch(/holds no age identity/);
    expect(err.join('')).not.toMatch(/hunter2/);
    expect(await readdir(dir)).not.toContain('repo');
  });
});

describe('scheduleLines', () => {
  it('shows the next slots in the zone and the journal: running job, last outcomes with errors', () => {
    const cluster = {
      metadata: { name: 'lab' },
      spec: {
        backups: {
          repository: '/r',
          identitySecret: 'k',
          schedule: '0 3 * * *',
          timeZone: 'Europe/Berlin',
          drill: { schedule: '0 5 * * 0' },
        },
      },
    } as unknown as BzzzCluster;
    const lines = scheduleLines(
      cluster,
      {
        handled: {},
        running: { kind: 'backup', holder: 'node1/7', started: '2026-03-28T02:00:00.000Z', heartbeat: '2026-03-28T02:00:20.000Z' },
        last: {
          backup: { ok: true, started: 'x', finished: '2026-03-27T02:00:09.000Z', durationMs: 9000, snapshot: '0123456789abcdef0123' },
          verify: {
            ok: false,
            started: 'x',
            finished: '2026-03-27T02:00:12.000Z',
            durationMs: 3000,
            error: 'pack 3f: chunk 9a hash mismatch',
          },
        },
      },
      Date.parse('2026-03-28T12:00:00Z'),
    );
    expect(lines).toEqual([
      'schedule: backup "0 3 * * *" (Europe/Berlin), next 2026-03-29T01:00:00.000Z; drill "0 5 * * 0", next 2026-03-29T03:00:00.000Z',
      'running:  backup by node1/7 since 2026-03-28T02:00:00.000Z',
      'last backup  ok 2026-03-27T02:00:09.000Z (snapshot 0123456789abcdef)',
      'last verify  FAILED 2026-03-27T02:00:12.000Z: pack 3f: chunk 9a hash mismatch',
    ]);
  });
});

describe('progress', () => {
  it('JSON lines: counters, rate and ETA', () => {
    expect(
      progressLine({ op: 'backup', bytes: 50 * 1048576, totalBytes: 100 * 1048576, chunks: 40, newChunks: 10, files: 3 }, 2000),
    ).toEqual({
      type: 'progress',
      op: 'backup',
      bytes: 52428800,
      totalBytes: 104857600,
      chunks: 40,
      newChunks: 10,
      files: 3,
      bytesPerSecond: 26214400,
      etaSeconds: 2,
    });
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(12)).toBe('12 B');
  });

  it('a terminal gets a bar: op, bytes of the total, chunks, rate and ETA', () => {
    let text = '';
    const stream = {
      isTTY: true,
      columns: 160,
      write: (s: string) => {
        text += s;
        return true;
      },
      cursorTo: () => true,
      clearLine: () => true,
      moveCursor: () => true,
      on: () => stream,
      removeListener: () => stream,
    } as unknown as NodeJS.WriteStream;
    let t = 0;
    const r = progressReporter('text', { stream, now: () => t });
    t = 1000;
    r.listener({ op: 'backup', bytes: 512 * 1024, totalBytes: 1024 * 1024, chunks: 3, newChunks: 2, files: 1 });
    t = 2000;
    r.listener({ op: 'backup', bytes: 1024 * 1024, totalBytes: 1024 * 1024, chunks: 6, newChunks: 4, files: 2 });
    r.done();
    expect(text).toMatch(/backup\s+\|.*\| 100% 1\.0 MiB \/ 1\.0 MiB 6 chunks \(4 new\) 512\.0 KiB\/s ETA/);
  });

  it('-o json writes at most two lines a second, and the last one at the end', () => {
    let t = 0;
    const lines: string[] = [];
    const stream = { write: (s: string) => lines.push(s), isTTY: false } as unknown as NodeJS.WriteStream;
    const r = progressReporter('json', { stream, now: () => t });
    for (let i = 1; i <= 10; i++) {
      t += 100;
      r.listener({ op: 'verify', bytes: i, chunks: i, files: 0 });
    }
    r.done();
    expect(lines.map((l) => JSON.parse(l).bytes)).toEqual([1, 6, 10]);
  });
});
