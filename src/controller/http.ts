// The controller's HTTP endpoint: GET /metrics (Prometheus text), /healthz (liveness: 200 or
// 503 with the failing checks as JSON), /readyz (200 once the first full list was queued), and
// whatever routes the composition adds under a path prefix (the Alertmanager webhook). Header and
// request timeouts and a connection cap bound what a slow or greedy client can hold.
import { createServer, STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { InvalidInputError, errorMessage } from '../util/errors.js';
import { silentLogger, type Logger } from '../util/log.js';
import type { HealthReport } from './types.js';

export interface HttpOptions {
  /** `host:port`, `:port` or `[v6]:port`; port 0 picks a free one (see the returned `port`). */
  listen: string;
  registry: Registry;
  health: () => HealthReport;
  /** Readiness; defaults to always ready. */
  ready?: () => boolean;
  log?: Logger;
  /** More routes, each owning the paths under its prefix (they never shadow the fixed ones). */
  routes?: readonly HttpRoute[];
}

export interface HttpRoute {
  /** The path prefix this route owns, e.g. `/webhooks/alertmanager/`; the rest of the path goes to `handle`. */
  readonly prefix: string;
  /** Methods it answers; others get 405. */
  readonly methods: readonly string[];
  handle(req: IncomingMessage, res: ServerResponse, rest: string): Promise<void> | void;
}

/** Limits of the server as a whole: a client has this long to send its headers, and its whole request. */
export const HTTP_HEADERS_TIMEOUT_MS = 10_000;
export const HTTP_REQUEST_TIMEOUT_MS = 30_000;
export const HTTP_MAX_CONNECTIONS = 256;

export interface HttpEndpoint {
  readonly port: number;
  readonly host: string;
  close(): Promise<void>;
}

export function parseListen(listen: string): { host: string | undefined; port: number } {
  const at = listen.lastIndexOf(':');
  const rawHost = at < 0 ? '' : listen.slice(0, at);
  const rawPort = at < 0 ? listen : listen.slice(at + 1);
  const port = Number(rawPort);
  if (rawPort === '' || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new InvalidInputError(`--listen "${listen}": the port must be a number from 0 to 65535, as in "0.0.0.0:9464" or ":9464"`);
  }
  const host = rawHost.replace(/^\[(.*)\]$/, '$1');
  return { host: host === '' ? undefined : host, port };
}

export async function startHttp(options: HttpOptions): Promise<HttpEndpoint> {
  const { registry, health } = options;
  const ready = options.ready ?? (() => true);
  const log = options.log ?? silentLogger();
  const { host, port } = parseListen(options.listen);

  const routes: Record<string, (res: ServerResponse) => Promise<void> | void> = {
    '/metrics': async (res) => {
      const body = await registry.metrics();
      res.writeHead(200, { 'content-type': registry.contentType }).end(body);
    },
    '/healthz': (res) => {
      const report = health();
      const failing = Object.entries(report.checks)
        .filter(([, c]) => !c.ok)
        .map(([name, c]) => `${name}: ${c.detail}`);
      const body = report.ok ? report : { ...report, reason: failing.join('; ') || 'unhealthy' };
      json(res, report.ok ? 200 : 503, body);
    },
    '/readyz': (res) => {
      if (ready()) json(res, 200, { ready: true });
      else json(res, 503, { ready: false, reason: 'the controller has not yet listed and queued the stored clusters' });
    },
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const fixed = Object.hasOwn(routes, path) ? routes[path] : undefined;
    const extra = fixed ? undefined : options.routes?.find((r) => path.startsWith(r.prefix));
    if (!fixed && !extra) return json(res, 404, { error: `no such path ${path}; try /metrics, /healthz or /readyz` });
    const methods = extra?.methods ?? ['GET', 'HEAD'];
    if (!methods.includes(req.method ?? '')) {
      res.setHeader('allow', methods.join(', '));
      return json(res, 405, { error: `${req.method} is not allowed on ${path}; use ${methods.join(' or ')}` });
    }
    const where = extra ? extra.prefix : path;
    Promise.resolve()
      .then(() => (extra ? extra.handle(req, res, path.slice(extra.prefix.length)) : fixed?.(res)))
      .catch((err: unknown) => {
        log.error({ path: where, err: errorMessage(err) }, 'http handler failed');
        if (!res.headersSent) json(res, 500, { error: `${where} failed: ${errorMessage(err)}` });
        else res.destroy();
      });
  });
  // Requests Node's parser refuses (a body longer than its Content-Length runs into the next
  // "request", headers too large, too slow): answered with a reason, like every other refusal.
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    const [status, reason] =
      err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, `the request did not arrive within ${HTTP_REQUEST_TIMEOUT_MS} ms`]
        : err.code === 'HPE_HEADER_OVERFLOW'
          ? [431, 'the request headers are too large']
          : [400, `not a valid HTTP/1.1 request (${err.code ?? 'parse error'}); is a body longer than its Content-Length?`];
    const busy = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent === true;
    if (socket.writable && !busy) {
      const body = `${JSON.stringify({ error: 'malformed', reason })}\n`;
      socket.write(
        `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
    }
    socket.destroy();
  });
  server.headersTimeout = HTTP_HEADERS_TIMEOUT_MS;
  server.requestTimeout = HTTP_REQUEST_TIMEOUT_MS;
  server.maxConnections = HTTP_MAX_CONNECTIONS;

  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) =>
      reject(
        new InvalidInputError(`--listen "${options.listen}": cannot listen there (${errorMessage(err)}); pick a free port`, { cause: err }),
      ),
    );
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  log.info(
    { host: address.address, port: address.port, routes: (options.routes ?? []).map((r) => r.prefix) },
    'serving /metrics, /healthz and /readyz',
  );

  return {
    port: address.port,
    host: address.address,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

export function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, { ...headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) }).end(text);
}
