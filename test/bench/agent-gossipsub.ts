// GossipSub propagation on loopback: one agent of a 5-agent cluster publishes on
// bzzz/coordination/v1 (StrictSign: every message signed and verified), the other four time
// publish → delivery on one clock (same process). Peer in the same run: a plain TCP echo round
// trip on loopback (node:net), the floor any message between two processes pays.
//
// The five agents share one event loop here, so a delivery waits behind the other agents' work:
// an upper bound of what separate processes would see.
//
// Two clusters in the same run, one after the other: OPEN (--insecure-open-cluster: StrictSign
// only) and CLOSED (member list: connection gater, member-only topic validators, election proofs
// in heartbeats), so the cost of issue 7's checks is a ratio from one run.
//
// Run:  npx esbuild test/bench/agent-gossipsub.ts --bundle --platform=node --format=esm \
//         --packages=external --outfile=dist/bench/agent-gossipsub.mjs --log-level=warning \
//       && node dist/bench/agent-gossipsub.mjs [--messages 500] [--interval-ms 10]
import '../../src/util/polyfill.js';
import { createServer, connect, type Socket } from 'node:net';
import { parseArgs } from 'node:util';
import { COORDINATION_TOPIC } from '../../src/agent/p2p/index.js';
import { createCluster, waitFor } from '../agent/cluster-harness.js';

const { values } = parseArgs({
  options: {
    messages: { type: 'string', default: '500' },
    'interval-ms': { type: 'string', default: '10' },
    // Which clusters, in order (one of them alone: the same conditions as a single-cluster run).
    modes: { type: 'string', default: 'open,closed,closed,open' },
  },
});
const MESSAGES = Number(values.messages);
const INTERVAL = Number(values['interval-ms']);

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}
const fmt = (ms: number) => `${ms.toFixed(3)} ms`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** TCP echo round trips on loopback: 32-byte messages, one at a time. */
async function tcpEcho(n: number): Promise<number[]> {
  const server = createServer((s) => s.pipe(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const sock: Socket = connect(port, '127.0.0.1');
  sock.setNoDelay(true);
  await new Promise<void>((r) => sock.once('connect', r));
  const times: number[] = [];
  const msg = Buffer.alloc(32, 7);
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    let got = 0;
    await new Promise<void>((resolve) => {
      const onData = (d: Buffer) => {
        got += d.length;
        if (got >= msg.length) {
          sock.off('data', onData);
          resolve();
        }
      };
      sock.on('data', onData);
      sock.write(msg);
    });
    times.push(performance.now() - t);
    await sleep(INTERVAL);
  }
  sock.destroy();
  server.close();
  return times;
}

async function measure(open: boolean): Promise<{ delays: number[]; perReceiver: Map<string, number> }> {
  const cluster = await createCluster({
    members: Array.from({ length: 5 }, () => ({ role: 'observer' as const })),
    heartbeatMs: 1000,
    electionTimeoutMs: 5000,
    options: { replicationIntervalMs: 3_600_000 },
    open,
  });
  try {
    await Promise.all(cluster.members.map((m) => cluster.startMember(m)));
    const agents = cluster.members.map((m) => m.agent!);
    await waitFor('full mesh', () => (agents.every((a) => a.parts.node.connectedPeers().length === 4) ? true : undefined), 30_000);
    const publisher = agents[0];
    await waitFor('topic mesh', () => (publisher.parts.pubsub.topicPeers(COORDINATION_TOPIC).length === 4 ? true : undefined), 30_000);
    await sleep(2000); // a few GossipSub heartbeats: the mesh settles

    const sentAt = new Map<number, number>();
    const delays: number[] = [];
    const perReceiver = new Map<string, number>();
    for (const a of agents.slice(1)) {
      a.parts.pubsub.onMessage(COORDINATION_TOPIC, (msg) => {
        const seq = (msg.body as { seq?: number }).seq;
        if (msg.kind !== 'bench' || seq === undefined) return;
        const t0 = sentAt.get(seq);
        if (t0 === undefined) return;
        delays.push(performance.now() - t0);
        perReceiver.set(a.peerId, (perReceiver.get(a.peerId) ?? 0) + 1);
      });
    }
    for (let i = 0; i < MESSAGES; i++) {
      sentAt.set(i, performance.now());
      await publisher.parts.pubsub.publish(COORDINATION_TOPIC, 'bench', { seq: i });
      await sleep(INTERVAL);
    }
    await sleep(1000);
    return { delays, perReceiver };
  } finally {
    await cluster.stopAll();
  }
}

// ABBA order (open, closed, closed, open): the first cluster of a process runs on a cold JIT, and
// load on a shared machine drifts; both hit the two modes alike.
const runs: Array<{ open: boolean; delays: number[]; perReceiver: Map<string, number> }> = [];
for (const mode of String(values.modes).split(',')) runs.push({ open: mode === 'open', ...(await measure(mode === 'open')) });
const merge = (open: boolean) => {
  const delays = runs.filter((r) => r.open === open).flatMap((r) => r.delays);
  const perReceiver = new Map<string, number>();
  for (const r of runs.filter((x) => x.open === open)) for (const [k, v] of r.perReceiver) perReceiver.set(k, v);
  return { delays, perReceiver };
};
const openRun = merge(true);
const closedRun = merge(false);
const echo = await tcpEcho(MESSAGES);
console.log(`GossipSub propagation, 5 agents on loopback, ${MESSAGES} messages every ${INTERVAL} ms from one agent, StrictSign`);
console.log(`  tcp echo RTT (peer)   p50 ${fmt(pct(echo, 50))}  p99 ${fmt(pct(echo, 99))}`);
for (const [name, { delays, perReceiver }] of [
  ['open  ', openRun],
  ['closed', closedRun],
] as const) {
  if (delays.length === 0) continue;
  const runsOf = runs.filter((r) => r.open === (name === 'open  ')).length;
  console.log(
    `  gossipsub ${name} one-way  p50 ${fmt(pct(delays, 50))}  p99 ${fmt(pct(delays, 99))}   ratio to tcp RTT p50 ${(pct(delays, 50) / pct(echo, 50)).toFixed(1)}x  p99 ${(pct(delays, 99) / pct(echo, 99)).toFixed(1)}x   delivered ${delays.length}/${MESSAGES * 4 * runsOf} (${[...perReceiver.values()].join(', ')} per receiver)`,
  );
}
if (openRun.delays.length > 0 && closedRun.delays.length > 0) {
  console.log(
    `  closed/open           p50 ${(pct(closedRun.delays, 50) / pct(openRun.delays, 50)).toFixed(2)}  p99 ${(pct(closedRun.delays, 99) / pct(openRun.delays, 99)).toFixed(2)}`,
  );
}
