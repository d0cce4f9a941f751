// Resource attacks on one real agent, by attackers in processes of their own: 300 uploads that
// stall after their headers, 60 downloads of a 16 MiB blob that never read, a caller filling the
// store. The agent's open descriptors and resident memory are measured (the agent runs in this
// process); each bound is generous against the numbers measured here, and far below what the
// attacks cost before the limits existed (every stalled socket held forever, ~1 GB RSS for the readers).
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { readdir } from 'node:fs/promises';
import { statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createContentStore, StoreFullError } from '../../src/agent/cas/index.js';
import type { AgentOptions } from '../../src/agent/agent.js';
import type { Role } from '../../src/crypto/index.js';
import { createCluster, getJson, waitFor, type Cluster, type Member } from '../agent/cluster-harness.js';
import { metric, openDescriptors, sampleMax, sleep, spawnAttacker } from './harness.js';

const MiB = 1024 * 1024;

describe('resource limits under attack', () => {
  let cluster: Cluster | undefined;
  afterEach(async () => {
    await cluster?.stopAll();
    cluster = undefined;
  });

  async function oneAgent(role: Role, options: AgentOptions, flags: Record<string, string> = {}): Promise<Member> {
    cluster = await createCluster({ members: [{ role }], heartbeatMs: 100, electionTimeoutMs: 500, options });
    const m = cluster.members[0];
    Object.assign(m.flags, flags);
    await cluster.startMember(m);
    return m;
  }

  it('closes 300 stalled uploads by its timeouts and connection cap; descriptors stay bounded and come back', async () => {
    const maxConnections = 64;
    const m = await oneAgent('backend_developer', {
      httpLimits: { headersTimeoutMs: 1_000, requestTimeoutMs: 4_000, idleTimeoutMs: 1_500, maxConnections },
      blobUploads: { max: 16, maxQueued: 16, queueTimeoutMs: 1_000 },
    });
    const c = cluster as Cluster;
    const baseline = openDescriptors();
    const fds = sampleMax(openDescriptors);
    const started = Date.now();
    const attack = spawnAttacker('stall-uploads', m.apiUrl, c.tokens.backend_developer, 300, 20_000);
    await attack.opened;
    const result = await attack.done;
    const tookMs = Date.now() - started;
    const peak = fds.stop();
    // Every connection was closed by the agent (cap at once, the rest by the idle/request timeouts).
    expect(result.closedByServer).toBe(300);
    expect(tookMs).toBeLessThan(15_000);
    // At most one socket and one temp file per admitted connection, plus slack for the runner.
    expect(peak - baseline).toBeLessThan(2 * maxConnections + 40);
    await waitFor('descriptors back to the baseline', () => (openDescriptors() <= baseline + 10 ? true : undefined), 10_000);
    await waitFor('no temp file left', async () => ((await readdir(join(m.dataDir, 'store', 'tmp'))).length === 0 ? true : undefined));
    // Stalled clients are the clients' failure, not the agent's; it still serves.
    expect(await metric(m.healthUrl, 'bzzz_errors_total', 'component="http"')).toBe(0);
    const ok = await getJson(`${m.apiUrl}/api/blobs`, {
      method: 'POST',
      headers: { ...c.auth('backend_developer'), 'content-type': 'application/octet-stream' },
      body: randomBytes(1024),
    });
    expect(ok.status).toBe(201);
    console.info(`[security] 300 stalled uploads: all closed in ${tookMs} ms, peak +${peak - baseline} descriptors`);
  });

  it('serves 60 readers of a 16 MiB blob that never read with bounded memory, and stays responsive', async () => {
    const m = await oneAgent('backend_developer', { httpLimits: { idleTimeoutMs: 20_000 } });
    const c = cluster as Cluster;
    const blob = randomBytes(16 * MiB);
    const put = await getJson<{ address: string }>(`${m.apiUrl}/api/blobs`, {
      method: 'POST',
      headers: { ...c.auth('backend_developer'), 'content-type': 'application/octet-stream' },
      body: blob,
    });
    expect(put.status).toBe(201);
    await sleep(500);
    const baseline = process.memoryUsage().rss;
    const rss = sampleMax(() => process.memoryUsage().rss);
    const attack = spawnAttacker('slow-readers', m.apiUrl, c.tokens.observer, 60, 5_000, `/api/blobs/${put.body.address}`);
    await attack.opened;
    // While they hang, a normal caller is still served (queued behind at most the stream cap).
    const small = await getJson<{ address: string }>(`${m.apiUrl}/api/blobs`, {
      method: 'POST',
      headers: { ...c.auth('backend_developer'), 'content-type': 'application/octet-stream' },
      body: randomBytes(4096),
    });
    expect(small.status).toBe(201);
    const result = await attack.done;
    const growth = rss.stop() - baseline;
    expect(result.bytesRead).toBeGreaterThan(0);
    expect(growth).toBeLessThan(200 * MiB);
    const again = await fetch(`${m.apiUrl}/api/blobs/${put.body.address}`, { headers: c.auth('observer') });
    expect(again.status).toBe(200);
    expect(Buffer.from(await again.arrayBuffer()).equals(blob)).toBe(true);
    console.info(`[security] 60 slow readers of 16 MiB: RSS growth ${(growth / MiB).toFixed(1)} MiB`);
  });

  it('refuses new content with 507 once the store holds its quota, and the agent stays healthy and elects', async () => {
    const m = await oneAgent('admin', {}, { storeQuota: '1MiB' });
    const c = cluster as Cluster;
    const put = (bytes: Uint8Array) =>
      getJson<{ error: string; message: string }>(`${m.apiUrl}/api/blobs`, {
        method: 'POST',
        headers: { ...c.auth('admin'), 'content-type': 'application/octet-stream' },
        body: bytes,
      });
    expect((await put(randomBytes(700 * 1024))).status).toBe(201);
    const full = await put(randomBytes(700 * 1024));
    expect(full.status).toBe(507);
    expect(full.body).toMatchObject({ error: 'insufficient_storage', message: expect.stringMatching(/quota.*--store-quota/) });
    expect(m.agent!.parts.store.stats().bytes).toBe(700 * 1024);
    expect(await readdir(join(m.dataDir, 'store', 'tmp'))).toEqual([]);
    expect(await metric(m.healthUrl, 'bzzz_store_refused_total', 'reason="quota"')).toBeGreaterThanOrEqual(1);

    expect((await fetch(`${m.healthUrl}/health/live`)).status).toBe(200);
    expect((await fetch(`${m.healthUrl}/health/ready`)).status).toBe(200);
    // The election still runs (its vote file is written outside the store's quota).
    const status = async () =>
      (await getJson<{ term: number; admin: string | null }>(`${m.apiUrl}/api/election/status`, { headers: c.auth('admin') })).body;
    const before = await waitFor('self-elected', async () => ((await status()).admin === m.peerId ? await status() : undefined));
    const trigger = await getJson(`${m.apiUrl}/api/election/trigger`, {
      method: 'POST',
      headers: { ...c.auth('admin'), 'content-type': 'application/json' },
    });
    expect(trigger.status).toBe(202);
    await waitFor('a later term', async () => ((await status()).term > before.term ? true : undefined));
  });

  it('does not count or log a client that aborts its own upload as an agent error, and keeps no temp file', async () => {
    const m = await oneAgent('backend_developer', {});
    const c = cluster as Cluster;
    const url = new URL(`${m.apiUrl}/api/blobs`);
    for (let i = 0; i < 5; i++) {
      await new Promise<void>((resolve) => {
        const req = request(url, {
          method: 'POST',
          headers: { ...c.auth('backend_developer'), 'content-type': 'application/octet-stream', 'content-length': String(8 * MiB) },
        });
        req.on('error', () => resolve());
        req.write(randomBytes(MiB), () => setTimeout(() => req.destroy(), 50));
      });
    }
    await waitFor('no temp file left', async () => ((await readdir(join(m.dataDir, 'store', 'tmp'))).length === 0 ? true : undefined));
    expect(await metric(m.healthUrl, 'bzzz_errors_total', 'component="http"')).toBe(0);
    expect(m.agent!.parts.store.stats().blobs).toBe(0);
  });

  it('refuses new content below the free-space reserve, before writing it', async () => {
    const root = join((await import('node:os')).tmpdir(), `bzzz-reserve-${randomBytes(4).toString('hex')}`);
    const s = await statfs((await import('node:os')).tmpdir());
    const refused: string[] = [];
    const store = await createContentStore({ root, reserveBytes: s.bavail * s.bsize + 1024 * MiB, onRefused: (r) => refused.push(r) });
    try {
      await expect(store.put(randomBytes(1024))).rejects.toBeInstanceOf(StoreFullError);
      await expect(store.put(randomBytes(1024))).rejects.toThrow(/kept for the agent's own state/);
      expect(refused).toEqual(['reserve', 'reserve']);
      expect(store.stats().blobs).toBe(0);
    } finally {
      await store.close();
      await (await import('node:fs/promises')).rm(root, { recursive: true, force: true });
    }
  });
});
