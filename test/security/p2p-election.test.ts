// Issue 7, P2P and election side: the attacks that worked against three agents on loopback,
// replayed against a closed cluster of real agents (real libp2p, real files) by real libp2p nodes:
//   - a stranger: a libp2p node with its own key, not on the member list;
//   - an impostor: a node holding the key of a member that is not running (a stolen key), so it
//     passes the connection gater and signs like a member, but has no votes.
// Some attacks are also replayed with the agents' connection gater opened (as if the network layer
// failed): the election, pubsub, blob and share-exchange checks must hold on their own.
//
// Each assertion is about what an operator would see: who the admin is, the term, the store, the
// vote file, whether a share or the admin key came out, whether the agent restarts.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TopicValidatorResult } from '@libp2p/gossipsub';
import type { PrivateKey } from '@libp2p/interface';
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id';
import { byteStream } from '@libp2p/utils';
import { multiaddr } from '@multiformats/multiaddr';
import type { CID } from 'multiformats/cid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdminKeyCollectionError, AgeIdentity, loadShare, ShareRequestRefusedError, sharePath } from '../../src/crypto/index.js';
import {
  ELECTION_PROTOCOL,
  ELECTION_TOPIC,
  encodeElectionMessage,
  fileVoteStore,
  MAX_TERM_STEP,
  voteStatement,
  type ElectionProof,
} from '../../src/agent/election/index.js';
import { BLOB_PROTOCOL, COORDINATION_TOPIC, DHT_PROTOCOL, providerKeyFor } from '../../src/agent/p2p/index.js';
import { ADMIN_SHARE_PROTOCOL, collectAdminKey, requestShare } from '../../src/agent/share-exchange.js';
import { hashBytes } from '../../src/agent/cas/index.js';
import { createElectionTestNode, type ElectionTestNode } from '../agent/election/libp2p-node.js';
import { createCluster, waitFor, type Cluster, type Member } from '../agent/cluster-harness.js';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { sign, createPrivateKey } from 'node:crypto';

const HEARTBEAT_MS = 250;
const TIMEOUT_MS = 1250;

let cluster: Cluster;
/** The three running agents; member 3 never runs: its key is the impostor's. */
let agents: Member[];
let impostorKey: PrivateKey;
let adminPub: string;

const election = (m: Member) => m.agent!.parts.election;

/** The admin and term the running agents all agree on. */
async function agreed(): Promise<{ admin: string; term: number }> {
  return waitFor('the running agents agree on one admin', () => {
    const s = agents.map((m) => election(m).status());
    const admins = new Set(s.map((x) => x.admin));
    const terms = new Set(s.map((x) => x.term));
    const [admin] = [...admins];
    return admins.size === 1 && terms.size === 1 && admin !== null && agents.some((m) => m.peerId === admin)
      ? { admin, term: s[0].term }
      : undefined;
  });
}

async function attackerNode(privateKey?: PrivateKey): Promise<ElectionTestNode> {
  return createElectionTestNode(privateKey === undefined ? {} : { privateKey });
}

/** Connects `node` to every agent. libp2p rate-limits inbound connections per host (loopback is one
 * host for everyone here), so a refused dial is retried for a few seconds. */
async function connectToAgents(node: ElectionTestNode): Promise<void> {
  for (const m of agents) {
    const addr = multiaddr(m.agent!.multiaddrs()[0]);
    await waitFor(
      `a connection to agent ${m.index}`,
      () => node.dial(addr, { signal: AbortSignal.timeout(2000) }).then(() => true),
      10_000,
      200,
    );
  }
}

/** Opens every agent's connection gater (the network layer failed): what is left must still hold. */
async function withGaterOpen<T>(fn: () => Promise<T>): Promise<T> {
  for (const m of agents) await m.agent!.parts.node.setAllowedPeers(null);
  try {
    return await fn();
  } finally {
    for (const m of agents) await m.agent!.parts.node.setAllowedPeers(cluster.members.map((x) => x.peerId));
  }
}

/** bzzz_p2p_rejected_total{reason} as /metrics shows it. */
async function rejectedMetric(m: Member, reason: string): Promise<number> {
  const text = await m.agent!.parts.metrics.registry.metrics();
  const line = text.split('\n').find((l) => l.startsWith(`bzzz_p2p_rejected_total{reason="${reason}"} `));
  return line === undefined ? Number.NaN : Number(line.split(' ').pop());
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** An Ed25519 signature with a libp2p key, as a member's ballot would be made (for forged proofs). */
function signVote(key: PrivateKey, cluster: string, term: number, candidate: string): string {
  const der = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), key.raw.subarray(0, 32)]);
  return sign(null, voteStatement(cluster, term, candidate), createPrivateKey({ key: der, format: 'der', type: 'pkcs8' })).toString(
    'base64',
  );
}

/** A /bzzz/blob frame: 4-byte big-endian length, then JSON. */
function frameOf(message: object): Uint8Array {
  const body = new TextEncoder().encode(JSON.stringify(message));
  const frame = new Uint8Array(4 + body.byteLength);
  new DataView(frame.buffer).setUint32(0, body.byteLength);
  frame.set(body, 4);
  return frame;
}

/** Sends election messages over the direct election protocol (length-prefixed JSON frames). */
async function sendDirect(node: ElectionTestNode, to: Member, msgs: object[]): Promise<void> {
  const stream = await node.dialProtocol(peerIdFromString(to.peerId), ELECTION_PROTOCOL, { signal: AbortSignal.timeout(5000) });
  for (const m of msgs) {
    const body = new TextEncoder().encode(JSON.stringify(m));
    const frame = new Uint8Array(4 + body.byteLength);
    new DataView(frame.buffer).setUint32(0, body.byteLength);
    frame.set(body, 4);
    if (!stream.send(frame)) await stream.onDrain();
  }
  await stream.close().catch(() => undefined);
}

async function publishOnElectionTopic(node: ElectionTestNode, msgs: object[]): Promise<void> {
  for (const m of msgs) {
    await node.services.pubsub.publish(ELECTION_TOPIC, new TextEncoder().encode(JSON.stringify(m)));
    await sleep(HEARTBEAT_MS / 2);
  }
}

beforeAll(async () => {
  cluster = await createCluster({
    members: [{ role: 'admin' }, { role: 'senior_software_architect' }, { role: 'backend_developer' }, { role: 'observer' }],
    heartbeatMs: HEARTBEAT_MS,
    electionTimeoutMs: TIMEOUT_MS,
    name: 'sec',
  });
  agents = cluster.members.slice(0, 3);
  impostorKey = cluster.members[3].privateKey;
  adminPub = (await readFile(join(cluster.keysDir, 'roles', 'admin.pub'), 'utf8')).trim();
  await Promise.all(agents.map((m) => cluster.startMember(m)));
  await agreed();
});

afterAll(async () => {
  await cluster?.stopAll();
});

describe('a stranger (not on the member list)', () => {
  it('opens no connection and no protocol stream to any agent', async () => {
    const stranger = await attackerNode();
    try {
      for (const m of agents) {
        const addr = multiaddr(m.agent!.multiaddrs().find((a) => a.includes('/tcp/'))!);
        // The agent drops the connection right after the Noise handshake proves who dialled: the
        // stranger's dial either fails or yields a connection that closes at once.
        const conn = await stranger.dial(addr, { signal: AbortSignal.timeout(5000) }).catch(() => null);
        if (conn !== null) await waitFor('the agent closes the stranger', () => (conn.status !== 'open' ? true : undefined), 5000);
        for (const protocol of [BLOB_PROTOCOL, ELECTION_PROTOCOL, ADMIN_SHARE_PROTOCOL, DHT_PROTOCOL]) {
          await expect(stranger.dialProtocol(addr, protocol, { signal: AbortSignal.timeout(5000) }), protocol).rejects.toThrow();
        }
      }
      for (const m of agents) expect(m.agent!.parts.node.connectedPeers()).not.toContain(stranger.peerId.toString());
    } finally {
      await stranger.stop();
    }
  });

  it('with the gater open: its heartbeats and resigns (term+1, MAX_SAFE_INTEGER) change no admin and no term', async () => {
    const before = await agreed();
    const stranger = await attackerNode();
    try {
      await withGaterOpen(async () => {
        await connectToAgents(stranger);
        stranger.services.pubsub.subscribe(ELECTION_TOPIC);
        await waitFor('agents see the stranger on the election topic', () =>
          stranger.services.pubsub.getSubscribers(ELECTION_TOPIC).length >= agents.length ? true : undefined,
        );
        const victim = agents.find((m) => m.peerId !== before.admin)!;
        const forged = [
          { type: 'heartbeat', term: before.term + 1, score: 1, seq: 1, roster: [] },
          { type: 'resign', term: Number.MAX_SAFE_INTEGER, score: 1, handoffTo: victim.peerId },
          { type: 'heartbeat', term: before.term + 1, score: 1, seq: 2, roster: [] },
        ];
        await publishOnElectionTopic(stranger, forged);
        await sendDirect(stranger, victim, forged);
        await sleep(2 * HEARTBEAT_MS);
        for (const m of agents) {
          const s = election(m).status();
          expect(s.admin, `agent ${m.index}`).toBe(before.admin);
          expect(s.term, `agent ${m.index}`).toBe(before.term);
          expect(s.peers.map((p) => p.id)).not.toContain(stranger.peerId.toString());
        }
      });
    } finally {
      await stranger.stop();
    }
  });

  it('with the gater open: its coordination messages are rejected by the validator and never delivered', async () => {
    const stranger = await attackerNode();
    const seen: string[] = [];
    const offs = agents.map((m) => m.agent!.parts.pubsub.onMessage(COORDINATION_TOPIC, (msg) => seen.push(msg.from)));
    try {
      await withGaterOpen(async () => {
        const rejectedBefore = agents.map((m) => m.agent!.parts.pubsub.rejected());
        await connectToAgents(stranger);
        stranger.services.pubsub.subscribe(COORDINATION_TOPIC);
        await waitFor('agents see the stranger on the coordination topic', () =>
          stranger.services.pubsub.getSubscribers(COORDINATION_TOPIC).length >= agents.length ? true : undefined,
        );
        const payload = { kind: 'decision-published', sentAt: Date.now(), body: { address: 'blake3:00' } };
        for (let i = 0; i < 5; i++) {
          await stranger.services.pubsub.publish(COORDINATION_TOPIC, new TextEncoder().encode(JSON.stringify(payload)));
          await sleep(50);
        }
        await waitFor('every agent rejected the stranger', () =>
          agents.every((m, i) => m.agent!.parts.pubsub.rejected() > rejectedBefore[i]) ? true : undefined,
        );
      });
      expect(seen).not.toContain(stranger.peerId.toString());
      for (const m of agents) expect(await rejectedMetric(m, 'pubsub_non_member'), `agent ${m.index}`).toBeGreaterThan(0);
    } finally {
      for (const off of offs) off();
      await stranger.stop();
    }
  });

  it("with the gater open: its 'replicate' push stores nothing", async () => {
    const stranger = await attackerNode();
    const blob = new TextEncoder().encode(`stranger's blob ${Date.now()}`);
    const address = await hashBytes(blob);
    // The stranger really serves the blob (a 'get' answered by the protocol), so only the
    // membership check stands between its push and the victim's disk.
    let served = 0;
    await stranger.handle(BLOB_PROTOCOL, async (stream) => {
      served++;
      const bytes = byteStream(stream);
      const head = (await bytes.read({ bytes: 4 })).subarray();
      await bytes.read({ bytes: new DataView(head.buffer, head.byteOffset, 4).getUint32(0) });
      await bytes.write(frameOf({ ok: true, size: blob.byteLength }));
      await bytes.write(blob);
      await stream.close();
    });
    const victim = agents[0];
    const before = victim.agent!.parts.store.stats();
    try {
      const reply = await withGaterOpen(async () => {
        await connectToAgents(stranger);
        const stream = await stranger.dialProtocol(multiaddr(victim.agent!.multiaddrs()[0]), BLOB_PROTOCOL, {
          signal: AbortSignal.timeout(5000),
        });
        const bytes = byteStream(stream);
        await bytes.write(frameOf({ op: 'replicate', address }));
        const head = (await bytes.read({ bytes: 4 })).subarray();
        const len = new DataView(head.buffer, head.byteOffset, 4).getUint32(0);
        return JSON.parse(new TextDecoder().decode((await bytes.read({ bytes: len })).subarray())) as { ok: boolean; reason?: string };
      });
      expect(reply).toMatchObject({ ok: false, reason: 'forbidden' });
      expect(await rejectedMetric(victim, 'blob_non_member')).toBeGreaterThan(0);
      expect(await victim.agent!.parts.store.has(address)).toBe(false);
      expect(victim.agent!.parts.store.stats().blobs).toBe(before.blobs);
      expect(served).toBe(0); // the agent never even tried to fetch from it
    } finally {
      await stranger.stop();
    }
  });

  it('a provider record naming it never counts as a live replica and is never tried on a read', async () => {
    const strangerId = peerIdFromPrivateKey(await generateKeyPair('Ed25519'));
    const [holder, reader] = agents;
    const blob = new TextEncoder().encode(`member blob ${Date.now()}`);
    const { address } = await holder.agent!.parts.store.put(blob);
    await holder.agent!.parts.routing.provide(address);
    // The poisoned record, as a DHT would hand it back: the reader's own provider store says the
    // stranger holds the blob (kad-dht answers from its local store first).
    const dht = reader.agent!.parts.node.libp2p.services.dht as unknown as {
      providers: { addProvider(cid: CID, provider: typeof strangerId): Promise<void> };
    };
    await dht.providers.addProvider(providerKeyFor(address), strangerId);

    const providers = await reader.agent!.parts.routing.findProviders(address, { signal: AbortSignal.timeout(5000) });
    expect(providers).not.toContain(strangerId.toString());
    expect(providers).toContain(holder.peerId);
    const count = await reader.agent!.parts.replicator.ensure(address, AbortSignal.timeout(10_000));
    expect(count.holders).not.toContain(strangerId.toString());
    const got = await reader.agent!.parts.fetcher.fetch(address, AbortSignal.timeout(10_000));
    expect(got.address).toBe(address);
  });
});

describe('an impostor holding a stolen member key (no votes)', () => {
  let impostor: ElectionTestNode;

  beforeAll(async () => {
    impostor = await attackerNode(impostorKey);
    await connectToAgents(impostor);
    impostor.services.pubsub.subscribe(ELECTION_TOPIC);
    await waitFor('agents see the impostor on the election topic', () =>
      impostor.services.pubsub.getSubscribers(ELECTION_TOPIC).length >= agents.length ? true : undefined,
    );
  });

  afterAll(async () => {
    await impostor?.stop();
  });

  it('a heartbeat with term+1 (no proof, or a proof of its own single vote) makes nobody follow it', async () => {
    const before = await agreed();
    const self = impostor.peerId.toString();
    const ownVoteOnly: ElectionProof = {
      v: 1,
      cluster: 'sec',
      term: before.term + 1,
      admin: self,
      votes: [{ voter: self, sig: signVote(impostorKey, 'sec', before.term + 1, self) }],
    };
    await publishOnElectionTopic(impostor, [
      { type: 'heartbeat', term: before.term + 1, score: 1, seq: 1, roster: [] },
      { type: 'heartbeat', term: before.term + 1, score: 1, seq: 2, roster: [], proof: ownVoteOnly },
    ]);
    for (const m of agents) await sendDirect(impostor, m, [{ type: 'heartbeat', term: before.term + 1, score: 1, seq: 3, roster: [] }]);
    await sleep(2 * HEARTBEAT_MS);
    for (const m of agents) {
      const s = election(m).status();
      expect(s.admin, `agent ${m.index}`).toBe(before.admin);
      expect(s.term, `agent ${m.index}`).toBe(before.term);
      expect(election(m).isAdmin(self)).toBe(false);
    }
  });

  it('gets no share and cannot rebuild the admin key: no proof, its own proof, or the real admin proof replayed', async () => {
    const { admin } = await agreed();
    const realProof = agents.find((m) => m.peerId === admin)!.agent!.parts.election.proof();
    expect(realProof?.admin).toBe(admin);
    const self = impostor.peerId.toString();
    const term = election(agents[0]).status().term;
    const ownProof: ElectionProof = {
      v: 1,
      cluster: 'sec',
      term: term + 1,
      admin: self,
      votes: [{ voter: self, sig: signVote(impostorKey, 'sec', term + 1, self) }],
    };
    for (const proof of [undefined, ownProof, realProof ?? undefined]) {
      for (const m of agents) {
        await expect(
          requestShare(impostor, peerIdFromString(m.peerId), { adminRecipient: adminPub, replyTo: await AgeIdentity.generate(), proof }),
          `agent ${m.index}, proof ${proof === undefined ? 'none' : proof.admin === self ? 'own' : 'replayed'}`,
        ).rejects.toBeInstanceOf(ShareRequestRefusedError);
      }
    }
    // Its own (legitimate) share plus whatever the others give: still no admin key.
    const ownShare = await loadShare(sharePath(cluster.keysDir, 4));
    await expect(
      collectAdminKey({
        libp2p: impostor,
        peers: agents.map((m) => peerIdFromString(m.peerId)),
        ownShare,
        proof: ownProof,
        adminRecipient: adminPub,
        threshold: 3,
        signal: AbortSignal.timeout(10_000),
      }),
    ).rejects.toBeInstanceOf(AdminKeyCollectionError);
  });

  it('a flood of election messages from a member (a stolen key) is cut to its budget, counted, and changes no admin', async () => {
    const before = await agreed();
    const victim = agents.find((m) => m.peerId !== before.admin)!;
    const dropped = await rejectedMetric(victim, 'election_over_budget');
    // 3000 well-formed announces at the current term, as fast as the stream takes them.
    const flood = Array.from({ length: 3000 }, () => ({ type: 'announce', term: before.term, score: 1 }));
    await sendDirect(impostor, victim, flood);
    await waitFor('the victim counts the messages over budget', async () =>
      (await rejectedMetric(victim, 'election_over_budget')) > dropped ? true : undefined,
    );
    await sleep(2 * HEARTBEAT_MS);
    const after = await agreed();
    expect(after.admin).toBe(before.admin);
    expect(after.term).toBe(before.term);
  });

  it('a resign with term MAX_SAFE_INTEGER (or far ahead) handing off to a victim moves no term; the victim restarts on its own vote file', async () => {
    const before = await agreed();
    const victim = agents.find((m) => m.peerId !== before.admin)!;
    const far = [
      { type: 'resign', term: Number.MAX_SAFE_INTEGER, score: 1, handoffTo: victim.peerId },
      { type: 'resign', term: Math.floor(Number.MAX_SAFE_INTEGER / 2), score: 1, handoffTo: victim.peerId },
      { type: 'resign', term: before.term + MAX_TERM_STEP + 1, score: 1, handoffTo: victim.peerId },
      { type: 'vote-request', term: before.term + 1000, score: 1, electionTerm: before.term + 1000, prevote: false },
      { type: 'resign', term: before.term, score: 1, handoffTo: victim.peerId },
    ];
    await publishOnElectionTopic(impostor, far);
    await sendDirect(impostor, victim, far);
    await sleep(2 * HEARTBEAT_MS);
    for (const m of agents) {
      const s = election(m).status();
      expect(s.term, `agent ${m.index}`).toBe(before.term);
      expect(s.admin, `agent ${m.index}`).toBe(before.admin);
    }
    // Refused, and counted where operators look.
    expect(await rejectedMetric(victim, 'election_term_unproven')).toBeGreaterThan(0);
    // The vote file is what the victim wrote itself, and it starts on it.
    const persisted = fileVoteStore(victim.dataDir).load();
    expect(persisted.term).toBeLessThanOrEqual(before.term);
    await cluster.stopMember(victim, 0);
    await cluster.startMember(victim);
    await waitFor('the victim follows the admin again', () => (election(victim).status().admin !== null ? true : undefined));
    const after = await agreed();
    expect(after.term).toBeLessThan(before.term + MAX_TERM_STEP);
  });
});

describe('the validators never throw', () => {
  it('reject what is not a member agent message, accept a member one, on every topic', async () => {
    const agent = agents[0].agent!;
    const gossip = agent.parts.node.libp2p.services.pubsub;
    const member = peerIdFromString(agents[1].peerId);
    const stranger = peerIdFromPrivateKey(await generateKeyPair('Ed25519'));
    const cases: Array<[string, Uint8Array, boolean]> = [
      [COORDINATION_TOPIC, new TextEncoder().encode(JSON.stringify({ kind: 'x', sentAt: 1, body: null })), true],
      [COORDINATION_TOPIC, new TextEncoder().encode('{"kind": 5}'), false],
      [COORDINATION_TOPIC, new Uint8Array([0xff, 0xfe, 0x00]), false],
      [ELECTION_TOPIC, encodeElectionMessage({ type: 'announce', term: 1, score: 0.5 }), true],
      [ELECTION_TOPIC, new TextEncoder().encode('{"type":"announce","term":1e300,"score":0.5}'), false],
      [ELECTION_TOPIC, new TextEncoder().encode('[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]'), false],
    ];
    for (const [topic, data, ok] of cases) {
      const validate = gossip.topicValidators.get(topic)!;
      expect(validate).toBeDefined();
      const signed = (from: typeof member) => ({
        type: 'signed',
        topic,
        data,
        from,
        sequenceNumber: 1n,
        signature: new Uint8Array(64),
        key: from.publicKey,
      });
      expect(await validate(member, signed(member) as never), `${topic} ${new TextDecoder().decode(data)}`).toBe(
        ok ? TopicValidatorResult.Accept : TopicValidatorResult.Reject,
      );
      // The same bytes signed by a stranger (forwarded by a member), or unsigned: rejected.
      expect(await validate(member, signed(stranger) as never)).toBe(TopicValidatorResult.Reject);
      expect(await validate(member, { type: 'unsigned', topic, data } as never)).toBe(TopicValidatorResult.Reject);
    }
  });
});
