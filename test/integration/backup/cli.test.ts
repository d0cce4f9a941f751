// `bzzzctl backup` on a live cluster (two agents with content, PostgreSQL 15 with rows written
// through psql), end to end through the real repository on disk: create, list, a dropped table
// restored row for row, a backup SIGKILLed mid-run followed by one that completes, and a byte
// flipped in a pack found and named by verify --read-data. The cluster is deployed without the
// swarm's lease (cluster.ts): the integration suite beside this one owns it.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, cleanup, cli, ROOT, uniqueName } from '../harness.js';
import { clusterSpec, deploy, exec, sql } from './cluster.js';
import { generateAgeIdentity } from '../../../src/crypto/age-stream.js';
import { agentServiceName } from '../../../src/spec/index.js';

const name = uniqueName('bke-cli');
const dir = mkdtempSync(join(tmpdir(), 'bke-'));
const repository = join(dir, 'repo');
const keyFile = join(dir, 'backup_key');
const ROWS = 5000;

interface Snap {
  id: string;
  parts: string[];
  bytes: number;
  addedBytes: number;
}

function specWithBackups(): string {
  return clusterSpec(name)
    .replace('  secrets:\n', `  secrets:\n    backup_key:\n      file: ${keyFile}\n`)
    .concat(`  backups:\n    repository: ${repository}\n    identitySecret: backup_key\n    schedule: "0 3 * * *"\n`);
}

/** Rows of `notes` in a stable order, hashed: what "row for row" compares. */
const fingerprint = async () =>
  (await sql(name, 'bzzz_v2', "SELECT count(*) || ' ' || md5(string_agg(id || ':' || body, ',' ORDER BY id)) FROM notes")).trim();

async function snapshots(): Promise<Snap[]> {
  const r = await cli(['backup', 'list', name, '-i', keyFile, '-o', 'json']);
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { snapshots: Snap[] }).snapshots;
}

function packFiles(): string[] {
  const data = join(repository, 'data');
  return readdirSync(data).flatMap((d) => readdirSync(join(data, d)).map((f) => join(data, d, f)));
}

beforeAll(async () => {
  mkdirSync(repository);
  writeFileSync(keyFile, `${generateAgeIdentity().identity}\n`, { mode: 0o600 });
  await deploy(name, specWithBackups());
  await sql(
    name,
    'bzzz_v2',
    `CREATE TABLE notes (id int PRIMARY KEY, body text); INSERT INTO notes SELECT g, md5(g::text) || repeat('x', 200) FROM generate_series(1, ${ROWS}) g;`,
  );
  const h = await exec.execInService(agentServiceName(name, 'a1'), {
    cmd: [
      'sh',
      '-c',
      'd=/data/store/blobs/0a/bc; mkdir -p $d; for i in 1 2 3 4; do head -c 300000 /dev/urandom > $d/0abc$(printf %060d $i); done',
    ],
  });
  await h.done;
}, 300_000);

afterAll(async () => {
  await cleanup(name);
}, 180_000);

describe('bzzzctl backup on a live cluster', () => {
  it('create stores the swarm, PostgreSQL and content parts, verified; a second backup adds little', async () => {
    const first = await cli(['backup', 'create', name, '-i', keyFile, '-o', 'json']);
    expect(first.code, first.stderr).toBe(0);
    const doc = JSON.parse(first.stdout) as { ok: boolean; steps: Array<{ kind: string; ok: boolean }> };
    expect(doc.ok).toBe(true);
    expect(doc.steps.map((s) => [s.kind, s.ok])).toEqual([
      ['backup', true],
      ['verify', true],
    ]);
    // -o json: progress as JSON lines on stderr, stdout one document.
    const progress = first.stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { op?: string; bytes?: number });
    expect(progress.some((p) => p.op === 'backup' && (p.bytes ?? 0) > ROWS * 200)).toBe(true);

    const second = await cli(['backup', 'create', name, '-i', keyFile]);
    expect(second.code, second.stderr).toBe(0);
    const [a, b] = await snapshots();
    expect(a.parts).toEqual(['swarm', 'postgres', 'content']);
    expect(b.parts).toEqual(a.parts);
    expect(a.bytes).toBeGreaterThan(ROWS * 200 + 4 * 300_000);
    // Unchanged data is stored once: the second snapshot adds a small part of what it holds.
    expect(b.addedBytes).toBeLessThan(b.bytes / 4);
    // The repository is age files only: no plaintext row of the table anywhere in it.
    for (const f of packFiles()) expect(readFileSync(f).includes(Buffer.from('xxxxxxxxxxxxxxxxxxxx'))).toBe(false);
  });

  it('restore --only postgres brings a dropped table back row for row', async () => {
    const before = await fingerprint();
    expect(before).toMatch(new RegExp(`^${ROWS} [0-9a-f]{32}$`));
    await sql(name, 'bzzz_v2', 'DROP TABLE notes');
    const r = await cli(['backup', 'restore', name, '--only', 'postgres', '-i', keyFile]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`restored into ${name} (postgres)`);
    expect(await fingerprint()).toBe(before);
  });

  it('a backup SIGKILLed mid-run leaves the repository whole; the next one takes over at once and completes', async () => {
    const count = (await snapshots()).length;
    await sql(name, 'bzzz_v2', `INSERT INTO notes SELECT g, md5(g::text) FROM generate_series(${ROWS + 1}, ${ROWS + 20000}) g`);
    const child = spawn(process.execPath, [BIN, 'backup', 'create', name, '-i', keyFile, '-o', 'json'], { cwd: ROOT });
    const killedAt = await new Promise<string>((res, rej) => {
      let buf = '';
      child.stderr.on('data', (d: Buffer) => {
        buf += d.toString();
        // The first progress line: the backup has started reading the cluster's parts.
        const line = buf.split('\n').find((l) => l.includes('"op":"backup"'));
        if (line) {
          child.kill('SIGKILL');
          res(line);
        }
      });
      child.on('exit', () => rej(new Error(`the backup ended before it was killed: ${buf.slice(-500)}`)));
    });
    expect(killedAt).toContain('"op":"backup"');
    await new Promise((r) => child.once('close', r));
    expect((await snapshots()).length).toBe(count);

    const verify = await cli(['backup', 'verify', name, '--read-data', '-i', keyFile]);
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
    const next = await cli(['backup', 'create', name, '-i', keyFile]);
    expect(next.code, next.stderr).toBe(0);
    expect((await snapshots()).length).toBe(count + 1);
  });

  it('verify --read-data finds a byte flipped in a pack and names it (exit 2)', async () => {
    const pack = packFiles().sort((x, y) => statSync(y).size - statSync(x).size)[0] as string;
    const bytes = readFileSync(pack);
    const at = Math.floor(bytes.length / 2);
    bytes[at] = (bytes[at] as number) ^ 0x01;
    writeFileSync(pack, bytes);
    const structural = await cli(['backup', 'verify', name, '-i', keyFile]);
    expect(structural.code).toBe(0); // sizes and names only: the damage is in the data
    const r = await cli(['backup', 'verify', name, '--read-data', '-i', keyFile]);
    expect(r.code).toBe(2);
    expect(r.stdout).toContain('PROBLEMS FOUND');
    expect(r.stdout).toContain(pack.split('/').at(-1)?.slice(0, 16));
  });

  it('refuses a repository whose mount point is not there, naming it and the field, writing nothing', async () => {
    const gone = join(dir, 'nfs-not-mounted', 'bzzz');
    const spec = join(dir, 'other.yaml');
    writeFileSync(spec, specWithBackups().replace(`repository: ${repository}`, `repository: ${gone}`));
    const r = await cli(['backup', 'create', '-f', spec, '-i', keyFile]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(gone);
    expect(r.stderr).toContain('spec.backups.repository');
    expect(() => statSync(gone)).toThrow();
  });
});
