// The `postgres` part against PostgreSQL 15 in the swarm: dump every database with the source,
// drop a table, pipe the entries straight into the target of the same cluster (no repository),
// and find every row back; a failing restore says what failed.
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, uniqueName } from '../harness.js';
import { deploy, exec, restoreFrom, snapshotOf, sql } from './cluster.js';
import { postgresSource, postgresTarget } from '../../../src/ops/backup-postgres.js';

const name = uniqueName('bkb-pg');

const ROWS = `SELECT id, note, at FROM decisions ORDER BY id`;

beforeAll(async () => {
  await deploy(name);
  await sql(
    name,
    'bzzz_v2',
    `CREATE TABLE decisions (id serial PRIMARY KEY, note text NOT NULL, at timestamptz DEFAULT now());
    INSERT INTO decisions (note) SELECT 'decision ' || g || E' with \\t tab, ''quote'' and ünïcode' FROM generate_series(1, 500) g;
    CREATE TABLE peers (peer text PRIMARY KEY, score real); INSERT INTO peers VALUES ('a', 1.5), ('b', NULL);`,
  );
  await sql(name, 'postgres', 'CREATE DATABASE audit');
  await sql(name, 'audit', `CREATE TABLE log (line text); INSERT INTO log VALUES ('one'), ('two')`);
}, 300_000);
afterAll(async () => {
  await cleanup(name);
}, 120_000);

describe('postgres part', () => {
  it('dumps one plain SQL entry per database and restores every row after a table was dropped', async () => {
    const before = await sql(name, 'bzzz_v2', ROWS);
    const peers = await sql(name, 'bzzz_v2', 'SELECT * FROM peers ORDER BY peer');
    // Dump first (into memory, as the repository would store it), then break the database.
    const dumps = (await snapshotOf([postgresSource({ exec, cluster: name })])).get('postgres')!;
    expect([...dumps.keys()]).toEqual(['audit.sql', 'bzzz_v2.sql']);
    expect(dumps.get('bzzz_v2.sql')!.toString()).toContain('CREATE TABLE public.decisions');
    await sql(name, 'bzzz_v2', 'DROP TABLE decisions');
    await sql(name, 'audit', `INSERT INTO log VALUES ('written after the backup')`);
    await restoreFrom(new Map([['postgres', dumps]]))([postgresTarget({ exec, cluster: name })]);
    expect(await sql(name, 'bzzz_v2', ROWS)).toBe(before);
    expect((await sql(name, 'bzzz_v2', ROWS)).split('\n').filter(Boolean)).toHaveLength(500);
    expect(await sql(name, 'bzzz_v2', 'SELECT * FROM peers ORDER BY peer')).toBe(peers);
    // The database was recreated from the dump: what was written after it is gone.
    expect(await sql(name, 'audit', 'SELECT line FROM log ORDER BY line')).toBe('one\ntwo\n');
    // The sequence went on where it was.
    expect(await sql(name, 'bzzz_v2', `INSERT INTO decisions (note) VALUES ('next') RETURNING id`)).toBe('501\n');
  });

  it('the source piped straight into the target round-trips', async () => {
    const before = await sql(name, 'bzzz_v2', ROWS);
    // Each entry read whole before it is written: the target recreates the database the dump reads from.
    const snap = await snapshotOf([postgresSource({ exec, cluster: name })]);
    expect([...snap.get('postgres')!.keys()]).toEqual(['audit.sql', 'bzzz_v2.sql']);
    await restoreFrom(snap)([postgresTarget({ exec, cluster: name })]);
    expect(await sql(name, 'bzzz_v2', ROWS)).toBe(before);
  });

  it('a dump that does not apply, or a stream that breaks, leaves the database as it was', async () => {
    const target = postgresTarget({ exec, cluster: name });
    const signal = new AbortController().signal;
    const before = await sql(name, 'audit', 'SELECT line FROM log ORDER BY line');
    expect(before).toBe('one\ntwo\n');
    const bad = Readable.from(['CREATE TABLE other (line text);\nINSERT INTO other VALUES (1);\nSELECT nosuchfunction();\n']);
    await expect(target.write({ path: 'audit.sql', type: 'file' }, bad, signal)).rejects.toThrow(
      /restoring database audit with psql .* exited with code 3: .*nosuchfunction/,
    );
    // Statements that each apply, then the stream from the repository fails half-way.
    const broken = Readable.from(
      (async function* () {
        yield 'CREATE TABLE other (line text);\n';
        yield 'INSERT INTO other VALUES (1);\n';
        throw new Error('pack 3f2a: chunk does not match its hash');
      })(),
    );
    await expect(target.write({ path: 'audit.sql', type: 'file' }, broken, signal)).rejects.toThrow(/chunk does not match its hash/);
    expect(await sql(name, 'audit', 'SELECT line FROM log ORDER BY line')).toBe(before);
    expect(await sql(name, 'audit', `SELECT count(*) FROM pg_tables WHERE tablename = 'other'`)).toBe('0\n');
    // No half-restored database is left beside it.
    expect(await sql(name, 'postgres', `SELECT count(*) FROM pg_database WHERE datname LIKE 'bzzz_restore_%'`)).toBe('0\n');
  });
});
