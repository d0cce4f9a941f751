// A whole cluster backed up (swarm, postgres, content — each entry read whole into memory, as a
// repository would store it) and restored under a new name: the same secret values (role keys,
// admin key shares, generated passwords), the same rows, the same blobs.
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, docker, port, uniqueName } from '../harness.js';
import { deploy, exec, readAll, restoreFrom, type Snapshot, snapshotOf, sql } from './cluster.js';
import { clusterSources, clusterTargets } from '../../../src/ops/backup-parts.js';
import { countBlobs } from '../../../src/ops/backup-content.js';
import { swarmSource, type BackedUpObject, type SwarmSource } from '../../../src/ops/backup-swarm-source.js';
import type { SwarmTarget } from '../../../src/ops/backup-swarm-target.js';
import { execText } from '../../../src/swarm/exec.js';
import { agentServiceName } from '../../../src/spec/index.js';
import { deleteCluster } from '../../../src/ops/teardown.js';
import { L } from '../../../src/swarm/labels.js';

const name = uniqueName('bkb-src');
const renamed = uniqueName('bkb-new');
/** Logical secret (and keyset kind) → value, as the cluster's tasks see them. */
async function secretValues(cluster: string, withPeers = false): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const source = swarmSource({ port, exec, cluster });
  for await (const e of source.entries(new AbortController().signal)) {
    if (!e.path.startsWith('secrets/')) continue;
    const s = JSON.parse((await readAll(await e.open!())).toString()) as BackedUpObject;
    // Peer identities are derived from the cluster's ownership key, which a new name does not take over.
    if (withPeers || !s.Labels[L.logical].startsWith('bzzz-peer-'))
      out[s.Labels[L.logical]] = createHash('sha256').update(Buffer.from(s.Data, 'base64')).digest('hex');
  }
  expect([...source.unread]).toEqual([]);
  return out;
}

const BLOB = Buffer.from('a decision, stored in the content store');
const HEX = createHash('sha256').update(BLOB).digest('hex'); // any 64-hex name: the store layout is what matters here

beforeAll(async () => {
  await deploy(name);
  await sql(
    name,
    'bzzz_v2',
    `CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 200) g;`,
  );
  for (const inst of ['a1', 'a2']) {
    const h = await exec.execInService(agentServiceName(name, inst), {
      cmd: [
        'sh',
        '-c',
        `mkdir -p /data/store/blobs/${HEX.slice(0, 2)}/${HEX.slice(2, 4)} && cat > /data/store/blobs/${HEX.slice(0, 2)}/${HEX.slice(2, 4)}/${HEX}`,
      ],
      stdin: Readable.from([BLOB]),
    });
    await h.done;
  }
}, 300_000);
afterAll(async () => {
  await cleanup(renamed);
  await cleanup(name);
}, 180_000);

let snap: Snapshot;

describe('restore', () => {
  it('under a new name brings the cluster back with the same secrets, rows and blobs', async () => {
    const sources = await clusterSources({ port, exec, cluster: name });
    snap = await snapshotOf(sources);
    const unread = (sources[0] as SwarmSource).unread;
    expect([...snap.keys()]).toEqual(['swarm', 'postgres', 'content']);
    expect([...snap.get('content')!.keys()]).toEqual(['a1/store.tar', 'a2/store.tar']);
    // Every secret of the cluster was read, the admin key's shares no agent mounts included.
    expect([...unread]).toEqual([]);
    const swarmPaths = [...snap.get('swarm')!.keys()];
    expect(swarmPaths).toContain('cluster.json');
    expect(swarmPaths.filter((p) => /^secrets\/.*bzzz-share-/.test(p))).toHaveLength(5);

    const targets = clusterTargets({ port, exec, name: renamed });
    await restoreFrom(snap)(targets);
    const result = (targets[0] as SwarmTarget).result!;
    expect(result).toMatchObject({ name: renamed, from: name });

    expect(await secretValues(renamed)).toEqual(await secretValues(name));
    expect(await sql(renamed, 'bzzz_v2', 'SELECT * FROM t ORDER BY id')).toBe(await sql(name, 'bzzz_v2', 'SELECT * FROM t ORDER BY id'));
    for (const inst of ['a1', 'a2']) {
      expect(await countBlobs(exec, renamed, inst)).toBe(1);
      const got = await execText(exec, agentServiceName(renamed, inst), {
        cmd: ['cat', `/data/store/blobs/${HEX.slice(0, 2)}/${HEX.slice(2, 4)}/${HEX}`],
        maxStdoutBytes: 1024,
      });
      expect(got).toBe(BLOB.toString());
    }
  });

  it('under the same name, after the cluster was deleted, brings back its peer identities too', async () => {
    const before = await secretValues(name, true);
    const rows = await sql(name, 'bzzz_v2', 'SELECT * FROM t ORDER BY id');
    // A backup that died while its secret reader ran left the reader holding a secret: delete removes it too.
    const [secret] = (await docker('secret', 'ls', '--filter', `label=io.bzzz.cluster=${name}`, '--format', '{{.Name}}')).split('\n');
    await docker(
      'service',
      'create',
      '-d',
      '--name',
      `${name}_bzzz-backup-reader`,
      '--label',
      `io.bzzz.backup-reader=${name}`,
      '--secret',
      secret,
      'bzzz-test/busybox:1',
    );
    const removed = await deleteCluster(port, name, 120_000);
    expect([...removed.leftovers, ...removed.lookAlikes]).toEqual([]);
    expect(await docker('service', 'ls', '-q', '--filter', `name=${name}_`)).toBe('');
    await restoreFrom(snap)(clusterTargets({ port, exec, name, include: ['swarm', 'postgres'] }));
    expect(await secretValues(name, true)).toEqual(before);
    expect(await sql(name, 'bzzz_v2', 'SELECT * FROM t ORDER BY id')).toBe(rows);
  });
});
