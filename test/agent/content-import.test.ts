// The content import against a real agent (in-process, its real HTTP API and content store): a v1
// log's entries stored through POST /api/blobs with a caller that may store, read back through
// GET, the manifest found again on a second run (nothing sent twice), and an observer's token
// refused with a message saying what to check.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashBytes } from '../../src/crypto/blake3.js';
import { canonicalEntry, type V1LogEntry } from '../../src/hosts/v1-log.js';
import { HttpBlobSink, importV1Log, parseManifestPage, readManifestRoot } from '../../src/reconcilers/content-import.js';
import { v1LogChunks, v1LogEntries } from '../support/v1-log.js';
import { type Cluster, createCluster } from './cluster-harness.js';

let cluster: Cluster;
let api: string;

beforeAll(async () => {
  cluster = await createCluster({
    members: [{ role: 'backend_developer' }],
    heartbeatMs: 100,
    electionTimeoutMs: 400,
    replicationFactor: 1,
  });
  const m = cluster.members[0];
  if (!m) throw new Error('no member');
  await cluster.startMember(m);
  api = m.apiUrl;
});
afterAll(() => cluster?.stopAll());

describe('content import into a real agent', () => {
  const log = { entries: 2500, seed: 11 };
  const sink = () => new HttpBlobSink({ baseUrl: api, token: cluster.tokens.backend_developer });

  it('GIVEN an intact log THEN every entry is stored under its BLAKE3 address and the manifest lists them; a second run sends nothing', async () => {
    const r = await importV1Log({ host: 'walnut', open: () => v1LogChunks(log), sink: sink(), pageEntries: 1000 });
    expect(r).toMatchObject({ ok: true, entries: 2500, stored: 2500, existing: 0 });
    if (!r.ok) return;
    const root = await readManifestRoot(sink(), r.manifest);
    expect(root.pages).toHaveLength(3);
    const page = parseManifestPage(await sink().get(root.pages[2] ?? 'blake3:'));
    expect(page).toMatchObject({ host: 'walnut', first: 2000, count: 500 });
    const last = [...v1LogEntries(log)].at(-1) as V1LogEntry;
    expect(page.entries.at(-1)).toEqual({
      index: 2499,
      hash: last.hash,
      address: hashBytes(canonicalEntry(last)),
      author: last.author,
      type: last.type,
    });
    expect((await sink().get(hashBytes(canonicalEntry(last)))).equals(canonicalEntry(last))).toBe(true);

    const again = await importV1Log({ host: 'walnut', open: () => v1LogChunks(log), sink: sink(), pageEntries: 1000 });
    expect(again).toMatchObject({ ok: true, alreadyImported: true, stored: 0, manifest: r.manifest });
  });

  it("GIVEN an observer's token THEN the agent refuses to store and the error says what to check", async () => {
    const observer = new HttpBlobSink({ baseUrl: api, token: cluster.tokens.observer });
    await expect(observer.put(Buffer.from('{}'))).rejects.toThrow(/answered 403 .*may not store content.*spec\.migration/);
  });
});
