// Free TCP ports on 127.0.0.1 for tests that start servers (agents, Prometheus, metric servers).
import { createServer } from 'node:net';

const handedOut = new Set<number>();

/** A TCP port free on 127.0.0.1 now, never the same one twice in this process. */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await anyFreePort();
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
}

function anyFreePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}
