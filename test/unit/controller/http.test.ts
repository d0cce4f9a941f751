// The HTTP endpoint on a real socket (port 0) with a real prom-client registry.
import { afterEach, describe, expect, it } from 'vitest';
import { parseListen, startHttp, type HttpEndpoint, type HttpRoute } from '../../../src/controller/http.js';
import { createControllerMetrics } from '../../../src/controller/metrics.js';
import { observeActionStarted, type AlertAction } from '../../../src/controller/webhook/handler.js';
import type { HealthReport } from '../../../src/controller/types.js';
import { InvalidInputError } from '../../../src/util/errors.js';

let endpoint: HttpEndpoint | undefined;
afterEach(async () => {
  await endpoint?.close();
  endpoint = undefined;
});

async function serve(health: () => HealthReport, ready: () => boolean = () => true) {
  const metrics = createControllerMetrics();
  endpoint = await startHttp({ listen: '127.0.0.1:0', registry: metrics.registry, health, ready });
  const base = `http://127.0.0.1:${endpoint.port}`;
  return { metrics, get: (path: string, init?: RequestInit) => fetch(`${base}${path}`, init) };
}

describe('controller HTTP endpoint', () => {
  it('serves the controller metrics and the process metrics in Prometheus text format', async () => {
    const { metrics, get } = await serve(() => ({ ok: true, checks: {} }));
    metrics.reconciled('dev', 'success', 0.012);
    metrics.driftCorrected('dev', 1);
    metrics.queue.depth(3);
    const res = await get('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    expect(text).toContain('bzzz_operator_reconcile_total{cluster="dev",result="success"} 1');
    expect(text).toContain('bzzz_operator_reconcile_duration_seconds_bucket{le="0.025",cluster="dev"} 1');
    expect(text).toContain('bzzz_operator_drift_corrections_total{cluster="dev"} 1');
    expect(text).toContain('bzzz_operator_workqueue_depth 3');
    for (const name of [
      'workqueue_adds_total',
      'workqueue_retries_total',
      'watch_reconnects_total',
      'docker_events_total',
      'engine_writes_total',
      'reconcile_errors_total',
    ]) {
      expect(text).toContain(`# TYPE bzzz_operator_${name}`);
    }
    expect(text).toContain('process_cpu_user_seconds_total');
  });

  it('answers /healthz 200 when healthy and 503 with the failing checks otherwise', async () => {
    let report: HealthReport = { ok: true, checks: { workers: { ok: true, detail: '2 workers alive' } } };
    const { get } = await serve(() => report);
    const ok = await get('/healthz');
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual(report);

    report = {
      ok: false,
      checks: { workers: { ok: true, detail: '2 workers alive' }, events: { ok: false, detail: 'docker events stream down for 75 s' } },
    };
    const bad = await get('/healthz');
    expect(bad.status).toBe(503);
    expect(await bad.json()).toMatchObject({ ok: false, reason: 'events: docker events stream down for 75 s' });
  });

  it('answers /readyz 503 until ready, then 200', async () => {
    let ready = false;
    const { get } = await serve(
      () => ({ ok: true, checks: {} }),
      () => ready,
    );
    const before = await get('/readyz');
    expect(before.status).toBe(503);
    expect(((await before.json()) as { reason: string }).reason).toMatch(/not yet listed/);
    ready = true;
    expect((await get('/readyz')).status).toBe(200);
  });

  it('answers 404 for unknown paths and 405 for other methods', async () => {
    const { get } = await serve(() => ({ ok: true, checks: {} }));
    expect((await get('/nope')).status).toBe(404);
    const post = await get('/metrics', { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });

  it('hands paths under a route prefix to that route, with its own methods, and never lets it shadow the fixed paths', async () => {
    const metrics = createControllerMetrics({ defaultMetrics: false });
    const seen: string[] = [];
    const route: HttpRoute = {
      prefix: '/hooks/',
      methods: ['POST'],
      handle: (req, res, rest) => {
        seen.push(`${req.method} ${rest}`);
        res.writeHead(204).end();
      },
    };
    const failing: HttpRoute = { prefix: '/boom/', methods: ['POST'], handle: () => Promise.reject(new Error('kaput')) };
    endpoint = await startHttp({
      listen: '127.0.0.1:0',
      registry: metrics.registry,
      health: () => ({ ok: true, checks: {} }),
      routes: [route, failing, { ...route, prefix: '/metrics' }],
    });
    const base = `http://127.0.0.1:${endpoint.port}`;
    expect((await fetch(`${base}/hooks/dev`, { method: 'POST' })).status).toBe(204);
    const get = await fetch(`${base}/hooks/dev`);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
    expect((await fetch(`${base}/metrics`)).status).toBe(200);
    const boom = await fetch(`${base}/boom/x`, { method: 'POST' });
    expect(boom.status).toBe(500);
    expect(await boom.json()).toEqual({ error: '/boom/ failed: kaput' });
    expect(seen).toEqual(['POST dev']);
  });

  it('exports the webhook and notification metrics', async () => {
    const { metrics, get } = await serve(() => ({ ok: true, checks: {} }));
    metrics.webhook.request('unauthorized');
    observeActionStarted(metrics.webhook, { receivedAt: new Date(1000) } as AlertAction, new Date(1300));
    metrics.notifications.notification('slack', 'retried');
    const text = await (await get('/metrics')).text();
    expect(text).toContain('bzzz_operator_webhook_requests_total{outcome="unauthorized"} 1');
    expect(text).toContain('bzzz_operator_alert_to_action_seconds_bucket{le="0.5"} 1');
    expect(text).toContain('bzzz_operator_alert_to_action_seconds_sum 0.3');
    expect(text).toContain('bzzz_operator_notifications_total{channel="slack",outcome="retried"} 1');
  });

  it('refuses a taken port with a message naming --listen', async () => {
    await serve(() => ({ ok: true, checks: {} }));
    const metrics = createControllerMetrics({ defaultMetrics: false });
    await expect(
      startHttp({ listen: `127.0.0.1:${endpoint?.port}`, registry: metrics.registry, health: () => ({ ok: true, checks: {} }) }),
    ).rejects.toThrow(/--listen "127\.0\.0\.1:\d+": cannot listen there/);
  });

  it('parses listen addresses', () => {
    expect(parseListen('0.0.0.0:9464')).toEqual({ host: '0.0.0.0', port: 9464 });
    expect(parseListen(':9464')).toEqual({ host: undefined, port: 9464 });
    expect(parseListen('[::1]:0')).toEqual({ host: '::1', port: 0 });
    expect(() => parseListen('localhost:http')).toThrow(InvalidInputError);
    expect(() => parseListen('localhost:70000')).toThrow(/0 to 65535/);
  });
});
