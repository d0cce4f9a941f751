// Restore drills against the real swarm: a snapshot restored into a scratch cluster, compared
// with the live one, and torn down — a faithful restore from the real repository on disk passes;
// a tampered one (a snapshot held in memory, a row changed on the way) reports the table that differs.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initRepository, openRepository, type Repository } from '../../../src/backup/index.js';
import { generateAgeIdentity } from '../../../src/crypto/age-stream.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, docker, port, uniqueName } from '../harness.js';
import { deploy, exec, restoreFrom, type Snapshot, snapshotOf, sql } from './cluster.js';
import { clusterSources } from '../../../src/ops/backup-parts.js';
import { runDrill } from '../../../src/ops/backup-drill.js';
import { runDrillJob } from '../../../src/ops/backup-jobs.js';
import { convergeInProcess } from '../../../src/ops/backup-converge.js';
import { ClusterStore } from '../../../src/store/cluster-store.js';
import { agentServiceName } from '../../../src/spec/index.js';

const name = uniqueName('bkb-dr');
let snap: Snapshot;
let repository: Repository;
let snapshotId: string;

async function leftovers(cluster: string): Promise<string> {
  const f = ['--filter', `label=io.bzzz.cluster=${cluster}`, '-q'];
  const out = await Promise.all([
    docker('service', 'ls', ...f),
    docker('secret', 'ls', ...f),
    docker('config', 'ls', ...f),
    docker('network', 'ls', ...f),
    docker('volume', 'ls', ...f),
  ]);
  return out.join('').trim();
}

beforeAll(async () => {
  await deploy(name);
  await sql(
    name,
    'bzzz_v2',
    `CREATE TABLE notes (id int PRIMARY KEY, body text); INSERT INTO notes SELECT g, 'row-' || g FROM generate_series(1, 300) g;
    CREATE TABLE empty_one (x int);`,
  );
  const h = await exec.execInService(agentServiceName(name, 'a1'), {
    // Three blobs in a1's store (any 64-hex names: the store's layout is what is backed up).
    cmd: ['sh', '-c', 'for i in 1 2 3; do d=/data/store/blobs/0$i/ab; mkdir -p $d; echo blob $i > $d/0"$i"ab$(printf %060d $i); done'],
  });
  await h.done;
  snap = await snapshotOf(await clusterSources({ port, exec, cluster: name }));
  const key = generateAgeIdentity();
  const dir = join(mkdtempSync(join(tmpdir(), 'bkb-dr-')), 'repo');
  await initRepository(dir, { recipients: [key.recipient] });
  repository = await openRepository(dir, { identities: [key.identity], recipients: [key.recipient] });
  snapshotId = (await repository.backup(await clusterSources({ port, exec, cluster: name }), { cluster: name, reason: 'drill-test' })).id;
}, 300_000);
afterAll(async () => {
  await repository?.close();
  await cleanup(name);
}, 180_000);

describe('restore drill', () => {
  it('passes for a snapshot restored from the repository and leaves no scratch object behind', async () => {
    const lines: string[] = [];
    const report = await runDrill({
      port,
      exec,
      cluster: name,
      restore: async (targets, signal) => {
        await repository.restore(snapshotId, targets, { parts: targets.map((t) => t.part), signal });
      },
      progress: (l) => lines.push(l),
    });
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.scratch).toMatch(new RegExp(`^${name.slice(0, 7).replace(/-$/, '')}-drill-[0-9a-f]{6}$`));
    expect(report.parts).toEqual(['swarm', 'postgres', 'content']);
    expect(report.tables).toEqual([
      { database: 'bzzz_v2', table: 'public.empty_one', rowsLive: 0, rowsRestored: 0, checksumMatch: true },
      { database: 'bzzz_v2', table: 'public.notes', rowsLive: 300, rowsRestored: 300, checksumMatch: true },
    ]);
    expect(report.content).toEqual([
      { instance: 'a1', blobsLive: 3, blobsRestored: 3, match: true },
      { instance: 'a2', blobsLive: 0, blobsRestored: 0, match: true },
    ]);
    expect(report.teardown).toEqual({ clean: true, leftovers: [] });
    expect(await leftovers(report.scratch)).toBe('');
    expect(lines.at(-1)).toBe(`removing ${report.scratch}`);
  });

  it('reports the table a tampered restore changed, and still tears the scratch cluster down', async () => {
    const report = await runDrill({
      port,
      exec,
      cluster: name,
      restore: restoreFrom(snap, (part, _path, b) =>
        part === 'postgres' ? Buffer.from(b.toString().replace('\trow-7\n', '\trow-seven\n')) : b,
      ),
    });
    expect(report.ok).toBe(false);
    expect(report.tables.find((t) => t.table === 'public.notes')).toEqual({
      database: 'bzzz_v2',
      table: 'public.notes',
      rowsLive: 300,
      rowsRestored: 300,
      checksumMatch: false,
    });
    expect(report.problems).toEqual(['table bzzz_v2.public.notes: 300 rows live, 300 restored, checksums differ']);
    expect(report.teardown.clean).toBe(true);
    expect(await leftovers(report.scratch)).toBe('');
  });

  it('the drill job (what the controller and `bzzzctl backup drill` run) passes on the latest snapshot', async () => {
    const store = new ClusterStore(port);
    const rec = await store.get(name);
    const cluster = (await store.getSpec(name, rec?.generation ?? 0)).cluster;
    const steps = await runDrillJob({
      cluster,
      port,
      store,
      repository,
      reason: 'drill',
      signal: new AbortController().signal,
      now: Date.now,
      exec,
      converge: convergeInProcess(port),
    });
    expect(steps).toMatchObject([{ kind: 'drill', ok: true, snapshot: snapshotId }]);
  });
});
