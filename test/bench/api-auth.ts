// What authentication costs on the agent API: the same requests to two agents of the same build
// in one process, one run with a callers file (every request: Authorization header, SHA-256 of
// the token, timing-safe compare against each caller, same-origin check) and one run with
// --insecure-open-cluster (the same guard without the token check). Requests alternate between
// the two, one at a time over keep-alive connections, so both see the same machine state.
// Routes: GET /api/election/status (small JSON) and GET /api/blobs/<4 KiB blob> (store read +
// verification).
//
// Run:  npm run bench:api [-- --requests 3000]
import '../../src/util/polyfill.js';
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import type { IncomingMessage } from 'node:http';
import { apiGuard } from '../../src/agent/http/auth.js';
import { apiCallerList, generateApiToken } from '../../src/crypto/api-callers.js';
import { createCluster, type Cluster } from '../agent/cluster-harness.js';

const { values } = parseArgs({ options: { requests: { type: 'string', default: '3000' }, warmup: { type: 'string', default: '300' } } });
const REQUESTS = Number(values.requests);
const WARMUP = Number(values.warmup);

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}
const fmt = (ms: number) => `${ms.toFixed(3)} ms`;

async function oneAgent(secure: boolean): Promise<{ cluster: Cluster; url: string }> {
  // Open: the harness's explicit --insecure-open-cluster mode (no member list, no callers file).
  const cluster = await createCluster({
    members: [{ role: 'backend_developer' }],
    heartbeatMs: 1000,
    electionTimeoutMs: 3000,
    open: !secure,
  });
  const m = cluster.members[0];
  if (!secure) delete m.flags.apiCallers; // and no callers file: every caller acts with the agent's role
  await cluster.startMember(m);
  return { cluster, url: m.apiUrl };
}

async function timeOne(url: string, headers: Record<string, string>): Promise<number> {
  const t0 = performance.now();
  const r = await fetch(url, { headers });
  await r.arrayBuffer();
  const ms = performance.now() - t0;
  if (r.status !== 200) throw new Error(`${url}: ${r.status}`);
  return ms;
}

const secure = await oneAgent(true);
const open = await oneAgent(false);
const token = secure.cluster.auth('backend_developer');
const blob = randomBytes(4096);
const address = async (base: string, headers: Record<string, string>) => {
  const r = await fetch(`${base}/api/blobs`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/octet-stream' },
    body: blob,
  });
  return ((await r.json()) as { address: string }).address;
};
const routes = [
  { name: 'GET /api/election/status', path: async () => '/api/election/status' },
  { name: 'GET /api/blobs/{4 KiB}', path: async (base: string, h: Record<string, string>) => `/api/blobs/${await address(base, h)}` },
];

console.log(`API latency, ${REQUESTS} requests per route and mode (after ${WARMUP} warm-up), one at a time, keep-alive`);
for (const route of routes) {
  const securePath = await route.path(secure.url, token);
  const openPath = await route.path(open.url, {});
  const t: { auth: number[]; open: number[] } = { auth: [], open: [] };
  for (let i = 0; i < WARMUP + REQUESTS; i++) {
    const a = await timeOne(`${secure.url}${securePath}`, token);
    const o = await timeOne(`${open.url}${openPath}`, {});
    if (i >= WARMUP) {
      t.auth.push(a);
      t.open.push(o);
    }
  }
  const row = (xs: number[]) => `p50 ${fmt(pct(xs, 50))}  p99 ${fmt(pct(xs, 99))}`;
  console.log(`\n${route.name}`);
  console.log(`  with token auth   ${row(t.auth)}`);
  console.log(`  open (no auth)    ${row(t.open)}`);
  console.log(
    `  ratio auth/open   p50 ${(pct(t.auth, 50) / pct(t.open, 50)).toFixed(3)}  p99 ${(pct(t.auth, 99) / pct(t.open, 99)).toFixed(3)}`,
  );
}

// The guard alone, without HTTP around it: what one request's authentication costs in CPU.
{
  const t = generateApiToken();
  const list = apiCallerList([
    ...Array.from({ length: 19 }, (_, i) => ({ name: `x${i}`, role: 'observer' as const, tokenSha256: generateApiToken().tokenSha256 })),
    { name: 'me', role: 'admin', tokenSha256: t.tokenSha256 },
  ]);
  const guard = apiGuard({ mode: 'callers', callers: list });
  const openGuard = apiGuard({ mode: 'open', role: 'observer' });
  const req = { headers: { host: 'a:1', authorization: `Bearer ${t.token}` }, socket: {} } as unknown as IncomingMessage;
  const N = 100_000;
  const per = (fn: () => unknown) => {
    const t0 = performance.now();
    for (let i = 0; i < N; i++) fn();
    return ((performance.now() - t0) / N) * 1000;
  };
  per(() => guard(req));
  const a = per(() => guard(req));
  const o = per(() => openGuard(req));
  console.log(`\nguard alone (20 callers, ${N} calls): token check ${a.toFixed(2)} µs/request, open mode ${o.toFixed(2)} µs/request`);
}
await Promise.all([secure.cluster.stopAll(), open.cluster.stopAll()]);
process.exit(0);
