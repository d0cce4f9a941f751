#!/usr/bin/env node
// Memory per idle agent: RSS of `node bin/bzzzctl.js agent run` processes in a 3-agent cluster on
// loopback after they have idled (heartbeats, DHT upkeep, GossipSub heartbeats), against a bare
// `node` process idling beside them in the same run. Target (issue 3): < 150 MiB per agent.
//
//   npm run build && node test/bench/agent-rss.mjs            # 30 s idle
//   BENCH_IDLE_S=60 node test/bench/agent-rss.mjs
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const IDLE_S = Number(process.env.BENCH_IDLE_S ?? 30);
const AGENTS = Number(process.env.BENCH_AGENTS ?? 3);
const root = resolve(import.meta.dirname, '../..');
const MiB = 1024 * 1024;

const handedOut = new Set();
async function freePort() {
  for (;;) {
    const port = await anyFreePort();
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
}

function anyFreePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

function rss(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

const dir = mkdtempSync(join(tmpdir(), 'bzzz-rss-'));
const procs = [];
try {
  const ports = [];
  for (let i = 0; i < AGENTS; i++) ports.push({ p2p: await freePort(), api: await freePort(), health: await freePort() });
  const bootstrap = ports.map((p) => `127.0.0.1:${p.p2p}`).join(',');
  for (let i = 0; i < AGENTS; i++) {
    const args = [
      'bin/bzzzctl.js',
      'agent',
      'run',
      '--data-dir',
      join(dir, `a${i}`),
      '--host',
      '127.0.0.1',
      '--p2p-port',
      String(ports[i].p2p),
      '--api-port',
      String(ports[i].api),
      '--health-port',
      String(ports[i].health),
      '--bootstrap',
      bootstrap,
      '--cluster-size',
      String(AGENTS),
      '--heartbeat-ms',
      '5000',
      '--election-timeout-ms',
      '15000',
      // The benchmark reads only /metrics on the health port: no API callers needed.
      '--insecure-open-cluster',
    ];
    const p = spawn(process.execPath, args, {
      cwd: root,
      stdio: ['ignore', 'pipe', 'ignore'],
      env: { ...process.env, BZZZ_LOG_LEVEL: 'warn' },
    });
    procs.push(p);
  }
  const bare = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  procs.push(bare);
  // Wait for each agent's start line, then idle.
  await Promise.all(
    procs.slice(0, AGENTS).map(
      (p) =>
        new Promise((res, rej) => {
          p.stdout.once('data', res);
          p.once('exit', (code) => rej(new Error(`agent exited with ${code} before it started: run npm run build first`)));
        }),
    ),
  );
  process.stderr.write(`${AGENTS} agents started; idling ${IDLE_S} s\n`);
  await new Promise((r) => setTimeout(r, IDLE_S * 1000));
  const peers = await Promise.all(
    ports.map(async (p) => {
      const text = await (await fetch(`http://127.0.0.1:${p.health}/metrics`)).text();
      return Number(/^bzzz_p2p_connected_peers (\S+)/m.exec(text)?.[1] ?? NaN);
    }),
  );
  const agentRss = procs.slice(0, AGENTS).map((p) => rss(p.pid));
  const bareRss = rss(bare.pid);
  const mib = (b) => (b / MiB).toFixed(1);
  console.log(`RSS after ${IDLE_S} s idle (${AGENTS}-agent cluster on loopback, connected peers per agent: ${peers.join(', ')})`);
  console.log(`  bare node (peer)   ${mib(bareRss)} MiB`);
  agentRss.forEach((r, i) =>
    console.log(
      `  agent ${i}            ${mib(r)} MiB   ${(r / bareRss).toFixed(1)}x bare node   ${r < 150 * MiB ? 'under' : 'OVER'} the 150 MiB target`,
    ),
  );
  const max = Math.max(...agentRss);
  process.exitCode = max < 150 * MiB ? 0 : 1;
} finally {
  for (const p of procs) p.kill('SIGTERM');
  await Promise.all(procs.map((p) => (p.exitCode === null ? new Promise((r) => p.once('exit', r)) : undefined)));
  rmSync(dir, { recursive: true, force: true });
}
