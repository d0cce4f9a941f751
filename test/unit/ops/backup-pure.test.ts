// The pure pieces of the cluster's backup parts: names, paths, the scratch spec of a drill, the
// table fingerprints it compares, and the part filter.
import { describe, expect, it } from 'vitest';
import { MAX_SCRATCH_NAME, scratchName, scratchSpec } from '../../../src/ops/backup-drill.js';
import { compareTables, parseFingerprints } from '../../../src/ops/backup-drill-compare.js';
import { selectParts } from '../../../src/ops/backup-parts.js';
import { asSuperuser, databaseFromPath, databasePath } from '../../../src/ops/backup-postgres-shell.js';
import type { BzzzCluster } from '../../../src/spec/types.js';

describe('scratch cluster of a drill', () => {
  it('is named <cluster>-drill-<hex>, short enough for every object name the cluster makes', () => {
    expect(scratchName('prod', 'a1b2c3')).toBe('prod-drill-a1b2c3');
    const long = scratchName('a-rather-long-cluster-name-32chr', 'a1b2c3');
    expect(long).toBe('a-rathe-drill-a1b2c3');
    expect(long.length).toBeLessThanOrEqual(MAX_SCRATCH_NAME);
    // No "--" where the cut fell on a dash, and a valid name even when nothing of it is left.
    expect(scratchName('abcdef-x', 'a1b2c3')).toBe('abcdef-drill-a1b2c3');
    expect(`${scratchName('x', 'a1b2c3')}_bzzz-pub-senior_software_architect-12345678`.length).toBeLessThanOrEqual(64);
    expect(scratchName('prod')).toMatch(/^prod-drill-[0-9a-f]{6}$/);
  });

  it('runs without host ports, schedules, notifications, v1 hosts or migration, and leaves the live spec alone', () => {
    const live = {
      apiVersion: 'bzzz.io/v2',
      kind: 'BzzzCluster',
      metadata: { name: 'prod' },
      spec: {
        version: '2.0.0',
        agent: { image: 'a:1', instances: [{ name: 'a', publish: { api: 18080 } }, { name: 'b' }] },
        services: { mcpServer: { image: 'm:1', ports: [{ target: 8080, published: 18099 }] } },
        backups: { schedule: '@daily' },
        notifications: { slack: {} },
        v1: { hosts: [] },
        migration: {},
        rollback: {},
      },
    } as unknown as BzzzCluster;
    const copy = scratchSpec(live);
    expect(copy.spec.agent.instances).toEqual([{ name: 'a' }, { name: 'b' }]);
    expect(copy.spec.services?.mcpServer).toEqual({ image: 'm:1' });
    for (const k of ['backups', 'notifications', 'v1', 'migration', 'rollback']) expect(copy.spec).not.toHaveProperty(k);
    expect(live.spec.agent.instances[0].publish).toEqual({ api: 18080 });
    expect(live.spec.backups).toBeDefined();
  });
});

describe('table fingerprints', () => {
  const md5a = 'd41d8cd98f00b204e9800998ecf8427e';
  const md5b = '0cc175b9c0f1b6a831c399e269772661';

  it('parses psql unaligned output and refuses anything else', () => {
    const parsed = parseFingerprints(`public.t\u001f3\u001f${md5a}\nodd|name.x\u001f0\u001f${md5b}\n`);
    expect([...parsed]).toEqual([
      ['public.t', { rows: 3, md5: md5a }],
      ['odd|name.x', { rows: 0, md5: md5b }],
    ]);
    expect(() => parseFingerprints('ERROR: something\n')).toThrow(/unexpected line/);
  });

  it('compares every table of either side', () => {
    const live = new Map([
      ['public.a', { rows: 2, md5: md5a }],
      ['public.b', { rows: 1, md5: md5a }],
      ['public.gone', { rows: 1, md5: md5a }],
    ]);
    const restored = new Map([
      ['public.a', { rows: 2, md5: md5a }],
      ['public.b', { rows: 1, md5: md5b }],
      ['public.extra', { rows: 0, md5: md5a }],
    ]);
    expect(compareTables('db', live, restored)).toEqual([
      { database: 'db', table: 'public.a', rowsLive: 2, rowsRestored: 2, checksumMatch: true },
      { database: 'db', table: 'public.b', rowsLive: 1, rowsRestored: 1, checksumMatch: false },
      { database: 'db', table: 'public.extra', rowsLive: undefined, rowsRestored: 0, checksumMatch: false },
      { database: 'db', table: 'public.gone', rowsLive: 1, rowsRestored: undefined, checksumMatch: false },
    ]);
  });
});

describe('parts and paths', () => {
  it('selects parts in restore order and names an unknown one', () => {
    expect(selectParts()).toEqual(['swarm', 'postgres', 'content']);
    expect(selectParts(['content', 'swarm'])).toEqual(['swarm', 'content']);
    expect(() => selectParts(['postgres', 'files'])).toThrow(/unknown backup part\(s\) files: the parts are swarm, postgres, content/);
  });

  it('carries any database name in an entry path and back', () => {
    for (const db of ['bzzz_v2', 'with space', 'a/b', 'ünï']) expect(databaseFromPath(databasePath(db))).toBe(db);
    expect(databasePath('bzzz_v2')).toBe('bzzz_v2.sql');
    expect(() => databaseFromPath('dir/x.sql')).toThrow(/not <database>\.sql/);
    expect(() => databaseFromPath('x.txt')).toThrow(/not <database>\.sql/);
  });

  it('passes the command to the superuser shell as arguments, never inside the script', () => {
    const cmd = asSuperuser(['pg_dump', '--dbname', 'x"; rm -rf /']);
    expect(cmd.slice(0, 2)).toEqual(['sh', '-c']);
    expect(cmd[2]).not.toContain('rm -rf');
    expect(cmd.slice(3)).toEqual(['sh', 'pg_dump', '--dbname', 'x"; rm -rf /']);
  });
});
