// findProviders latency in a 5-agent cluster on loopback (real libp2p, kad-dht under /bzzz/kad),
// against libp2p ping between the same agents in the same run (the transport's round-trip floor:
// one Noise+Yamux stream, one round trip). Prints p50/p99 and the ratio to ping.
//
//   find_first  findProviders until the first provider is known (what a fetch waits for)
//   find_all    findProviders until the query ends (what replication counting waits for)
//   ping        libp2p ping round trip
//
// The five agents run in this one process (one event loop): numbers include its queueing, as they
// would for any agent under load.
//
// Run:  npx esbuild test/bench/agent-find-providers.ts --bundle --platform=node --format=esm \
//         --packages=external --outfile=dist/bench/agent-find-providers.mjs --log-level=warning \
//       && node dist/bench/agent-find-providers.mjs [--blobs 100] [--lookups 500]
import '../../src/util/polyfill.js';
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { peerIdFromString } from '@libp2p/peer-id';
import { createCluster, waitFor } from '../agent/cluster-harness.js';

const { values } = parseArgs({ options: { blobs: { type: 'string', default: '100' }, lookups: { type: 'string', default: '500' } } });
const BLOBS = Number(values.blobs);
const LOOKUPS = Number(values.lookups);

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}
const fmt = (ms: number) => `${ms.toFixed(2)} ms`;

const cluster = await createCluster({
  members: Array.from({ length: 5 }, () => ({ role: 'observer' as const })),
  heartbeatMs: 1000,
  electionTimeoutMs: 5000,
  // Replication off the clock: each blob is announced by its author only, so a lookup has to
  // ask the DHT (the agent asking never holds the blob itself).
  replicationFactor: 1,
  options: { replicationIntervalMs: 3_600_000 },
});
try {
  await Promise.all(cluster.members.map((m) => cluster.startMember(m)));
  const agents = cluster.members.map((m) => m.agent!);
  await waitFor('full mesh', () => (agents.every((a) => a.parts.node.connectedPeers().length === 4) ? true : undefined), 30_000);

  // Blobs spread over the agents, each provided by its author.
  const blobs: Array<{ address: string; author: number }> = [];
  for (let i = 0; i < BLOBS; i++) {
    const author = i % agents.length;
    const { address } = await agents[author].parts.store.put(randomBytes(1024));
    await agents[author].parts.routing.provide(address);
    blobs.push({ address, author });
  }

  const first: number[] = [];
  const all: number[] = [];
  const ping: number[] = [];
  let misses = 0;
  for (let i = 0; i < LOOKUPS; i++) {
    const b = blobs[i % blobs.length];
    const asker = agents[(b.author + 1 + (i % (agents.length - 1))) % agents.length];
    const other = agents[b.author];
    let t = performance.now();
    const p1 = await asker.parts.routing.findProviders(b.address, { max: 1 });
    first.push(performance.now() - t);
    t = performance.now();
    const pAll = await asker.parts.routing.findProviders(b.address);
    all.push(performance.now() - t);
    if (!p1.includes(other.peerId) || !pAll.includes(other.peerId)) misses++;
    t = performance.now();
    await asker.parts.node.libp2p.services.ping.ping(peerIdFromString(other.peerId));
    ping.push(performance.now() - t);
  }

  const p50 = pct(ping, 50);
  const p99 = pct(ping, 99);
  console.log(
    `findProviders in a 5-agent cluster on loopback: ${BLOBS} blobs, ${LOOKUPS} lookups (each from an agent that does not hold the blob)`,
  );
  console.log(`  ping (peer)   p50 ${fmt(p50)}  p99 ${fmt(p99)}`);
  console.log(
    `  find_first    p50 ${fmt(pct(first, 50))}  p99 ${fmt(pct(first, 99))}   ratio to ping p50 ${(pct(first, 50) / p50).toFixed(1)}x  p99 ${(pct(first, 99) / p99).toFixed(1)}x`,
  );
  console.log(
    `  find_all      p50 ${fmt(pct(all, 50))}  p99 ${fmt(pct(all, 99))}   ratio to ping p50 ${(pct(all, 50) / p50).toFixed(1)}x  p99 ${(pct(all, 99) / p99).toFixed(1)}x`,
  );
  console.log(`  lookups that missed the author: ${misses}`);
} finally {
  await cluster.stopAll();
}
