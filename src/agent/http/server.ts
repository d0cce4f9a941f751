// A small HTTP server over node:http: a table of routes (`/api/blobs/:address`), JSON answers,
// errors mapped in one place, per-request metrics, and a drain mode for shutdown — new requests
// get 503 (except routes marked for it, like liveness) while requests in flight finish.
//
// Every request passes the server's guard first (the API's: origin, then authentication), before
// any route is matched: a stranger learns nothing, not even which routes exist. Requests that
// change something must carry a body type the route accepts (415 otherwise). Timeouts and a
// connection cap (limits.ts) bound what stalled clients can hold.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ApiCaller } from '../../crypto/api-callers.js';
import type { Logger } from '../../util/log.js';
import type { AgentMetrics } from '../metrics.js';
import { errorAnswer } from './errors.js';
import { checkingIntervalMs, DEFAULT_HTTP_LIMITS, type HttpLimits } from './limits.js';
import { JSON_BODY, MUTATING_METHODS, requireMediaType } from './media-type.js';

export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

export interface RouteContext {
  req: IncomingMessage;
  res: ServerResponse;
  params: Record<string, string>;
  /** Aborted when the client goes away. */
  signal: AbortSignal;
  /** Who is calling, as the server's guard established (undefined on servers without one: health). */
  caller: ApiCaller | undefined;
}

export interface Route {
  method: Method;
  /** Segments starting with ':' capture one path segment (URL-decoded). */
  path: string;
  handler(ctx: RouteContext): Promise<void> | void;
  /** Still served while the server drains (liveness, readiness reporting 503 itself). */
  whileDraining?: boolean;
  /** Body media types a POST/PUT/DELETE may carry. Default: application/json only. */
  accepts?: readonly string[];
}

export interface HttpServerInit {
  name: string;
  host: string;
  port: number;
  routes: readonly Route[];
  /** Defaults: DEFAULT_HTTP_LIMITS. */
  limits?: Partial<HttpLimits>;
  /**
   * Runs before routing on every request: returns the caller, or throws an HttpError (401, 403)
   * that becomes the answer.
   */
  guard?(req: IncomingMessage): ApiCaller;
  /**
   * Runs after the guard, before the route's handler, on every routed request (fault injection:
   * delays, injected failures). What it throws becomes the answer, like a handler's error.
   */
  beforeHandler?(signal: AbortSignal): Promise<void>;
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

/** The client went away (closed the socket, aborted the upload): not the server's failure. */
function clientGone(req: IncomingMessage, signal: AbortSignal, err: unknown): boolean {
  // A request whose body was read whole is destroyed too (autoDestroy): only an unfinished one, a
  // closed socket or an aborted answer mean the client left.
  if (signal.aborted || req.socket.destroyed || (req.destroyed && !req.complete)) return true;
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'ECONNABORTED';
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
    const end = c.metrics.httpRequestSeconds.startTimer({ server: init.name, route: routeName, method: req.method ?? '' });
    const controller = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) controller.abort();
      end({ status: String(res.statusCode) });
    });
    const fail = (err: unknown): void => {
      const a = errorAnswer(err);
      if (a.internal && !clientGone(req, controller.signal, err)) {
        c.metrics.errorsTotal.inc({ component: 'http' });
        log.error({ err, route: routeName }, 'request failed');
      } else if (a.internal) {
        log.debug({ route: routeName, method: req.method }, 'client went away before the answer');
      }
      if (res.headersSent || res.destroyed) {
        res.destroy();
        return;
      }
      for (const [k, v] of Object.entries(a.headers)) res.setHeader(k, v);
      // A body left unread (refused upload, 401 before the body): close rather than read the rest.
      if (!req.complete) res.setHeader('connection', 'close');
      sendJson(res, a.status, a.body);
    };
    if (draining && !(hit?.r.whileDraining ?? false)) {
      res.setHeader('connection', 'close');
      sendJson(res, 503, { error: 'shutting_down', message: 'this agent is shutting down: send the request to another agent' });
      return;
    }
    let caller: ApiCaller | undefined;
    try {
      caller = init.guard?.(req);
    } catch (err) {
      fail(err);
      return;
    }
    if (!hit) {
      if (!req.complete) res.setHeader('connection', 'close');
      if (found.length > 0) {
        res.setHeader('allow', [...new Set(found.map((m) => m.r.method))].join(', '));
        sendJson(res, 405, { error: 'method_not_allowed', message: `${req.method} is not served on this path` });
      } else {
        sendJson(res, 404, { error: 'not_found', message: `no route ${req.method} ${url.pathname.slice(0, 200)}` });
      }
      return;
    }
    try {
      if (MUTATING_METHODS.has(req.method ?? '')) requireMediaType(req, hit.r.accepts ?? JSON_BODY, `${req.method} ${hit.r.path}`);
      await init.beforeHandler?.(controller.signal);
      await hit.r.handler({ req, res, params: hit.params ?? {}, signal: controller.signal, caller });
    } catch (err) {
      fail(err);
    }
  }

  const limits: HttpLimits = { ...DEFAULT_HTTP_LIMITS, ...init.limits };
  const server: Server = createServer(
    {
      // Node refuses a header timeout longer than the request timeout.
      headersTimeout: Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs),
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      connectionsCheckingInterval: checkingIntervalMs(limits),
    },
    (req, res) => {
      inflight++;
      res.on('close', () => {
        inflight--;
        if (inflight === 0) idle?.();
      });
      handle(req, res).catch((err: unknown) => {
        log.error({ err }, 'request handler crashed');
        res.destroy();
      });
    },
  );
  // No 'timeout' listener: Node destroys a socket idle for this long (no bytes either way).
  server.setTimeout(limits.idleTimeoutMs);
  server.maxConnections = limits.maxConnections;
  server.on('drop', () => log.debug({ maxConnections: limits.maxConnections }, 'connection refused: at the connection cap'));

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
