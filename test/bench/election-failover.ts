// Admin failover: BZZZ's election against a 3-member etcd cluster (Debian's etcd-server), both on
// 127.0.0.1 with the same heartbeat and election timeout, in the same run (issue 3's target:
// no slower than etcd).
//
// Each round, interleaved so load swings on a shared machine hit all alike:
//   bzzz  3 processes, twice: an OPEN cluster (no member list, unsigned votes) and a CLOSED one
//         (member list, votes signed with the peer keys, proof of election in every heartbeat,
//         member-only GossipSub validator: what issue 7 added), each each a libp2p node (TCP, Noise, Yamux, identify, ping, GossipSub with strict
//         signing) running the election. SIGKILL the admin; time until both survivors name the same
//         new admin (each survivor's own admin-changed event time; the latest of the two).
//   etcd  3 members. SIGKILL the leader (found with POST /v3/maintenance/status); time until both
//         survivors report the same new leader (polled every 5 ms: ≤ 5 ms resolution).
// The killed member is then restarted on the same data and the cluster settles (all three agree,
// plus a few heartbeats at a random phase) before the next round.
// Then a few SIGTERM rounds for bzzz: the admin steps down and hands off (what an agent does on
// SIGTERM); time until both others name the successor.
//
// Run:  npx esbuild test/bench/election-failover.ts --bundle --platform=node --format=esm \
//         --packages=external --outfile=.build/bench/election-failover.mjs --log-level=warning \
//       && node .build/bench/election-failover.mjs [--rounds 20] [--handoff-rounds 5] \
//            [--heartbeat-ms 200] [--timeout-ms 1000] [--etcd /usr/bin/etcd]
// etcd: Debian's etcd-server, from scripts/install-tools.sh --bench (run when it is missing).
import '../../src/util/polyfill.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, createWriteStream, mkdirSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id';
import { multiaddr } from '@multiformats/multiaddr';
import { createBallots, createElection, createGossipsubElectionTransport } from '../../src/agent/election/index.js';
import { parseMemberList, serializeMemberList } from '../../src/crypto/membership.js';
import { silentLogger } from '../../src/util/log.js';
import { createElectionTestNode } from '../agent/election/libp2p-node.js';
import { freePort } from '../support/ports.js';
import { ensureTools } from './tools.mjs';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '20' },
    'handoff-rounds': { type: 'string', default: '5' },
    'heartbeat-ms': { type: 'string', default: '200' },
    'timeout-ms': { type: 'string', default: '1000' },
    etcd: { type: 'string', default: '/usr/bin/etcd' },
    node: { type: 'string' },
  },
});
const heartbeatMs = Number(args['heartbeat-ms']);
const timeoutMs = Number(args['timeout-ms']);
const SIZE = 3;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitFor(what: string, maxMs: number, check: () => boolean | Promise<boolean>, everyMs = 5): Promise<void> {
  const end = Date.now() + maxMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`benchmark: not within ${maxMs} ms: ${what}`);
    await sleep(everyMs);
  }
}

// ---------------------------------------------------------------- one bzzz member (child process)

interface NodeConfig {
  keyFile: string;
  dataDir: string;
  port: number;
  peers: string[];
  heartbeatMs: number;
  timeoutMs: number;
  /** Closed cluster: the member list file (votes signed, proofs in heartbeats, member-only validator). */
  membersFile?: string;
}

async function runNode(cfg: NodeConfig): Promise<void> {
  const privateKey = privateKeyFromProtobuf(readFileSync(cfg.keyFile));
  const node = await createElectionTestNode({ privateKey, port: cfg.port });
  const selfId = node.peerId.toString();
  const out = (o: object): void => void process.stdout.write(`${JSON.stringify(o)}\n`);
  const members = cfg.membersFile === undefined ? undefined : parseMemberList(readFileSync(cfg.membersFile, 'utf8'), cfg.membersFile);
  const transport = createGossipsubElectionTransport({
    pubsub: node.services.pubsub,
    libp2p: node,
    selfId,
    ...(members === undefined ? {} : { isMember: (p: string) => members.has(p) }),
    log: silentLogger(),
  });
  const election = createElection({
    transport,
    selfId,
    clusterSize: SIZE,
    ...(members === undefined ? {} : { ballots: createBallots(privateKey, members) }),
    heartbeatMs: cfg.heartbeatMs,
    timeoutMs: cfg.timeoutMs,
    dataDir: cfg.dataDir,
    log: silentLogger(),
  });
  election.on('admin-changed', (e) => out({ event: 'admin', admin: e.admin, term: e.term, at: Date.now() }));
  // Keep a full mesh: dial every peer that is not connected (a restarted peer comes back).
  const redial = (): void => {
    for (const addr of cfg.peers) {
      const id = multiaddr(addr)
        .getComponents()
        .find((c) => c.name === 'p2p')?.value;
      if (id !== undefined && node.getConnections(peerIdFromString(id)).length === 0) node.dial(multiaddr(addr)).catch(() => undefined);
    }
  };
  redial();
  setInterval(redial, 200).unref();
  await election.start();
  process.on('SIGTERM', () => {
    // What an agent does on SIGTERM: hand the admin role off, then go.
    void (async () => {
      const r = await election.stepDown({ waitMs: cfg.timeoutMs });
      out({ event: 'handoff', handedOffTo: r.handedOffTo, newAdmin: r.newAdmin, at: Date.now() });
      await election.stop();
      await node.stop();
      process.exit(0);
    })();
  });
  out({ event: 'ready', id: selfId });
  setInterval(() => undefined, 1 << 30);
}

// ---------------------------------------------------------------- the bzzz cluster (parent side)

interface BzzzMember {
  id: string;
  config: NodeConfig;
  proc: ChildProcess | null;
  admin: string | null;
  adminAt: number;
}

class BzzzCluster {
  readonly members: BzzzMember[] = [];
  constructor(
    private readonly dir: string,
    readonly closed: boolean,
  ) {}

  async init(): Promise<void> {
    const ports = await Promise.all(Array.from({ length: SIZE }, freePort));
    const keys = await Promise.all(Array.from({ length: SIZE }, () => generateKeyPair('Ed25519')));
    const addrs = keys.map((k, i) => `/ip4/127.0.0.1/tcp/${ports[i]}/p2p/${peerIdFromPrivateKey(k).toString()}`);
    const mode = this.closed ? 'closed' : 'open';
    const membersFile = this.closed ? join(this.dir, 'members.json') : undefined;
    if (membersFile !== undefined) {
      const list = keys.map((k, i) => ({ name: `bzzz-${i}`, peerId: peerIdFromPrivateKey(k).toString(), role: 'observer' as const }));
      writeFileSync(membersFile, serializeMemberList('bench', list));
    }
    for (let i = 0; i < SIZE; i++) {
      const dataDir = join(this.dir, `bzzz-${mode}-${i}`);
      mkdirSync(dataDir, { recursive: true });
      const keyFile = join(dataDir, 'peer.key');
      writeFileSync(keyFile, privateKeyToProtobuf(keys[i]));
      this.members.push({
        id: peerIdFromPrivateKey(keys[i]).toString(),
        config: { keyFile, dataDir, port: ports[i], peers: addrs.filter((_, j) => j !== i), heartbeatMs, timeoutMs, membersFile },
        proc: null,
        admin: null,
        adminAt: 0,
      });
    }
    await Promise.all(this.members.map((m) => this.start(m)));
  }

  async start(m: BzzzMember): Promise<void> {
    m.admin = null;
    const proc = spawn(process.execPath, [process.argv[1], '--node', JSON.stringify(m.config)], { stdio: ['ignore', 'pipe', 'inherit'] });
    m.proc = proc;
    const ready = new Promise<void>((resolve, reject) => {
      proc.once('exit', (code) => reject(new Error(`bzzz member exited with ${code} before it was ready`)));
      createInterface({ input: proc.stdout! }).on('line', (line) => {
        const e = JSON.parse(line) as { event: string; admin?: string | null; at?: number };
        if (e.event === 'ready') resolve();
        if (e.event === 'admin' && m.proc === proc) {
          m.admin = e.admin ?? null;
          m.adminAt = e.at ?? Date.now();
        }
      });
    });
    await ready;
  }

  running(): BzzzMember[] {
    return this.members.filter((m) => m.proc !== null);
  }

  /** The admin all running members name, if they agree on a running member. */
  agreed(): BzzzMember | undefined {
    const up = this.running();
    const admin = up[0]?.admin;
    if (admin === null || admin === undefined || !up.every((m) => m.admin === admin)) return undefined;
    return up.find((m) => m.id === admin);
  }

  async settle(): Promise<BzzzMember> {
    await waitFor('bzzz members agree on an admin', 30_000, () => this.agreed() !== undefined);
    await sleep(3 * heartbeatMs + Math.random() * heartbeatMs);
    const admin = this.agreed();
    if (admin === undefined) return this.settle();
    return admin;
  }

  /** Stops the admin with `signal`; ms until both survivors name the same new admin. */
  async failover(signal: 'SIGKILL' | 'SIGTERM'): Promise<number> {
    const admin = await this.settle();
    const proc = admin.proc!;
    const exited = new Promise((r) => proc.once('exit', r));
    const t0 = Date.now();
    proc.kill(signal);
    const survivors = this.members.filter((m) => m !== admin);
    await waitFor(
      'bzzz survivors agree on a new admin',
      20_000,
      () => {
        const a = survivors[0].admin;
        return a !== null && a !== admin.id && survivors.every((m) => m.admin === a);
      },
      2,
    );
    const took = Math.max(...survivors.map((m) => m.adminAt)) - t0;
    await exited;
    admin.proc = null;
    await this.start(admin);
    return took;
  }

  async stop(): Promise<void> {
    for (const m of this.members) m.proc?.kill('SIGKILL');
  }
}

// ---------------------------------------------------------------- the etcd cluster

interface EtcdMember {
  name: string;
  clientUrl: string;
  args: string[];
  proc: ChildProcess | null;
  memberId: string | null;
}

class EtcdCluster {
  readonly members: EtcdMember[] = [];
  constructor(private readonly dir: string) {}

  async init(): Promise<void> {
    const ports = await Promise.all(Array.from({ length: 2 * SIZE }, freePort));
    const peerUrl = (i: number): string => `http://127.0.0.1:${ports[2 * i + 1]}`;
    const initialCluster = Array.from({ length: SIZE }, (_, i) => `e${i}=${peerUrl(i)}`).join(',');
    for (let i = 0; i < SIZE; i++) {
      const clientUrl = `http://127.0.0.1:${ports[2 * i]}`;
      this.members.push({
        name: `e${i}`,
        clientUrl,
        proc: null,
        memberId: null,
        args: [
          '--name',
          `e${i}`,
          '--data-dir',
          join(this.dir, `etcd-${i}`),
          '--listen-client-urls',
          clientUrl,
          '--advertise-client-urls',
          clientUrl,
          '--listen-peer-urls',
          peerUrl(i),
          '--initial-advertise-peer-urls',
          peerUrl(i),
          '--initial-cluster',
          initialCluster,
          '--initial-cluster-state',
          'new',
          '--initial-cluster-token',
          `bench-${process.pid}`,
          '--heartbeat-interval',
          String(heartbeatMs),
          '--election-timeout',
          String(timeoutMs),
          '--logger',
          'zap',
          '--log-level',
          'error',
        ],
      });
    }
    for (const m of this.members) this.start(m);
    await this.settle();
  }

  start(m: EtcdMember): void {
    const log = createWriteStream(join(this.dir, `${m.name}.log`), { flags: 'a' });
    const proc = spawn(args.etcd!, m.args, { stdio: ['ignore', 'pipe', 'pipe'] });
    proc.stdout!.pipe(log);
    proc.stderr!.pipe(log);
    m.proc = proc;
  }

  /** `{memberId, leader}` from a member's status endpoint, or null while it cannot answer. */
  async status(m: EtcdMember): Promise<{ memberId: string; leader: string } | null> {
    try {
      const res = await fetch(`${m.clientUrl}/v3/maintenance/status`, { method: 'POST', body: '{}', signal: AbortSignal.timeout(500) });
      if (!res.ok) return null;
      const j = (await res.json()) as { header?: { member_id?: string }; leader?: string };
      if (j.header?.member_id === undefined) return null;
      m.memberId = j.header.member_id;
      return { memberId: j.header.member_id, leader: j.leader ?? '0' };
    } catch {
      return null;
    }
  }

  async leader(ms: readonly EtcdMember[]): Promise<string | null> {
    const s = await Promise.all(ms.map((m) => this.status(m)));
    if (s.some((x) => x === null)) return null;
    const l = s[0]!.leader;
    return l !== '0' && s.every((x) => x!.leader === l) ? l : null;
  }

  async settle(): Promise<EtcdMember> {
    let leader: string | null = null;
    await waitFor('etcd members agree on a leader', 30_000, async () => (leader = await this.leader(this.members)) !== null, 20);
    await sleep(3 * heartbeatMs + Math.random() * heartbeatMs);
    const m = this.members.find((x) => x.memberId === leader);
    if (m === undefined || (await this.leader(this.members)) !== leader) return this.settle();
    return m;
  }

  async failover(): Promise<number> {
    const leader = await this.settle();
    const proc = leader.proc!;
    const exited = new Promise((r) => proc.once('exit', r));
    const t0 = Date.now();
    proc.kill('SIGKILL');
    const survivors = this.members.filter((m) => m !== leader);
    let took = 0;
    await waitFor(
      'etcd survivors agree on a new leader',
      20_000,
      async () => {
        const l = await this.leader(survivors);
        if (l === null || l === leader.memberId) return false;
        took = Date.now() - t0;
        return true;
      },
      5,
    );
    await exited;
    this.start(leader);
    return took;
  }

  async stop(): Promise<void> {
    for (const m of this.members) m.proc?.kill('SIGKILL');
  }
}

// ---------------------------------------------------------------- main

function stats(xs: number[]): { p50: number; mean: number; min: number; max: number } {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return {
    p50: s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2,
    mean: s.reduce((a, b) => a + b, 0) / s.length,
    min: s[0],
    max: s[s.length - 1],
  };
}

async function main(): Promise<void> {
  ensureTools([args.etcd!]); // Debian's etcd-server (/usr/bin/etcd), the peer: from scripts/install-tools.sh --bench
  const rounds = Number(args.rounds);
  const handoffRounds = Number(args['handoff-rounds']);
  const dir = mkdtempSync(join(tmpdir(), 'bzzz-bench-election-'));
  mkdirSync(join(dir, 'open'));
  mkdirSync(join(dir, 'closed'));
  const open = new BzzzCluster(join(dir, 'open'), false);
  const bzzz = new BzzzCluster(join(dir, 'closed'), true);
  const etcd = new EtcdCluster(dir);
  const cleanup = async (): Promise<void> => {
    await open.stop();
    await bzzz.stop();
    await etcd.stop();
  };
  process.on('SIGINT', () => void cleanup().then(() => process.exit(130)));
  try {
    const etcdVersion = await new Promise<string>((resolve) => {
      const p = spawn(args.etcd!, ['--version']);
      let out = '';
      p.stdout.on('data', (d) => (out += d));
      p.on('close', () => resolve(/etcd Version: (\S+)/.exec(out)?.[1] ?? 'unknown'));
    });
    await Promise.all([open.init(), bzzz.init(), etcd.init()]);
    console.log(
      `election failover: 3 members on 127.0.0.1, heartbeat ${heartbeatMs} ms, election timeout ${timeoutMs} ms, ${rounds} rounds, load average ${loadavg()[0].toFixed(1)}`,
    );
    const b: number[] = [];
    const o: number[] = [];
    const e: number[] = [];
    for (let r = 0; r < rounds; r++) {
      o.push(await open.failover('SIGKILL'));
      b.push(await bzzz.failover('SIGKILL'));
      e.push(await etcd.failover());
      console.log(
        `  round ${String(r + 1).padStart(2)}: bzzz open ${String(o[r]).padStart(5)} ms   bzzz closed ${String(b[r]).padStart(5)} ms   etcd ${String(e[r]).padStart(5)} ms`,
      );
    }
    const h: number[] = [];
    const ho: number[] = [];
    for (let r = 0; r < handoffRounds; r++) {
      ho.push(await open.failover('SIGTERM'));
      h.push(await bzzz.failover('SIGTERM'));
    }
    const sb = stats(b);
    const so = stats(o);
    const se = stats(e);
    const fmt = (s: ReturnType<typeof stats>): string =>
      `p50 ${(s.p50 / 1000).toFixed(3)} s  mean ${(s.mean / 1000).toFixed(3)} s  min ${(s.min / 1000).toFixed(3)} s  max ${(s.max / 1000).toFixed(3)} s`;
    console.log(`kill -9 of the leader → survivors agree on a new one:`);
    console.log(`  bzzz election, open        ${fmt(so)}`);
    console.log(
      `  bzzz election, closed      ${fmt(sb)}   (closed/open p50 ${(sb.p50 / so.p50).toFixed(2)}, mean ${(sb.mean / so.mean).toFixed(2)})`,
    );
    console.log(`  etcd ${etcdVersion.padEnd(22)} ${fmt(se)}`);
    console.log(
      `  ratio bzzz closed/etcd      p50 ${(sb.p50 / se.p50).toFixed(2)}  mean ${(sb.mean / se.mean).toFixed(2)}  max ${(sb.max / se.max).toFixed(2)}  (< 1: bzzz faster)`,
    );
    if (h.length > 0) {
      const sh = stats(h);
      const sho = stats(ho);
      console.log(
        `SIGTERM of the bzzz admin (step-down + hand-off) → others agree on the successor: open p50 ${sho.p50} ms  max ${sho.max} ms; closed p50 ${sh.p50} ms  max ${sh.max} ms`,
      );
    }
    console.log(
      JSON.stringify({
        heartbeatMs,
        timeoutMs,
        rounds,
        bzzzMs: b,
        bzzzOpenMs: o,
        etcdMs: e,
        handoffMs: h,
        handoffOpenMs: ho,
        ratioP50: sb.p50 / se.p50,
        ratioMean: sb.mean / se.mean,
        etcdVersion,
      }),
    );
  } finally {
    await cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (args.node !== undefined) {
  runNode(JSON.parse(args.node) as NodeConfig).catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
} else {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
