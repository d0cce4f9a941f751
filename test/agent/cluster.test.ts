// Five BZZZ agents on loopback — four in this process (built by the composition from the flags of
// `bzzzctl agent run`), one a real child process (`node bin/bzzzctl.js agent run …`) — with real
// libp2p, real HTTP, real files. The steps run in order on one cluster: each leaves it healthy
// for the next.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadShare, sharePath, AgeIdentity, AdminKeyCollectionError, ShareRequestRefusedError } from '../../src/crypto/index.js';
import { collectAdminKey, requestShare } from '../../src/agent/share-exchange.js';
import { failoverBoundMs, stickyMs } from '../../src/agent/election/index.js';
import { COORDINATION_TOPIC, META_DISCUSSION_TOPIC, recordKey, type AgentMessage } from '../../src/agent/p2p/index.js';
import { encodeRecord } from '../../src/agent/p2p/records.js';
import { peerIdFromString } from '@libp2p/peer-id';
import type { Role } from '../../src/crypto/index.js';
import { createCluster, getJson, REPO_ROOT, waitFor, type Cluster, type Member } from './cluster-harness.js';

// Small enough that failover takes seconds, large enough that a loaded 2-core machine (several
// test suites at once) does not miss heartbeats.
const HEARTBEAT_MS = 250;
const TIMEOUT_MS = 1250;
const GRACE_MS = 5000;
const BOUND_MS = failoverBoundMs({ heartbeatMs: HEARTBEAT_MS, timeoutMs: TIMEOUT_MS });
const CHILD = 4;

/** A missing tool fails with the script that installs it, not with `spawn … ENOENT`. */
function missingTool(tool: string, err: unknown): unknown {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return code === 'ENOENT' ? new Error(`${tool} not found: run scripts/install-tools.sh (npm test does)`, { cause: err }) : err;
}

interface Status {
  self: string;
  admin: string | null;
  term: number;
  state: 'follower' | 'candidate' | 'admin';
}

/** The child runs bin/bzzzctl.js, which loads dist/: `npm test` builds it first; a lone run of
 * this file builds it when it is missing (run `npm run build` after changing src/). */
function ensureBuilt(): void {
  if (!existsSync(join(REPO_ROOT, 'dist/cli.js'))) {
    execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: REPO_ROOT, stdio: 'inherit' });
  }
}

/** Authorization headers of the cluster's caller of a role (set once the cluster exists). */
let auth: (role: Role) => { authorization: string };
const octets = (role: Role) => ({ ...auth(role), 'content-type': 'application/octet-stream' });

async function status(m: Member): Promise<Status> {
  return (await getJson<Status>(`${m.apiUrl}/api/election/status`, { headers: auth('observer') })).body;
}

/** The admin every listed member agrees on (all the same, not null), or undefined. */
async function agreedAdmin(members: Member[], minTerm = 0): Promise<{ admin: string; term: number } | undefined> {
  const s = await Promise.all(members.map(status));
  const admins = new Set(s.map((x) => x.admin));
  const terms = new Set(s.map((x) => x.term));
  const [admin] = [...admins];
  const [term] = [...terms];
  return admins.size === 1 && terms.size === 1 && admin !== null && term >= minTerm ? { admin, term } : undefined;
}

async function metric(m: Member, name: string, labels = ''): Promise<number | undefined> {
  const text = await (await fetch(`${m.healthUrl}/metrics`)).text();
  const line = text
    .split('\n')
    .find((l) => l.startsWith(`${name}${labels ? `{${labels}}` : ''} `) || (labels === '' && l.startsWith(`${name} `)));
  return line === undefined ? undefined : Number(line.split(' ').pop());
}

describe('five agents on loopback: P2P, content, election, crypto, health', () => {
  let cluster: Cluster;
  let m: Member[];
  // Every (term → agents that acted as admin in it) seen by event listeners and status polls.
  const adminsByTerm = new Map<number, Set<string>>();
  const record = (term: number, peer: string) => {
    let s = adminsByTerm.get(term);
    if (!s) adminsByTerm.set(term, (s = new Set()));
    s.add(peer);
  };
  let poller: NodeJS.Timeout | undefined;
  const inProcess = () => m.filter((x) => x.agent !== undefined);
  const running = () => m.filter((x) => x.agent !== undefined || x.child !== undefined);
  const watch = (x: Member) => {
    x.agent!.parts.election.on('state-changed', (e) => {
      if (e.state === 'admin') record(e.term, x.peerId);
    });
  };

  /** Moves the admin role to `target`: in-process admins hand off to it directly; the child admin
   * is asked over HTTP (POST /api/election/trigger: it steps down to its best follower). */
  async function makeAdmin(target: Member): Promise<{ admin: string; term: number }> {
    for (let i = 0; i < 8; i++) {
      const a = await waitFor('an agreed admin', () => agreedAdmin(running()));
      if (a.admin === target.peerId) return a;
      const holder = m.find((x) => x.peerId === a.admin)!;
      if (holder.agent) await holder.agent.parts.election.stepDown({ handoffTo: target.peerId });
      else
        expect(
          (
            await getJson(`${holder.apiUrl}/api/election/trigger`, {
              method: 'POST',
              headers: { ...auth('admin'), 'content-type': 'application/json' },
            })
          ).status,
        ).toBe(202);
      await waitFor('a new admin', async () => {
        const b = await agreedAdmin(running(), a.term + 1);
        return b === undefined ? undefined : b;
      });
    }
    throw new Error(`could not move the admin role to agent ${target.index}`);
  }

  beforeAll(async () => {
    ensureBuilt();
    cluster = await createCluster({
      members: [
        { role: 'senior_software_architect' },
        { role: 'backend_developer' },
        { role: 'observer' },
        { role: 'observer' },
        { role: 'backend_developer', child: true },
      ],
      heartbeatMs: HEARTBEAT_MS,
      electionTimeoutMs: TIMEOUT_MS,
      graceMs: GRACE_MS,
    });
    m = cluster.members;
    auth = cluster.auth;
    await Promise.all(m.map((x) => cluster.startMember(x)));
    for (const x of inProcess()) watch(x);
    // The child's view comes from its HTTP status.
    poller = setInterval(() => {
      const c = m[CHILD];
      if (!c.child) return;
      status(c).then(
        (s) => s.state === 'admin' && record(s.term, s.self),
        () => undefined,
      );
    }, 25);
  });

  afterAll(async () => {
    if (poller) clearInterval(poller);
    await cluster?.stopAll();
  });

  it('meshes and elects exactly one admin that every agent names', async () => {
    await waitFor('full mesh', () => (inProcess().every((x) => x.agent!.parts.node.connectedPeers().length === 4) ? true : undefined));
    const { admin, term } = await waitFor('one agreed admin', () => agreedAdmin(m));
    expect(m.map((x) => x.peerId)).toContain(admin);
    const states = await Promise.all(m.map(status));
    expect(states.filter((s) => s.state === 'admin').map((s) => s.self)).toEqual([admin]);
    expect(states.every((s) => s.term === term)).toBe(true);
    // The child printed its identity, and it is the one its data dir holds.
    expect(JSON.parse(m[CHILD].child!.stdout[0])).toMatchObject({ peerId: m[CHILD].peerId, role: 'backend_developer' });
  });

  it('stores signed DHT records that every agent finds, and refuses forged ones', async () => {
    const value = new TextEncoder().encode(`probe-${randomBytes(4).toString('hex')}`);
    await m[2].agent!.parts.routing.putRecord('probe', value);
    for (const x of [m[0], m[1], m[3]]) {
      expect(await x.agent!.parts.routing.getRecord(m[2].peerId, 'probe')).toEqual(value);
    }
    // Every agent published its own record at start: the child's is found too.
    const childRecord = await m[1].agent!.parts.routing.getRecord(m[CHILD].peerId, 'agent');
    expect(JSON.parse(new TextDecoder().decode(childRecord))).toMatchObject({
      role: 'backend_developer',
      apiPort: Number(new URL(m[CHILD].apiUrl).port),
    });

    // Agent 3 writes under agent 2's name with its own key: the validators refuse it everywhere.
    const key = recordKey(m[2].peerId, 'forged');
    const agent3Key = m[3].privateKey;
    const forged = await encodeRecord(agent3Key, key, value, Date.now());
    const refusals: string[] = [];
    try {
      for await (const ev of m[3].agent!.parts.node.libp2p.services.dht.put(key, forged)) {
        if (ev.name === 'QUERY_ERROR') refusals.push(ev.error.message);
      }
    } catch (err) {
      refusals.push((err as Error).message);
    }
    expect(refusals.length).toBeGreaterThan(0);
    expect(await m[0].agent!.parts.routing.getRecord(m[2].peerId, 'forged')).toBeUndefined();
  });

  let blobAddress = '';
  let blobBytes: Buffer;

  it('announces a blob on the DHT: every other agent finds its provider', async () => {
    const bytes = randomBytes(4096);
    const res = await getJson<{ address: string }>(`${m[0].apiUrl}/api/blobs`, {
      method: 'POST',
      headers: octets('backend_developer'),
      body: bytes,
    });
    expect(res.status).toBe(201);
    for (const x of [m[1], m[2], m[3]]) {
      const providers = await x.agent!.parts.routing.findProviders(res.body.address);
      expect(providers).toContain(m[0].peerId);
    }
  });

  it('replicates a blob put on one agent to the factor 3, and serves it from every other agent', async () => {
    blobBytes = randomBytes(300 * 1024);
    const res = await getJson<{ address: string; size: number }>(`${m[1].apiUrl}/api/blobs`, {
      method: 'POST',
      headers: octets('backend_developer'),
      body: blobBytes,
    });
    expect(res.status).toBe(201);
    blobAddress = res.body.address;
    // The address is what b3sum prints for the bytes (b3sum: Debian's package, installed by
    // scripts/install-tools.sh, which npm test runs first).
    let b3: string;
    try {
      b3 = execFileSync('b3sum', ['--no-names'], { input: blobBytes }).toString().trim();
    } catch (err) {
      throw missingTool('b3sum', err);
    }
    expect(blobAddress).toBe(`blake3:${b3}`);

    // Live holders seen from another agent's DHT lookups reach 3 before anyone reads it.
    // (findProviders lists the others; the asking agent counts itself if it holds a copy.)
    const holders = await waitFor('3 holders', async () => {
      const x = m[3].agent!.parts;
      const live = (await x.routing.findProviders(blobAddress)).filter((id) => x.node.isConnected(id));
      if (await x.store.has(blobAddress)) live.push(m[3].peerId);
      return live.length >= 3 ? live : undefined;
    });
    expect(holders).toContain(m[1].peerId);
    await waitFor(
      'replication gauge ≥ 3 on the author',
      async () => ((await metric(m[1], 'bzzz_dht_replication_factor')) ?? 0) >= 3 || undefined,
      20_000,
      200,
    );
    expect(await metric(m[1], 'bzzz_dht_provider_records')).toBeGreaterThanOrEqual(1);

    for (const x of m.filter((y) => y !== m[1])) {
      const r = await fetch(`${x.apiUrl}/api/blobs/${blobAddress}`, { headers: auth('observer') });
      expect(r.status).toBe(200);
      expect(r.headers.get('x-bzzz-address')).toBe(blobAddress);
      expect(Buffer.from(await r.arrayBuffer()).equals(blobBytes)).toBe(true);
    }
    // A blob above the verify-first size streams both ways (HTTP in, libp2p across, HTTP out).
    const big = randomBytes(20 * 1024 * 1024);
    const bigPut = await getJson<{ address: string; size: number }>(`${m[3].apiUrl}/api/blobs`, {
      method: 'POST',
      headers: octets('backend_developer'),
      body: big,
    });
    expect(bigPut.body.size).toBe(big.byteLength);
    const bigGet = await fetch(`${m[0].apiUrl}/api/blobs/${bigPut.body.address}`, { headers: auth('observer') });
    expect(bigGet.status).toBe(200);
    expect(Buffer.from(await bigGet.arrayBuffer()).equals(big)).toBe(true);

    const missing = await getJson<{ error: string; message: string }>(`${m[2].apiUrl}/api/blobs/blake3:${'ab'.repeat(32)}`, {
      headers: auth('observer'),
    });
    expect(missing.status).toBe(404);
    expect(missing.body.message).toMatch(/not held by any reachable agent/);
    expect((await getJson(`${m[2].apiUrl}/api/blobs/not-an-address`, { headers: auth('observer') })).status).toBe(400);
  });

  it('detects a corrupted blob on disk and repairs it from a peer (on read, and by scrub)', async () => {
    const blobFile = (x: Member) => {
      const hex = blobAddress.slice('blake3:'.length);
      return join(x.dataDir, 'store', 'blobs', hex.slice(0, 2), hex.slice(2, 4), hex);
    };
    const corrupt = async (file: string) => {
      const fh = await open(file, 'r+');
      await fh.write(Buffer.from('XXXX'), 0, 4, 1000);
      await fh.close();
    };

    // On read: the HTTP client still gets the right bytes; the local copy is replaced.
    await corrupt(blobFile(m[2]));
    const r = await fetch(`${m[2].apiUrl}/api/blobs/${blobAddress}`, { headers: auth('observer') });
    expect(r.status).toBe(200);
    expect(Buffer.from(await r.arrayBuffer()).equals(blobBytes)).toBe(true);
    expect(await m[2].agent!.parts.store.verify(blobAddress)).toBe('ok');
    expect(m[2].agent!.parts.store.stats().corruptions).toBe(1);
    await waitFor('repair counted', async () => ((await metric(m[2], 'bzzz_blob_repairs_total', 'outcome="ok"')) ?? 0) >= 1 || undefined);

    // By scrub, on a blob nobody reads: found, quarantined, fetched again in the background.
    await corrupt(blobFile(m[3]));
    const scrub = await m[3].agent!.parts.store.scrub();
    expect(scrub.corrupted).toBe(1);
    await waitFor('scrubbed blob repaired', async () => ((await m[3].agent!.parts.store.verify(blobAddress)) === 'ok' ? true : undefined));
    expect(await readFile(blobFile(m[3]))).toEqual(blobBytes);
    const checks = await getJson<{ checks: Array<{ name: string; status: string; message: string }> }>(`${m[3].healthUrl}/health/checks`);
    expect(checks.body.checks.find((c) => c.name === 'store')).toMatchObject({
      status: 'pass',
      message: expect.stringMatching(/1 corrupted one\(s\) found and repaired/),
    });
  });

  it('delivers GossipSub messages to every agent', async () => {
    const nonce = randomBytes(6).toString('hex');
    const got = new Map<string, AgentMessage>();
    const offs = [m[1], m[2], m[3]].map((x) =>
      x.agent!.parts.pubsub.onMessage(COORDINATION_TOPIC, (msg) => {
        if ((msg.body as { nonce?: string }).nonce === nonce) got.set(x.peerId, msg);
      }),
    );
    const before = (await metric(m[CHILD], 'bzzz_pubsub_messages_total', `topic="${COORDINATION_TOPIC}",direction="in"`)) ?? 0;
    const gs = m[0].agent!.parts.node.libp2p.services.pubsub;
    const diag = () =>
      JSON.stringify({
        subscribers: gs.getSubscribers(COORDINATION_TOPIC).length,
        gossipPeers: gs.getPeers().length,
        connected: m[0].agent!.parts.node.connectedPeers().length,
      });
    const sent = await m[0].agent!.parts.pubsub.publish(COORDINATION_TOPIC, 'test-ping', { nonce });
    expect(sent, diag()).toBeGreaterThanOrEqual(1);
    await waitFor('delivery to the in-process agents', () => (got.size === 3 ? true : undefined));
    for (const msg of got.values()) expect(msg).toMatchObject({ from: m[0].peerId, kind: 'test-ping', topic: COORDINATION_TOPIC });
    await waitFor(
      'delivery to the child agent',
      async () =>
        ((await metric(m[CHILD], 'bzzz_pubsub_messages_total', `topic="${COORDINATION_TOPIC}",direction="in"`)) ?? 0) > before || undefined,
    );
    offs.forEach((off) => off());

    // The second BZZZ topic works the same way.
    const meta = new Set<string>();
    const off = m[3].agent!.parts.pubsub.onMessage(META_DISCUSSION_TOPIC, (msg) => meta.add(msg.from));
    await m[2].agent!.parts.pubsub.publish(META_DISCUSSION_TOPIC, 'discussion', { text: 'hmmm' });
    await waitFor('meta-discussion delivery', () => (meta.has(m[2].peerId) ? true : undefined));
    off();
  });

  it('reports health per check and bzzz_* metrics on every agent', async () => {
    for (const x of m) {
      const checks = await getJson<{ status: string; score: number; checks: Array<{ name: string; status: string; score: number }> }>(
        `${x.healthUrl}/health/checks`,
      );
      expect(checks.status).toBe(200);
      expect(checks.body.checks.map((c) => c.name).sort()).toEqual(['dht', 'disk', 'election', 'memory', 'peers', 'pubsub', 'store']);
      expect(checks.body.score).toBeGreaterThan(0);
      expect(checks.body.score).toBeLessThanOrEqual(1);
      expect(checks.body.checks.find((c) => c.name === 'peers')).toMatchObject({ status: 'pass', score: 1 });
      expect((await getJson<{ status: string; peerId: string }>(`${x.healthUrl}/health`)).body.peerId).toBe(x.peerId);
      expect((await getJson(`${x.healthUrl}/health/ready`)).status).toBe(200);
      expect((await getJson(`${x.healthUrl}/health/live`)).status).toBe(200);
      const text = await (await fetch(`${x.healthUrl}/metrics`)).text();
      for (const name of [
        'bzzz_p2p_connected_peers 4',
        'bzzz_system_health_score',
        'bzzz_component_health_score{component="store"}',
        'bzzz_election_state',
        'bzzz_errors_total{component="dht"}',
        'bzzz_dht_replication_factor',
        'bzzz_dht_provider_records',
        'bzzz_dht_operation_duration_seconds_bucket',
        'bzzz_pubsub_propagation_seconds_bucket',
      ])
        expect(text, name).toContain(name);
    }
    // The child runs with Node.js process metrics too.
    expect(await metric(m[CHILD], 'bzzz_process_resident_memory_bytes')).toBeGreaterThan(0);
  });

  it('enforces role access: observers cannot read architect content, the admin reads all', async () => {
    // Make an observer the admin: it reads architect content only through the rebuilt admin key.
    const observerAdmin = m[2];
    await makeAdmin(observerAdmin);
    await waitFor('admin key rebuilt', () => (observerAdmin.agent!.parts.adminKey?.status().held ? true : undefined));

    const decision = { decision: 'use BLAKE3 for content addresses', rationale: 'fast, and b3sum checks it' };
    const json = (role: Role) => ({ ...auth(role), 'content-type': 'application/json' });
    const pub = await getJson<{ address: string; role: string }>(`${m[0].apiUrl}/api/decisions/architectural`, {
      method: 'POST',
      headers: json('senior_software_architect'),
      body: JSON.stringify(decision),
    });
    expect(pub.status).toBe(201);
    expect(pub.body.role).toBe('senior_software_architect');
    const read = (x: Member, role: Role, address = pub.body.address) =>
      getJson<{ content: unknown; role: string; author: string; type: string; address: string }>(
        `${x.apiUrl}/api/decisions/content/${address}`,
        { headers: auth(role) },
      );

    const asAdmin = await read(observerAdmin, 'admin');
    expect(asAdmin.status).toBe(200);
    expect(asAdmin.body).toMatchObject({
      content: decision,
      role: 'senior_software_architect',
      author: m[0].peerId,
      type: 'architectural',
      address: pub.body.address,
    });
    // The caller's role decides, not the agent's: the elected admin does not read for an observer.
    expect((await read(observerAdmin, 'observer')).status).toBe(403);
    expect((await read(m[3], 'admin')).status).toBe(403); // an observer agent holds no key that reads it
    expect((await read(m[1], 'senior_software_architect')).status).toBe(403); // backend_developer agent
    expect((await read(m[CHILD], 'senior_software_architect')).status).toBe(403); // backend_developer, child process
    expect((await read(m[0], 'senior_software_architect')).status).toBe(200); // the author's own role
    expect((await read(m[0], 'backend_developer')).status).toBe(403); // the agent could, the caller may not

    // Lower roles' content is readable upwards: backend content by the architect, not the observer.
    const code = await getJson<{ address: string }>(`${m[1].apiUrl}/api/decisions/code`, {
      method: 'POST',
      headers: json('backend_developer'),
      body: JSON.stringify({ decision: 'build passed' }),
    });
    expect(code.status).toBe(201);
    expect((await read(m[0], 'backend_developer', code.body.address)).status).toBe(200);
    expect((await read(m[0], 'senior_software_architect', code.body.address)).status).toBe(200);
    expect((await read(m[0], 'observer', code.body.address)).status).toBe(403);
    expect((await read(m[3], 'admin', code.body.address)).status).toBe(403);

    // Requests the API refuses, with reasons.
    const post = (x: Member, type: string, body: string, headers: Record<string, string> = json('senior_software_architect')) =>
      getJson<{ error: string; message: string }>(`${x.apiUrl}/api/decisions/${type}`, { method: 'POST', headers, body });
    expect(await post(m[3], 'code', '{"decision":"x"}', json('observer'))).toMatchObject({
      status: 403,
      body: { message: expect.stringMatching(/role observer\) may not publish/) },
    });
    // An observer agent signs nothing, whoever asks.
    expect(await post(m[3], 'code', '{"decision":"x"}', json('backend_developer'))).toMatchObject({ status: 403 });
    expect(await post(m[1], 'architectural', '{"decision":"x"}', json('backend_developer'))).toMatchObject({ status: 403 });
    expect(await post(m[0], 'code', '{not json')).toMatchObject({
      status: 400,
      body: { message: expect.stringMatching(/not valid JSON/) },
    });
    expect(await post(m[0], 'code', '[1,2]')).toMatchObject({
      status: 400,
      body: { message: expect.stringMatching(/must be a JSON object/) },
    });
    expect(await post(m[0], 'Bad Type!', '{}')).toMatchObject({ status: 400 });
    expect(await post(m[0], 'code', JSON.stringify({ blob: 'x'.repeat(1024 * 1024 + 10) }))).toMatchObject({ status: 413 });
    expect(
      await post(m[0], 'code', 'a=b', { ...auth('senior_software_architect'), 'content-type': 'application/x-www-form-urlencoded' }),
    ).toMatchObject({ status: 415 });
    expect((await read(m[0], 'admin', `blake3:${'cd'.repeat(32)}`)).status).toBe(404);
    expect((await read(m[0], 'admin', blobAddress)).status).toBe(422);
  });

  it('rebuilds the admin key with 3 shares, not with 2, and only for the elected admin', async () => {
    const admin = m[2]; // the observer made admin above
    expect((await agreedAdmin(running()))?.admin).toBe(admin.peerId);
    const libp2p = admin.agent!.parts.node.libp2p;
    const ownShare = await loadShare(sharePath(cluster.keysDir, admin.index + 1));
    const adminPub = (await readFile(join(cluster.keysDir, 'roles', 'admin.pub'), 'utf8')).trim();
    const peers = (ids: Member[]) => ids.map((x) => peerIdFromString(x.peerId));
    // Holders of a closed cluster want the signed votes that elected the admin.
    const proof = admin.agent!.parts.election.proof() ?? undefined;
    expect(proof?.admin).toBe(admin.peerId);
    await expect(
      collectAdminKey({
        libp2p,
        peers: peers([m[0], m[1]]),
        ownShare,
        adminRecipient: adminPub,
        threshold: 3,
        signal: AbortSignal.timeout(5000),
      }),
      'without the proof of election',
    ).rejects.toThrow(/no proof of election/);

    const two = collectAdminKey({
      libp2p,
      peers: peers([m[0]]),
      proof,
      ownShare,
      adminRecipient: adminPub,
      threshold: 3,
      signal: AbortSignal.timeout(5000),
    });
    await expect(two).rejects.toBeInstanceOf(AdminKeyCollectionError);
    const three = await collectAdminKey({
      libp2p,
      peers: peers([m[0], m[1]]),
      proof,
      ownShare,
      adminRecipient: adminPub,
      threshold: 3,
      signal: AbortSignal.timeout(5000),
    });
    expect(three.recipient).toBe(adminPub);

    // A follower asking for a share is refused by the holder.
    const follower = m[1].agent!.parts.node.libp2p;
    await expect(
      requestShare(follower, peerIdFromString(m[0].peerId), { adminRecipient: adminPub, replyTo: await AgeIdentity.generate(), proof }),
    ).rejects.toBeInstanceOf(ShareRequestRefusedError);
  });

  it('elects a new admin within the configured bound when the admin is killed, never two in one term', async () => {
    const child = m[CHILD];
    // Hand the admin role to the child process, then SIGKILL it: no hand-off, a real crash.
    const before = await makeAdmin(child);
    const killedAt = Date.now();
    child.child!.process.kill('SIGKILL');
    await child.child!.exited;
    child.child = undefined;
    const after = await waitFor('a new admin among the four', () => agreedAdmin(inProcess(), before.term + 1), BOUND_MS * 3, 20);
    const elapsed = Date.now() - killedAt;
    expect(after.admin).not.toBe(child.peerId);
    expect(elapsed).toBeLessThanOrEqual(BOUND_MS);

    // The child comes back with the same identity (peer.key in its data dir) and follows.
    await cluster.startMember(child);
    expect(JSON.parse(child.child!.stdout[0]).peerId).toBe(child.peerId);
    await waitFor('child rejoined and agrees', async () => ((await agreedAdmin(m))?.admin === after.admin ? true : undefined));
    for (const [term, admins] of adminsByTerm) expect([term, [...admins]]).toEqual([term, [...admins].slice(0, 1)]);
  });

  it('splits 2 | 3: only the side of 3 elects; the side of 2 stops acting as admin', async () => {
    // The admin on the side of 2 (in-process agents, whose allowlists the test sets).
    await makeAdmin(m[0]);
    const small = [m[0], m[1]];
    const large = m.filter((x) => !small.includes(x));
    const termBefore = (await status(small[0])).term;

    const ids = (xs: Member[]) => xs.map((x) => x.peerId);
    await Promise.all(small.map((x) => x.agent!.parts.node.setAllowedPeers(ids(small))));
    await Promise.all(large.filter((x) => x.agent).map((x) => x.agent!.parts.node.setAllowedPeers(ids(large))));

    const elected = await waitFor('the side of 3 elects', () => agreedAdmin(large, termBefore + 1), BOUND_MS * 3, 20);
    expect(ids(large)).toContain(elected.admin);
    // The old admin lost its majority: it stops acting within its lease.
    await waitFor(
      'old admin stopped acting',
      () => (small.every((x) => !x.agent!.parts.election.isAdmin()) ? true : undefined),
      stickyMs({ heartbeatMs: HEARTBEAT_MS, timeoutMs: TIMEOUT_MS }) + 1000,
      20,
    );
    // … and the side of 2 never gets an admin, however long it waits.
    const watchUntil = Date.now() + 3 * TIMEOUT_MS;
    while (Date.now() < watchUntil) {
      for (const x of small) expect(x.agent!.parts.election.isAdmin()).toBe(false);
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(Math.max(...small.map((x) => x.agent!.parts.election.status().term))).toBeLessThanOrEqual(elected.term);

    // Heal: everyone again agrees on one admin.
    await Promise.all(inProcess().map((x) => x.agent!.parts.node.setAllowedPeers(ids(m))));
    await waitFor('healed: one agreed admin', () => agreedAdmin(m), 30_000, 50);
    for (const [term, admins] of adminsByTerm) expect([term, [...admins]]).toEqual([term, [...admins].slice(0, 1)]);
  });

  it('hands off cleanly when the admin gets SIGTERM, and exits 0 within the grace period', async () => {
    const child = m[CHILD];
    const a = await makeAdmin(child);
    const sentAt = Date.now();
    child.child!.process.kill('SIGTERM');
    const exit = await child.child!.exited;
    const tookMs = Date.now() - sentAt;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(tookMs).toBeLessThan(GRACE_MS);
    // Log lines are JSON; Node's own warnings (if any) are not.
    const logs = child
      .child!.stderr.filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { msg: string; handedOffTo?: string; newAdmin?: string });
    const handoff = logs.find((l) => l.msg === 'admin role handed off');
    expect(handoff?.handedOffTo).toBeTruthy();
    expect(logs.map((l) => l.msg)).toContain('agent stopped');
    child.child = undefined;
    const next = await waitFor('the successor is the agreed admin', () => agreedAdmin(inProcess(), a.term + 1));
    expect(next.admin).toBe(handoff!.handedOffTo);
    for (const [term, admins] of adminsByTerm) expect([term, [...admins]]).toEqual([term, [...admins].slice(0, 1)]);
  });
});
