// The health server's routes (BZZZ v1's endpoints, Docker/Kubernetes probe style):
//   /health         overall {status, score, peerId, uptimeSeconds}; 503 when unhealthy
//   /health/ready   200 when started and not shutting down (takes requests); 503 otherwise
//   /health/live    200 while the process serves at all
//   /health/checks  every check with its score, status and message; overall score 0..1
//   /metrics        Prometheus text, bzzz_* names
import type { Registry } from 'prom-client';
import type { HealthMonitor } from './monitor.js';
import { sendJson, type Route } from '../http/server.js';

export interface HealthRoutesDeps {
  monitor: HealthMonitor;
  registry: Registry;
  /** Brings live gauges up to date before a scrape reads them (AgentMetrics.refresh). */
  refresh(): Promise<void>;
  peerId: string;
  startedAt: number;
  now(): number;
  /** Started, and not draining. */
  ready(): { ready: boolean; reason?: string };
}

export function healthRoutes(d: HealthRoutesDeps): Route[] {
  return [
    {
      method: 'GET',
      path: '/health',
      whileDraining: true,
      async handler({ res }) {
        const r = await d.monitor.report();
        sendJson(res, r.status === 'unhealthy' ? 503 : 200, {
          status: r.status,
          score: r.score,
          peerId: d.peerId,
          uptimeSeconds: Math.round((d.now() - d.startedAt) / 1000),
          failing: r.checks.filter((ch) => ch.status !== 'pass').map((ch) => ch.name),
        });
      },
    },
    {
      method: 'GET',
      path: '/health/ready',
      whileDraining: true,
      handler({ res }) {
        const r = d.ready();
        sendJson(res, r.ready ? 200 : 503, r);
      },
    },
    {
      method: 'GET',
      path: '/health/live',
      whileDraining: true,
      handler({ res }) {
        sendJson(res, 200, { alive: true });
      },
    },
    {
      method: 'GET',
      path: '/health/checks',
      whileDraining: true,
      async handler({ res }) {
        sendJson(res, 200, await d.monitor.report());
      },
    },
    {
      method: 'GET',
      path: '/metrics',
      whileDraining: true,
      async handler({ res }) {
        await d.refresh();
        const text = await d.registry.metrics();
        res.writeHead(200, { 'content-type': d.registry.contentType, 'content-length': Buffer.byteLength(text) });
        res.end(text);
      },
    },
  ];
}
