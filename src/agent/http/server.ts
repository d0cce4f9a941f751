// A small HTTP server over node:http: a table of routes (`/api/blobs/:address`), JSON answers,
// errors mapped in one place, per-request metrics, and a drain mode for shutdown — new requests
// get 503 (except routes marked for it, like liveness) while requests in flight finish.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../../util/log.js';
import type { AgentMetrics } from '../metrics.js';
import { errorAnswer } from './errors.js';

export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

export interface RouteContext {
  req: IncomingMessage;
  res: ServerResponse;
  params: Record<string, string>;
  /** Aborted when the client goes away. */
  signal: AbortSignal;
}

export interface Route {
  method: Method;
  /** Segments starting with ':' capture one path segment (URL-decoded). */
  path: string;
  handler(ctx: RouteContext): Promise<void> | void;
  /** Still served while the server drains (liveness, readiness reporting 503 itself). */
  whileDraining?: boolean;
}

export interface HttpServerInit {
  name: string;
  host: string;
  port: number;
  routes: readonly Route[];
}

export interface HttpServerComponents {
  metrics: AgentMetrics;
  log: Logger;
}

export interface HttpServer {
  start(): Promise<void>;
  /** Refuse new requests (503) but keep serving those in flight. */
  drain(): void;
  readonly draining: boolean;
  /** Stop listening, wait up to `graceMs` for requests in flight, then close every connection. */
  stop(graceMs?: number): Promise<void>;
  /** The bound port (after start). */
  port(): number;
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(text);
}

interface CompiledRoute extends Route {
  parts: string[];
}

function match(route: CompiledRoute, segments: string[]): Record<string, string> | undefined {
  if (route.parts.length !== segments.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < segments.length; i++) {
    const p = route.parts[i];
    if (p.startsWith(':')) {
      try {
        params[p.slice(1)] = decodeURIComponent(segments[i]);
      } catch {
        return undefined;
      }
    } else if (p !== segments[i]) {
      return undefined;
    }
  }
  return params;
}

export function createHttpServer(c: HttpServerComponents, init: HttpServerInit): HttpServer {
  const routes: CompiledRoute[] = init.routes.map((r) => ({ ...r, parts: r.path.split('/').filter(Boolean) }));
  let draining = false;
  let inflight = 0;
  let idle: (() => void) | undefined;
  const log = c.log.child({ server: init.name });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://agent');
    const segments = url.pathname.split('/').filter(Boolean);
    const found = routes.map((r) => ({ r, params: match(r, segments) })).filter((m) => m.params !== undefined);
    const hit = found.find((m) => m.r.method === req.method);
    const routeName = hit ? hit.r.path : 'unmatched';
    const end = c.metrics.httpRequestSeconds.startTimer({ route: routeName, method: req.method ?? '' });
    const controller = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) controller.abort();
      end({ status: String(res.statusCode) });
    });
    if (draining && !(hit?.r.whileDraining ?? false)) {
      res.setHeader('connection', 'close');
      sendJson(res, 503, { error: 'shutting_down', message: 'this agent is shutting down: send the request to another agent' });
      return;
    }
    if (!hit) {
      if (found.length > 0) {
        res.setHeader('allow', [...new Set(found.map((m) => m.r.method))].join(', '));
        sendJson(res, 405, { error: 'method_not_allowed', message: `${req.method} is not served on ${url.pathname}` });
      } else {
        sendJson(res, 404, { error: 'not_found', message: `no route ${req.method} ${url.pathname}` });
      }
      return;
    }
    try {
      await hit.r.handler({ req, res, params: hit.params ?? {}, signal: controller.signal });
    } catch (err) {
      const a = errorAnswer(err);
      if (a.internal) {
        c.metrics.errorsTotal.inc({ component: 'http' });
        log.error({ err, route: routeName }, 'request failed');
      }
      if (!res.headersSent) {
        // An upload cut off at the limit: close rather than read the rest of it.
        if (a.status === 413) res.setHeader('connection', 'close');
        sendJson(res, a.status, a.body);
      } else {
        res.destroy(err instanceof Error ? err : undefined);
      }
    }
  }

  const server: Server = createServer((req, res) => {
    inflight++;
    res.on('close', () => {
      inflight--;
      if (inflight === 0) idle?.();
    });
    handle(req, res).catch((err: unknown) => {
      log.error({ err }, 'request handler crashed');
      res.destroy();
    });
  });
  server.keepAliveTimeout = 5_000;
  server.requestTimeout = 0; // large blob uploads: bounded by the body limit, not a timer

  return {
    start: () =>
      new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(init.port, init.host, () => {
          server.off('error', reject);
          log.info({ host: init.host, port: (server.address() as AddressInfo).port }, 'listening');
          resolve();
        });
      }),
    drain() {
      draining = true;
    },
    get draining() {
      return draining;
    },
    async stop(graceMs = 0) {
      draining = true;
      if (!server.listening) return;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      if (inflight > 0) {
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, graceMs);
          idle = () => {
            clearTimeout(t);
            resolve();
          };
        });
      }
      server.closeAllConnections();
      await closed;
    },
    port: () => (server.address() as AddressInfo | null)?.port ?? 0,
  };
}
