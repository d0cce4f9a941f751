// The content import of a v1 log into the v2 content store, against a stand-in of the agent's two
// blob routes: every entry stored as its canonical bytes under its BLAKE3 address and read back,
// the manifest (pages + root) stored and naming every entry in order, a broken log refused with
// nothing stored, a re-run that sends nothing, a run killed midway resumed without re-sending
// finished pages, and the agent's wrong answers refused.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { hashBytes } from '../../../src/crypto/blake3.js';
import { canonicalEntry, type V1LogEntry } from '../../../src/hosts/v1-log.js';
import {
  ContentImportError,
  HttpBlobSink,
  importV1Log,
  parseManifestPage,
  readManifestRoot,
  type ImportProgress,
} from '../../../src/reconcilers/content-import.js';
import { startBlobServer, type BlobServer } from '../../support/blob-server.js';
import { v1LogChunks, v1LogEntries, type V1LogOptions } from '../../support/v1-log.js';

const TOKEN = 'bzzz_test-token';
let server: BlobServer;

beforeAll(async () => {
  server = await startBlobServer(TOKEN);
});
afterAll(() => server.close());
beforeEach(() => {
  server.blobs.clear();
  Object.assign(server.counts, { post: 0, get: 0, created: 0, miss: 0, inFlight: 0, peak: 0, arrived: 0 });
  server.mode = 'honest';
  server.failAfterCreated = undefined;
});

const sink = (o: Partial<ConstructorParameters<typeof HttpBlobSink>[0]> = {}) =>
  new HttpBlobSink({ baseUrl: server.url, token: TOKEN, ...o });
const run = (log: V1LogOptions, o: Partial<Parameters<typeof importV1Log>[0]> = {}) =>
  importV1Log({ host: 'walnut', open: () => v1LogChunks(log, 4096), sink: sink(), pageEntries: 10, ...o });

describe('importV1Log', () => {
  it('GIVEN an intact log THEN each entry is a blob of its canonical bytes, read back; the manifest names every entry in order', async () => {
    const log = { entries: 25, seed: 7 };
    const progress: ImportProgress[] = [];
    const r = await run(log, { onProgress: (p) => progress.push(p), progressEvery: 5 });
    expect(r).toMatchObject({ ok: true, host: 'walnut', entries: 25, stored: 25, existing: 0, skipped: 0, alreadyImported: false });
    if (!r.ok) return;
    const entries = [...v1LogEntries(log)] as V1LogEntry[];
    for (const e of entries) expect(server.blobs.get(hashBytes(canonicalEntry(e)))?.equals(canonicalEntry(e))).toBe(true);
    // 25 entries + 3 pages + the root; each read back once after it was stored, and the root probed once.
    expect(server.blobs.size).toBe(25 + 3 + 1);
    expect(server.counts.post).toBe(29);
    const root = await readManifestRoot(sink(), r.manifest);
    expect(root).toMatchObject({
      format: 'bzzz-v1-log-manifest/1',
      host: 'walnut',
      entries: 25,
      firstIndex: 0,
      lastIndex: 24,
      pageEntries: 10,
    });
    expect(root.headHash).toBe(entries[24]?.hash);
    const listed: ReturnType<typeof parseManifestPage>['entries'] = [];
    for (const p of root.pages) listed.push(...parseManifestPage(await sink().get(p)).entries);
    expect(listed.map((l) => l.index)).toEqual([...Array(25).keys()]);
    // The thread: each line's hash is the next entry's prev_hash; address, author and type kept.
    entries.forEach((e, i) => {
      expect(listed[i]).toEqual({ index: i, hash: e.hash, address: hashBytes(canonicalEntry(e)), author: e.author, type: e.type });
      if (i > 0) expect(e.prev_hash).toBe(listed[i - 1]?.hash);
    });
    expect(progress.at(-1)).toMatchObject({ phase: 'import', entries: 25, stored: 25 });
    expect(progress.some((p) => p.phase === 'verify')).toBe(true);
  });

  it('GIVEN the same log imported again THEN nothing is sent: the root manifest is found', async () => {
    const first = await run({ entries: 25 });
    const posts = server.counts.post;
    const again = await run({ entries: 25 });
    expect(again).toMatchObject({ ok: true, alreadyImported: true, stored: 0 });
    expect(again.ok && first.ok && again.manifest === first.manifest).toBe(true);
    expect(server.counts.post).toBe(posts);
  });

  it('GIVEN a run that failed midway THEN the next run skips the finished pages and sends only the rest', async () => {
    server.failAfterCreated = 14; // entries 0-9 and page 0 stored, then 3 more entries, then a failure
    await expect(run({ entries: 35 }, { concurrency: 1 })).rejects.toThrow(ContentImportError);
    const created = server.counts.created;
    const r = await run({ entries: 35 }, { concurrency: 1 });
    expect(r).toMatchObject({ ok: true, entries: 35, skipped: 10, alreadyImported: false });
    if (!r.ok) return;
    // Entries 10-12 were stored by the failed run: sent again (the store says so), not stored twice.
    expect(r.existing).toBe(3);
    expect(r.stored).toBe(35 - 10 - 3);
    expect(server.counts.created - created).toBe(35 - 13 + 3 + 1); // the rest + pages 1-3 + root
  });

  it('GIVEN a broken chain THEN nothing is stored and every break is reported with host, line and index', async () => {
    const r = await run({ entries: 40, changeData: [3], breakPrevHash: [17], dropIndex: [30] });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.reason).toBe('the conversation log of walnut has 3 breaks in its chain: nothing of it was imported');
    expect(r.report.breaks.map((b) => [b.source, b.reason, b.index])).toEqual([
      ['walnut', 'hash-mismatch', 3],
      ['walnut', 'broken-prev-hash', 17],
      ['walnut', 'missing-index', 31],
    ]);
    expect(server.counts.post + server.counts.get).toBe(0);
  });

  it('GIVEN a log that changes between the check and the import THEN it stops before the manifest', async () => {
    let opened = 0;
    const r = importV1Log({
      host: 'walnut',
      sink: sink(),
      pageEntries: 10,
      open: () => v1LogChunks(opened++ === 0 ? { entries: 20 } : { entries: 20, changeData: [15] }),
    });
    await expect(r).rejects.toThrow('walnut: the log changed between the check and the import (a break at line 16 that was not there)');
  });

  it('GIVEN a log that grew after the check THEN the entries of the check are imported, the new ones left for the next run', async () => {
    let opened = 0;
    const r = await importV1Log({
      host: 'walnut',
      sink: sink(),
      pageEntries: 10,
      open: () => v1LogChunks({ entries: opened++ === 0 ? 15 : 18 }),
    });
    expect(r).toMatchObject({ ok: true, entries: 15, stored: 15 });
  });

  it('GIVEN an empty log THEN a manifest with no entries', async () => {
    const r = await run({ entries: 0 });
    expect(r).toMatchObject({ ok: true, entries: 0 });
    if (r.ok) expect(await readManifestRoot(sink(), r.manifest)).toMatchObject({ entries: 0, pages: [], firstIndex: null });
  });

  it('GIVEN an abort during the import THEN it stops with an error, nothing sent after, no manifest', async () => {
    server.mode = 'steady';
    const ac = new AbortController();
    const r = run({ entries: 200 }, { sink: sink({ signal: ac.signal }), signal: ac.signal, pageEntries: 1000 });
    setTimeout(() => ac.abort(), 100);
    await expect(r).rejects.toThrow(/aborted/);
    // Nothing more is sent once it gave up (requests written just before the abort may still be
    // parsed by the server a moment later: the count is taken once those are in).
    await new Promise((res) => setTimeout(res, 50));
    const arrived = server.counts.arrived;
    await new Promise((res) => setTimeout(res, 200));
    expect(server.counts.arrived).toBe(arrived);
    expect(server.counts.inFlight).toBe(0);
    expect(server.blobs.size).toBeLessThan(200);
  });

  it('keeps at most `concurrency` requests in flight', async () => {
    server.mode = 'steady';
    await run({ entries: 60 }, { concurrency: 4, pageEntries: 100 });
    expect(server.counts.peak).toBeLessThanOrEqual(4);
    expect(server.counts.peak).toBeGreaterThan(1);
  });
});

describe('HttpBlobSink: the agent is not trusted', () => {
  const bytes = Buffer.from('{"index":0}');
  it('GIVEN an answer naming another address THEN refused, naming both', async () => {
    server.mode = 'wrong-address';
    await expect(sink().put(bytes)).rejects.toThrow(
      `POST ${server.url}/api/blobs answered the address "${hashBytes(Buffer.from('something else'))}" for 11 bytes whose BLAKE3 is ${hashBytes(bytes)}`,
    );
  });
  it('GIVEN an oversized answer THEN refused', async () => {
    server.mode = 'oversized-answer';
    await expect(sink().put(bytes)).rejects.toThrow('answered more than the 65536 bytes allowed');
  });
  it('GIVEN bytes read back that do not hash to the address THEN refused', async () => {
    const { address } = await sink().put(bytes);
    server.mode = 'corrupt-read';
    await expect(sink().get(address)).rejects.toThrow(
      `sent 12 bytes whose BLAKE3 is ${hashBytes(Buffer.from('{"index":0}!'))}, not ${address}`,
    );
    await expect(sink().has(address)).rejects.toThrow(ContentImportError);
  });
  it('GIVEN a blob larger than maxBlobBytes read back THEN refused', async () => {
    const big = Buffer.alloc(5000, 1);
    const { address } = await sink().put(big);
    await expect(sink({ maxBlobBytes: 1000 }).get(address)).rejects.toThrow('more than the 1000 bytes allowed');
  });
  it('GIVEN a slow agent THEN the request times out with a clear error', async () => {
    server.mode = 'slow';
    await expect(sink({ timeoutMs: 200 }).put(bytes)).rejects.toThrow(`POST ${server.url}/api/blobs: no answer within 200 ms`);
  });
  it('GIVEN a caller the agent refuses THEN the error says what to check', async () => {
    server.mode = 'forbidden';
    await expect(sink().put(bytes)).rejects.toThrow(/answered 403 .*observers only read.*is spec.migration set/);
    await expect(new HttpBlobSink({ baseUrl: server.url, token: 'wrong' }).put(bytes)).rejects.toThrow(/answered 401/);
  });
  it('GIVEN a blob not there THEN has() is false', async () => {
    expect(await sink().has(hashBytes(Buffer.from('nope')))).toBe(false);
  });
});
