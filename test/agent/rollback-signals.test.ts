// What metric-driven rollback reads from a real agent (issue 9): each trigger's metric moves with
// real behaviour, and each BZZZ_FAULT mode changes what a scraper of /metrics and a caller of
// /health see. One agent on loopback, restarted with another --fault for each mode.
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { totalmem } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addressHex, hashBytes } from '../../src/agent/cas/index.js';
import { scrape } from '../support/prom-text.js';
import { createCluster, getJson, waitFor, type Cluster, type Member } from './cluster-harness.js';

const HEALTH_CACHE_MS = 1_100;

let cluster: Cluster;
let agent: Member;

async function restartWith(fault: string | undefined): Promise<void> {
  await cluster.stopMember(agent, 0);
  if (fault === undefined) delete agent.flags.fault;
  else agent.flags.fault = fault;
  await cluster.startMember(agent);
  await waitFor('an elected admin', async () => {
    const s = await getJson<{ admin: string | null }>(`${agent.healthUrl}/health/checks`);
    return s.status === 200 ? true : undefined;
  });
}

const api = (path: string, init: RequestInit = {}): Promise<Response> =>
  fetch(`${agent.apiUrl}${path}`, { ...init, headers: { ...cluster.auth('admin'), ...init.headers }, signal: AbortSignal.timeout(30_000) });

const putBlob = (bytes: Uint8Array): Promise<Response> =>
  api('/api/blobs', { method: 'POST', body: bytes, headers: { 'content-type': 'application/octet-stream' } });

beforeAll(async () => {
  cluster = await createCluster({ members: [{ role: 'admin' }], heartbeatMs: 100, electionTimeoutMs: 400, replicationFactor: 1 });
  agent = cluster.members[0];
  await cluster.startMember(agent);
});

afterAll(async () => {
  await cluster?.stopAll();
});

describe('the metrics the rollback triggers read, moved by real behaviour', () => {
  it('counts API requests by server in the latency histogram (the error rate divides by its _count)', async () => {
    const was = await scrape(agent.healthUrl);
    for (let i = 0; i < 5; i++) expect((await api('/api/election/status')).status).toBe(200);
    const now = await scrape(agent.healthUrl);
    const apiCount = (m: typeof now) => m('bzzz_http_request_duration_seconds_count', { server: 'api' }) ?? 0;
    expect(apiCount(now) - apiCount(was)).toBe(5);
    expect(now('bzzz_http_request_duration_seconds_count', { server: 'api', route: '/api/election/status', status: '200' })).toBe(5);
    // The scrapes themselves count on the health server, never in the API's denominator.
    expect(now('bzzz_http_request_duration_seconds_count', { server: 'health', route: '/metrics' })).toBeGreaterThanOrEqual(1);
    expect(now('bzzz_errors_total', { component: 'http' })).toBe(0);
  });

  it("reports memory in use against the container's limit, and the use rises with an allocation", async () => {
    const m = await scrape(agent.healthUrl);
    const limit = m('bzzz_memory_limit_bytes') ?? 0;
    const usage = m('bzzz_memory_usage_bytes') ?? 0;
    expect(limit).toBeGreaterThan(0);
    expect(limit).toBeLessThanOrEqual(totalmem());
    expect(usage).toBeGreaterThan(0);
    expect(m('bzzz_memory_usage_ratio')).toBeCloseTo(usage / limit, 6);

    const big = Buffer.alloc(384 * 1024 * 1024, 1); // touched: resident, not only reserved
    await new Promise((r) => setTimeout(r, HEALTH_CACHE_MS));
    const grown = (await scrape(agent.healthUrl))('bzzz_memory_usage_bytes') ?? 0;
    expect(big[big.length - 1]).toBe(1);
    expect(grown - usage).toBeGreaterThan(192 * 1024 * 1024);
  });

  it('counts store operations, and an errno from the disk as a store I/O error', async () => {
    const was = await scrape(agent.healthUrl);
    const good = new TextEncoder().encode(`good blob ${Date.now()}`);
    const put = await putBlob(good);
    expect(put.status).toBe(201);
    const { address } = (await put.json()) as { address: string };
    expect((await api(`/api/blobs/${address}`)).status).toBe(200);

    // A file where the blob's shard directory must go: the filesystem refuses (ENOTDIR / EEXIST).
    const bad = new TextEncoder().encode(`blob whose shard is blocked ${Date.now()}`);
    const hex = addressHex(hashBytes(bad));
    const blobs = join(agent.dataDir, 'store', 'blobs');
    await mkdir(join(blobs, hex.slice(0, 2)), { recursive: true });
    await writeFile(join(blobs, hex.slice(0, 2), hex.slice(2, 4)), 'not a directory');
    try {
      expect((await putBlob(bad)).status).toBe(500);
    } finally {
      await rm(join(blobs, hex.slice(0, 2), hex.slice(2, 4)), { force: true });
    }

    const now = await scrape(agent.healthUrl);
    const delta = (name: string, labels: Record<string, string>) => (now(name, labels) ?? 0) - (was(name, labels) ?? 0);
    expect(delta('bzzz_store_operations_total', { op: 'put', outcome: 'ok' })).toBe(1);
    expect(delta('bzzz_store_operations_total', { op: 'put', outcome: 'error' })).toBe(1);
    expect(delta('bzzz_store_operations_total', { op: 'get_buffer', outcome: 'ok' })).toBe(1);
    expect(delta('bzzz_store_io_errors_total', { op: 'put', kind: 'errno' })).toBe(1);
    expect(delta('bzzz_store_io_errors_total', { kind: 'corruption' })).toBe(0);
    expect(delta('bzzz_errors_total', { component: 'store' })).toBe(1);
    expect(delta('bzzz_errors_total', { component: 'http' })).toBe(1);
    // A healthy agent: no failing check, status healthy or degraded, never unhealthy.
    expect(now('bzzz_health_status', { status: 'unhealthy' })).toBe(0);
  });

  it('counts bytes that no longer match their address as a corruption I/O error', async () => {
    const bytes = new TextEncoder().encode(`blob to corrupt ${Date.now()}`);
    const put = await putBlob(bytes);
    const { address } = (await put.json()) as { address: string };
    const hex = addressHex(hashBytes(bytes));
    await writeFile(join(agent.dataDir, 'store', 'blobs', hex.slice(0, 2), hex.slice(2, 4), hex), 'flipped bytes');
    const was = await scrape(agent.healthUrl);
    expect((await api(`/api/blobs/${address}`)).status).not.toBe(200);
    const now = await scrape(agent.healthUrl);
    expect(
      (now('bzzz_store_io_errors_total', { kind: 'corruption' }) ?? 0) - (was('bzzz_store_io_errors_total', { kind: 'corruption' }) ?? 0),
    ).toBe(1);
  });
});

describe('BZZZ_FAULT: a bad release a setting switches', () => {
  it('unhealthy: /health answers 503 naming the fault, metrics say unhealthy; liveness and the API still answer', async () => {
    await restartWith('unhealthy');
    const health = await getJson<{ status: string; failing: string[] }>(`${agent.healthUrl}/health`);
    expect(health.status).toBe(503);
    expect(health.body).toMatchObject({ status: 'unhealthy' });
    expect(health.body.failing).toContain('fault');
    const checks = await getJson<{ checks: Array<{ name: string; status: string; message: string }> }>(`${agent.healthUrl}/health/checks`);
    expect(checks.body.checks.find((c) => c.name === 'fault')).toMatchObject({ status: 'fail' });
    expect(checks.body.checks.find((c) => c.name === 'fault')?.message).toContain('BZZZ_FAULT=unhealthy');
    expect((await getJson(`${agent.healthUrl}/health/live`)).status).toBe(200);
    expect((await api('/api/election/status')).status).toBe(200);

    const m = await scrape(agent.healthUrl);
    expect(m('bzzz_health_status', { status: 'unhealthy' })).toBe(1);
    expect(m('bzzz_health_status', { status: 'healthy' })).toBe(0);
    expect(m('bzzz_health_check_failures_total', { check: 'fault' })).toBeGreaterThanOrEqual(1);
    expect(m('bzzz_system_health_score')).toBeLessThan(1);
    // Every later health run fails again: the counter keeps rising while the fault is on.
    await new Promise((r) => setTimeout(r, HEALTH_CACHE_MS));
    expect((await scrape(agent.healthUrl))('bzzz_health_check_failures_total', { check: 'fault' })).toBeGreaterThan(
      m('bzzz_health_check_failures_total', { check: 'fault' }) ?? 0,
    );
  });

  it('errors: API requests answer 500 and bzzz_errors_total{component="http"} rises with them; auth still comes first', async () => {
    await restartWith('errors');
    for (let i = 0; i < 4; i++) {
      const r = await api('/api/election/status');
      expect(r.status).toBe(500);
      expect(await r.json()).toMatchObject({ error: 'fault_injected' });
    }
    const stranger = await fetch(`${agent.apiUrl}/api/election/status`);
    expect(stranger.status).toBe(401);
    expect((await getJson(`${agent.healthUrl}/health`)).status).toBe(200);
    const m = await scrape(agent.healthUrl);
    expect(m('bzzz_errors_total', { component: 'http' })).toBe(4);
    expect(m('bzzz_http_request_duration_seconds_count', { server: 'api', status: '500' })).toBe(4);
    expect(m('bzzz_http_request_duration_seconds_count', { server: 'api' })).toBe(5);
  });

  it('errors=25%: exactly one API request in four fails, so the error rate is 25 %', async () => {
    await restartWith('errors=25%');
    const statuses: number[] = [];
    for (let i = 0; i < 20; i++) statuses.push((await api('/api/election/status')).status);
    expect(statuses.filter((s) => s === 500)).toHaveLength(5);
    const m = await scrape(agent.healthUrl);
    expect(
      (m('bzzz_errors_total', { component: 'http' }) ?? 0) / (m('bzzz_http_request_duration_seconds_count', { server: 'api' }) ?? 1),
    ).toBe(0.25);
  });

  it('slow=300ms: API answers take 300 ms more (in the latency histogram too); health and metrics do not', async () => {
    await restartWith('slow=300ms');
    const t0 = performance.now();
    expect((await api('/api/election/status')).status).toBe(200);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(295);
    expect((await getJson(`${agent.healthUrl}/health/live`)).status).toBe(200);
    const m = await scrape(agent.healthUrl);
    // Not delayed: the health server's answers sit in the buckets below the injected 300 ms.
    expect(m('bzzz_http_request_duration_seconds_bucket', { server: 'health', route: '/health/live', le: '0.1' })).toBe(1);
    const mean =
      (m('bzzz_http_request_duration_seconds_sum', { server: 'api' }) ?? 0) /
      (m('bzzz_http_request_duration_seconds_count', { server: 'api' }) ?? 1);
    expect(mean).toBeGreaterThanOrEqual(0.29);
    expect(m('bzzz_http_request_duration_seconds_bucket', { server: 'api', le: '0.1' })).toBe(0);
    expect(m('bzzz_errors_total', { component: 'http' })).toBe(0);
  });

  it('off again: the same agent without the setting is healthy and fast', async () => {
    await restartWith(undefined);
    expect((await getJson(`${agent.healthUrl}/health`)).status).toBe(200);
    expect((await api('/api/election/status')).status).toBe(200);
    const m = await scrape(agent.healthUrl);
    expect(m('bzzz_http_request_duration_seconds_bucket', { server: 'api', le: '0.1' })).toBe(1);
    expect(m('bzzz_health_status', { status: 'unhealthy' })).toBe(0);
  });
});
