// The v1 mesh check over real HTTP against in-process servers standing in for v1 agents —
// including hostile ones: oversized bodies, answers that never finish.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpMeshVerifier, httpGet, sumMetric } from '../../../src/hosts/mesh.js';

describe('sumMetric', () => {
  const text = [
    '# HELP bzzz_p2p_connected_peers Connected peers',
    '# TYPE bzzz_p2p_connected_peers gauge',
    'bzzz_p2p_connected_peers{transport="tcp"} 2',
    'bzzz_p2p_connected_peers{transport="ws",note="a } b"} 1 1700000000000',
    'bzzz_p2p_connected_peers_total 99',
    'other_metric 5',
    '',
  ].join('\n');

  it('sums the samples of the gauge and nothing else', () => {
    expect(sumMetric(text, 'bzzz_p2p_connected_peers')).toBe(3);
    expect(sumMetric('bzzz_p2p_connected_peers 4\n', 'bzzz_p2p_connected_peers')).toBe(4);
  });

  it('is undefined when the gauge is absent, and skips NaN', () => {
    expect(sumMetric('other 1\n', 'bzzz_p2p_connected_peers')).toBeUndefined();
    expect(sumMetric('bzzz_p2p_connected_peers NaN\n', 'bzzz_p2p_connected_peers')).toBeUndefined();
  });

  it('refuses a metric name that is not one', () => {
    expect(() => sumMetric(text, 'a b')).toThrow(/not a metric name/);
  });
});

/** A stand-in v1 agent whose behaviour each test sets. */
interface Behaviour {
  health: number;
  peers?: number;
  /** Never finishes the answer (drips a byte a second). */
  slow?: boolean;
  /** Streams this many bytes of metrics. */
  huge?: number;
}

const agents = new Map<string, { server: http.Server; port: number; b: Behaviour }>();

async function agent(name: string, b: Behaviour) {
  const entry = { b, port: 0, server: http.createServer() };
  entry.server.on('request', (req, res) => {
    const cur = entry.b;
    if (cur.slow) {
      res.writeHead(200);
      const t = setInterval(() => res.write('x'), 1000);
      res.on('close', () => clearInterval(t));
      return;
    }
    if (req.url === '/health') return void res.writeHead(cur.health).end('{}');
    if (req.url === '/metrics') {
      if (cur.huge) {
        res.writeHead(200);
        const chunk = Buffer.alloc(64 * 1024, '#');
        let sent = 0;
        const pump = () => {
          while (sent < cur.huge! && res.write(chunk)) sent += chunk.length;
          if (sent < cur.huge!) res.once('drain', pump);
          else res.end();
        };
        res.on('error', () => undefined);
        return pump();
      }
      return void res.writeHead(200).end(cur.peers === undefined ? 'up 1\n' : `bzzz_p2p_connected_peers ${cur.peers}\n`);
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => entry.server.listen(0, '127.0.0.1', () => r()));
  entry.port = (entry.server.address() as AddressInfo).port;
  agents.set(name, entry);
  return entry;
}

beforeAll(async () => {
  await agent('walnut', { health: 200, peers: 2 });
  await agent('ironwood', { health: 200, peers: 2 });
});
afterAll(async () => {
  for (const a of agents.values()) {
    a.server.closeAllConnections();
    await new Promise((r) => a.server.close(r));
  }
});

/** The stand-ins share 127.0.0.1 on different ports and the verifier has one port: one verifier per stand-in. */
function verifierFor(names: string[], over: Partial<ConstructorParameters<typeof HttpMeshVerifier>[0]> = {}) {
  const verifiers = names.map(
    (n) =>
      new HttpMeshVerifier({
        hosts: [{ name: n, address: '127.0.0.1' }],
        port: agents.get(n)!.port,
        path: '/health',
        metricsPath: '/metrics',
        peersMetric: 'bzzz_p2p_connected_peers',
        minPeers: 2,
        requestTimeoutMs: 500,
        everyMs: 50,
        ...over,
      }),
  );
  return verifiers;
}

describe('HttpMeshVerifier', () => {
  it('is ok when the host is healthy with enough peers', async () => {
    const [v] = verifierFor(['walnut']);
    expect(await v.check()).toEqual({ ok: true, hosts: [{ host: 'walnut', healthy: true, peers: 2 }] });
  });

  it('names a host with too few peers, an unhealthy one, one without the gauge', async () => {
    await agent('acacia', { health: 200, peers: 1 });
    expect((await verifierFor(['acacia'])[0].check()).reason).toBe('acacia: 1 peers, 2 needed');
    agents.get('acacia')!.b = { health: 503 };
    expect((await verifierFor(['acacia'])[0].check()).reason).toBe('acacia: /health answered 503');
    agents.get('acacia')!.b = { health: 200 };
    expect((await verifierFor(['acacia'])[0].check()).reason).toBe('acacia: /metrics has no bzzz_p2p_connected_peers');
  });

  it('with `enough` fewer than all, a host down does not hold the verification to its deadline', async () => {
    // walnut answers on 127.0.0.1 only: the same port on 127.0.0.2 refuses (a host that is down).
    const [v] = verifierFor(['walnut'], {
      hosts: [
        { name: 'walnut', address: '127.0.0.1' },
        { name: 'ghost', address: '127.0.0.2' },
      ],
    });
    const report = await v.verify({ deadlineMs: 5000, enough: 1, minPeers: 1 });
    expect(report.ok).toBe(true);
    expect(report.reason).toMatch(/^ghost: \/health: /);
    expect((await v.verify({ deadlineMs: 200 })).ok).toBe(false);
  });

  it('polls until the mesh forms', async () => {
    agents.get('acacia')!.b = { health: 503 };
    setTimeout(() => {
      agents.get('acacia')!.b = { health: 200, peers: 2 };
    }, 300);
    const report = await verifierFor(['acacia'])[0].verify({ deadlineMs: 5000 });
    expect(report.ok).toBe(true);
  });

  it('gives up at the deadline, saying why', async () => {
    agents.get('acacia')!.b = { health: 200, peers: 0 };
    const started = Date.now();
    const report = await verifierFor(['acacia'])[0].verify({ deadlineMs: 300 });
    expect(report.ok).toBe(false);
    expect(report.reason).toBe('not verified within 300ms: acacia: 0 peers, 2 needed');
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('cuts off an answer larger than the limit (attack: a huge metrics body)', async () => {
    agents.get('acacia')!.b = { health: 200, huge: 8 * 1024 * 1024 };
    const report = await verifierFor(['acacia'], { maxBodyBytes: 256 * 1024 })[0].check();
    expect(report.ok).toBe(false);
    expect(report.reason).toBe('acacia: /metrics: answered more than the 262144 bytes allowed');
  });

  it('does not wait longer than the request timeout for an answer that drips (attack: slow body)', async () => {
    agents.get('acacia')!.b = { health: 200, slow: true };
    const started = Date.now();
    const report = await verifierFor(['acacia'], { requestTimeoutMs: 300 })[0].check();
    expect(report.reason).toBe('acacia: /health: no complete answer within 300ms');
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it('reports every host, one at fault never hiding the others', async () => {
    agents.get('acacia')!.b = { health: 503 };
    const port = agents.get('walnut')!.port;
    const v = new HttpMeshVerifier({
      hosts: [
        { name: 'walnut', address: '127.0.0.1' },
        { name: 'ghost', address: '127.0.0.2' },
      ],
      port,
      path: '/health',
      metricsPath: '/metrics',
      peersMetric: 'bzzz_p2p_connected_peers',
      minPeers: 1,
      requestTimeoutMs: 500,
    });
    const report = await v.check();
    expect(report.hosts[0]).toEqual({ host: 'walnut', healthy: true, peers: 2 });
    expect(report.hosts[1].host).toBe('ghost');
    expect(report.reason).toMatch(/^ghost: \/health: /);
  });
});

describe('httpGet', () => {
  it('refuses a declared Content-Length over the limit before reading', async () => {
    const s = http.createServer((_req, res) => res.writeHead(200, { 'content-length': '999999999' }).write('x'));
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
    try {
      const port = (s.address() as AddressInfo).port;
      await expect(httpGet(`http://127.0.0.1:${port}/`, 1000, 1024)).rejects.toThrow(
        'answered 999999999 bytes, more than the 1024 allowed',
      );
    } finally {
      s.closeAllConnections();
      s.close();
    }
  });
});
