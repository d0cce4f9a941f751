// A simulated cluster of elections on one virtual clock and one simulated network, with the
// safety invariants checked after every event:
//   - at most one node acts as admin (isAdmin() on itself) at any instant;
//   - at most one node ever becomes admin in a given term.
import { silentLogger } from '../../../../../src/util/log.js';
import {
  createElection,
  fileVoteStore,
  memoryVoteStore,
  type Election,
  type ScoreSettings,
  type VoteStore,
} from '../../../../../src/agent/election/index.js';
import type { PrivateKey } from '@libp2p/interface';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys';
import { memberList, type MemberList } from '../../../../../src/crypto/membership.js';
import { createBallots } from '../../../../../src/agent/election/index.js';
import { EventClock } from './event-clock.js';
import { SimNetwork, type SimNetworkOptions } from './network.js';
import { seededRandom } from './prng.js';

/** Only the resources part counts, so a node's score is exactly the number the test gives it. */
export const PLAIN_SCORE: ScoreSettings = {
  weights: { uptime: 0, capabilities: 0, resources: 1, network: 0 },
  uptimeSaturationMs: 1,
  wantedCapabilities: [],
};

export interface SimClusterOptions extends SimNetworkOptions {
  size: number;
  seed: number;
  heartbeatMs?: number;
  timeoutMs?: number;
  /** Score per node (0..1); default 0.5 each. */
  scores?: readonly number[];
  /** Keep votes in real files under this directory (default: in memory, kept across restarts). */
  dataDir?: string;
  /** A closed cluster: node i has key i (ids are peer ids), votes are signed, heartbeats carry proofs (see closedSimKeys). */
  keys?: readonly PrivateKey[];
}

/** Deterministic Ed25519 keys for a closed simulated cluster (same seed, same ids). */
export async function closedSimKeys(size: number, seed: number): Promise<PrivateKey[]> {
  return Promise.all(
    Array.from({ length: size }, (_, i) => {
      const bytes = new Uint8Array(32);
      new DataView(bytes.buffer).setUint32(0, seed);
      new DataView(bytes.buffer).setUint32(4, i);
      return generateKeyPairFromSeed('Ed25519', bytes);
    }),
  );
}

export interface SimMember {
  readonly id: string;
  election: Election;
  readonly store: VoteStore;
  score: number;
  readonly key?: PrivateKey;
}

export class SimCluster {
  readonly clock = new EventClock();
  readonly random: () => number;
  readonly net: SimNetwork;
  readonly members: SimMember[] = [];
  readonly heartbeatMs: number;
  readonly timeoutMs: number;
  /** term → the node that became admin in it. */
  readonly adminsByTerm = new Map<number, string>();
  readonly violations: string[] = [];
  maxActingAdmins = 0;
  /** Closed clusters: the member list every node checks against. */
  readonly memberList: MemberList | null;

  constructor(private readonly opts: SimClusterOptions) {
    this.random = seededRandom(opts.seed);
    this.net = new SimNetwork(this.clock, this.random, opts);
    this.heartbeatMs = opts.heartbeatMs ?? 100;
    this.timeoutMs = opts.timeoutMs ?? 500;
    const keys = opts.keys;
    this.memberList =
      keys === undefined
        ? null
        : memberList(
            'sim',
            keys.map((k, i) => ({ name: `node-${i}`, peerId: peerIdFromPrivateKey(k).toString(), role: 'observer' as const })),
          );
    for (let i = 0; i < opts.size; i++) {
      const id = keys === undefined ? `node-${i}` : peerIdFromPrivateKey(keys[i]).toString();
      const store = opts.dataDir === undefined ? memoryVoteStore() : fileVoteStore(`${opts.dataDir}/${id}`);
      const member: SimMember = { id, store, score: opts.scores?.[i] ?? 0.5, election: null as unknown as Election, key: keys?.[i] };
      member.election = this.build(member);
      this.members.push(member);
    }
    this.clock.afterEach = () => this.checkInvariants();
  }

  get ids(): string[] {
    return this.members.map((m) => m.id);
  }

  member(id: string): SimMember {
    const m = this.members.find((x) => x.id === id);
    if (m === undefined) throw new Error(`no member ${id}`);
    return m;
  }

  async startAll(): Promise<void> {
    for (const m of this.members) await m.election.start();
  }

  /** Crash: the node stops and its messages in flight are lost. */
  async kill(id: string): Promise<void> {
    this.net.setUp(id, false);
    await this.member(id).election.stop();
  }

  /** A new process on the same data: a fresh election object over the same vote store. */
  async restart(id: string): Promise<void> {
    const m = this.member(id);
    await m.election.stop();
    this.net.setUp(id, true);
    m.election = this.build(m);
    await m.election.start();
  }

  up(): SimMember[] {
    return this.members.filter((m) => this.net.isUp(m.id));
  }

  actingAdmins(): string[] {
    return this.up()
      .filter((m) => m.election.isAdmin())
      .map((m) => m.id);
  }

  /** The admin every given node (default: all up nodes) recognises, or null if they do not agree on one. */
  agreedAdmin(ids: readonly string[] = this.up().map((m) => m.id)): string | null {
    const seen = new Set(ids.map((id) => this.member(id).election.status().admin));
    if (seen.size !== 1) return null;
    const [admin] = [...seen];
    return admin !== null && ids.includes(admin) ? admin : null;
  }

  /** Runs until the given nodes agree on one admin among them; returns it and the time taken. */
  waitForAgreedAdmin(maxMs: number, ids?: readonly string[]): { admin: string; afterMs: number } | null {
    const afterMs = this.clock.runUntil(() => this.agreedAdmin(ids) !== null, maxMs);
    if (afterMs === null) return null;
    return { admin: this.agreedAdmin(ids) as string, afterMs };
  }

  private build(m: SimMember): Election {
    const election = createElection({
      transport: this.net.transport(m.id),
      selfId: m.id,
      clusterSize: this.opts.size,
      heartbeatMs: this.heartbeatMs,
      timeoutMs: this.timeoutMs,
      store: m.store,
      scoreProvider: () => ({ uptimeMs: 0, capabilities: [], freeMemoryRatio: m.score, cpuIdleRatio: m.score, connectedPeers: 0 }),
      scoreSettings: PLAIN_SCORE,
      ...(m.key !== undefined && this.memberList !== null ? { ballots: createBallots(m.key, this.memberList) } : {}),
      clock: this.clock,
      random: this.random,
      log: silentLogger(),
    });
    election.on('state-changed', (e) => {
      if (e.state !== 'admin') return;
      const term = e.term;
      const prior = this.adminsByTerm.get(term);
      if (prior !== undefined && prior !== m.id)
        this.violations.push(`two admins in term ${term}: ${prior} and ${m.id} (t=${this.clock.now()})`);
      this.adminsByTerm.set(term, m.id);
    });
    return election;
  }

  private checkInvariants(): void {
    const acting = this.actingAdmins();
    this.maxActingAdmins = Math.max(this.maxActingAdmins, acting.length);
    if (acting.length > 1) this.violations.push(`${acting.length} admins acting at t=${this.clock.now()}: ${acting.join(', ')}`);
  }
}
