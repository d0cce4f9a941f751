// A throwaway HTTP server on 127.0.0.1 for tests: serves what the test decides (a prom-client
// registry's /metrics, a crafted Prometheus answer, a server that never answers).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface TestServer {
  /** http://127.0.0.1:<port> */
  url: string;
  /** 127.0.0.1:<port>, as a scrape target. */
  hostPort: string;
  close(): Promise<void>;
}

export async function serveHttp(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<TestServer> {
  const server: Server = createServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    hostPort: `127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Serves `registry` at /metrics as an agent's health port does (404 elsewhere). */
export function serveRegistry(registry: Registry): Promise<TestServer> {
  return serveHttp((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    void registry.metrics().then((text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text));
  });
}
