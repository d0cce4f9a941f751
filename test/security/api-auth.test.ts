// Attacks on the agent API by real HTTP clients against three real agents (admin, architect and
// backend_developer roles; real libp2p, real files): strangers without a token, callers with a
// token of a lower role, forged decisions uploaded as blobs, browser-style cross-origin requests,
// an election trigger from a non-admin, a client that leaves a fetch others wait for.
import { randomBytes } from 'node:crypto';
import { generateKeyPair } from '@libp2p/crypto/keys';
import type { PrivateKey } from '@libp2p/interface';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encryptForRole, loadRoleKeys, type Role, type RolePublicKeys } from '../../src/crypto/index.js';
import { signDecision, type Decision } from '../../src/agent/decision-signature.js';
import { createCluster, getJson, waitFor, type Cluster, type Member } from '../agent/cluster-harness.js';
import { metric } from './harness.js';

const HEARTBEAT_MS = 250;
const TIMEOUT_MS = 1250;

interface Status {
  admin: string | null;
  term: number;
}

describe('attacks on the agent API', () => {
  let cluster: Cluster;
  let m: Member[];
  let publicKeys: RolePublicKeys;
  let auth: Cluster['auth'];
  const json = (role: Role) => ({ ...auth(role), 'content-type': 'application/json' });

  const status = async (x: Member) => (await getJson<Status>(`${x.apiUrl}/api/election/status`, { headers: auth('observer') })).body;
  const agreed = async (): Promise<{ admin: string; term: number } | undefined> => {
    const s = await Promise.all(m.map(status));
    const admin = s[0].admin;
    return admin !== null && s.every((x) => x.admin === admin && x.term === s[0].term) ? { admin, term: s[0].term } : undefined;
  };
  const elected = async (): Promise<Member> => {
    const a = await waitFor('an agreed admin', agreed);
    return m.find((x) => x.peerId === a.admin) as Member;
  };

  /** Uploads bytes as a blob with a backend_developer token (any member caller may store blobs). */
  const upload = async (bytes: Uint8Array): Promise<string> => {
    const r = await getJson<{ address: string }>(`${m[2].apiUrl}/api/blobs`, {
      method: 'POST',
      headers: { ...auth('backend_developer'), 'content-type': 'application/octet-stream' },
      body: bytes,
    });
    expect(r.status).toBe(201);
    return r.body.address;
  };
  const readDecision = (x: Member, role: Role, address: string) =>
    getJson<{ error: string; message: string; address?: string; content?: unknown; author?: string }>(
      `${x.apiUrl}/api/decisions/content/${address}`,
      { headers: auth(role) },
    );
  const decision = (author: string, over: Partial<Decision> = {}): Decision => ({
    v: 1,
    type: 'architectural',
    role: 'observer',
    author,
    createdAt: new Date().toISOString(),
    content: { decision: 'everyone is admin now' },
    ...over,
  });

  beforeAll(async () => {
    cluster = await createCluster({
      members: [{ role: 'admin' }, { role: 'senior_software_architect' }, { role: 'backend_developer' }],
      heartbeatMs: HEARTBEAT_MS,
      electionTimeoutMs: TIMEOUT_MS,
      // One copy only: a blob put on one agent stays there, so other agents must fetch it.
      replicationFactor: 1,
    });
    m = cluster.members;
    auth = cluster.auth;
    await Promise.all(m.map((x) => cluster.startMember(x)));
    publicKeys = (await loadRoleKeys(cluster.keysDir)).publicKeys;
    await elected();
  });
  afterAll(async () => {
    await cluster?.stopAll();
  });

  it('answers anonymous and wrong-token calls with 401 and WWW-Authenticate on every API route, and stores nothing', async () => {
    const before = m[2].agent!.parts.store.stats().blobs;
    const calls: Array<[string, RequestInit]> = [
      ['/api/election/status', {}],
      [`/api/blobs/blake3:${'ab'.repeat(32)}`, {}],
      ['/api/blobs', { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: 'x' }],
      ['/api/decisions/code', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":1}' }],
      ['/api/election/trigger', { method: 'POST', headers: { 'content-type': 'application/json' } }],
      ['/api/no-such-route', {}],
    ];
    for (const [path, init] of calls) {
      for (const authorization of [undefined, 'Bearer bzzz_guessed', `Bearer ${cluster.tokens.admin.slice(0, -1)}x`]) {
        const headers = { ...(init.headers as Record<string, string>), ...(authorization ? { authorization } : {}) };
        const r = await fetch(`${m[2].apiUrl}${path}`, { ...init, headers });
        expect([path, r.status]).toEqual([path, 401]);
        expect(r.headers.get('www-authenticate')).toMatch(/^Bearer realm="bzzz-agent"/);
        const text = await r.text();
        expect(text).not.toContain('bzzz_guessed');
      }
    }
    expect(m[2].agent!.parts.store.stats().blobs).toBe(before);
    expect(await metric(m[2].healthUrl, 'bzzz_api_auth_failures_total', 'reason="missing"')).toBeGreaterThanOrEqual(calls.length);
    expect(await metric(m[2].healthUrl, 'bzzz_api_auth_failures_total', 'reason="invalid"')).toBeGreaterThanOrEqual(2 * calls.length);
    // Health and metrics stay open, and say nothing about callers.
    expect((await fetch(`${m[2].healthUrl}/health/live`)).status).toBe(200);
    const checks = await (await fetch(`${m[2].healthUrl}/health/checks`)).text();
    expect(checks).not.toContain(cluster.root);
  });

  it('lets an observer token neither publish nor read admin content; a backend token cannot read admin content even via the elected admin', async () => {
    // Admin content: published by an admin caller on the admin-role agent (encrypted to admin only).
    const pub = await getJson<{ address: string; role: string }>(`${m[0].apiUrl}/api/decisions/ops`, {
      method: 'POST',
      headers: json('admin'),
      body: JSON.stringify({ decision: 'rotate the admin key on Friday' }),
    });
    expect(pub).toMatchObject({ status: 201, body: { role: 'admin' } });
    const admin = await elected();
    await waitFor('admin key rebuilt', () => (admin.agent!.parts.adminKey?.status().held ? true : undefined));

    expect((await readDecision(admin, 'admin', pub.body.address)).status).toBe(200);
    for (const role of ['observer', 'backend_developer', 'senior_software_architect'] as const) {
      const r = await readDecision(admin, role, pub.body.address);
      expect([role, r.status]).toEqual([role, 403]);
      expect(JSON.stringify(r.body)).not.toContain('rotate the admin key');
    }
    for (const x of m) expect((await readDecision(x, 'observer', pub.body.address)).status).toBe(403);

    for (const x of m) {
      const r = await getJson<{ message: string }>(`${x.apiUrl}/api/decisions/code`, {
        method: 'POST',
        headers: json('observer'),
        body: JSON.stringify({ decision: 'x' }),
      });
      expect(r.status).toBe(403);
      expect(r.body.message).toMatch(/role observer\) may not publish/);
    }
    const blob = await getJson(`${m[1].apiUrl}/api/blobs`, {
      method: 'POST',
      headers: { ...auth('observer'), 'content-type': 'application/octet-stream' },
      body: 'observers only read',
    });
    expect(blob.status).toBe(403);
  });

  it('refuses forged decisions uploaded as blobs — unsigned, signed by a non-member, by a member whose role may not publish the type, or under another author — and counts them', async () => {
    const architect = m[1];
    const backend = m[2];
    // Each member's own libp2p key (the harness hands it over with --peer-key, as the operator does).
    const keyOf = async (x: Member): Promise<PrivateKey> => x.privateKey;
    const stranger = await generateKeyPair('Ed25519');
    const strangerId = peerIdFromPrivateKey(stranger).toString();
    const forge = async (plaintext: string) => upload(await encryptForRole(plaintext, 'observer', publicKeys));

    const cases: Array<[string, string]> = [
      ['unsigned', await forge(JSON.stringify({ ...decision(architect.peerId), role: 'admin', address: 'blake3:00' }))],
      ['not_member', await forge(await signDecision(decision(strangerId), stranger))],
      ['role_may_not_publish', await forge(await signDecision(decision(backend.peerId), await keyOf(backend)))],
      ['bad_signature', await forge(await signDecision(decision(architect.peerId), await keyOf(backend)))],
    ];
    for (const [reason, address] of cases) {
      const before = await metric(architect.healthUrl, 'bzzz_content_rejected_total', `reason="${reason}"`);
      const r = await readDecision(architect, 'senior_software_architect', address);
      expect([reason, r.status, r.body.error]).toEqual([reason, 422, 'content_rejected']);
      expect(r.body.message).toContain(`(${reason})`);
      expect(JSON.stringify(r.body)).not.toContain('everyone is admin now');
      expect(await metric(architect.healthUrl, 'bzzz_content_rejected_total', `reason="${reason}"`)).toBe(before + 1);
    }

    // A member allowed to publish signs a payload that names another address: the answer's
    // address is always the BLAKE3 of the stored bytes.
    const genuine = await forge(
      await signDecision({ ...decision(architect.peerId), address: `blake3:${'ee'.repeat(32)}` } as Decision, await keyOf(architect)),
    );
    const ok = await readDecision(backend, 'backend_developer', genuine);
    expect(ok.status).toBe(200);
    expect(ok.body.address).toBe(genuine);
    expect(ok.body.author).toBe(architect.peerId);
  });

  it('refuses POSTs without a JSON content type and cross-origin requests, and deeply nested JSON with 400', async () => {
    const url = `${m[1].apiUrl}/api/decisions/code`;
    const body = JSON.stringify({ decision: 'x' });
    const token = auth('senior_software_architect');
    const before = m[1].agent!.parts.store.stats().blobs;
    expect((await fetch(url, { method: 'POST', headers: token, body })).status).toBe(415);
    expect((await fetch(url, { method: 'POST', headers: { ...token, 'content-type': 'text/plain' }, body })).status).toBe(415);
    expect(
      (await fetch(url, { method: 'POST', headers: { ...token, 'content-type': 'application/x-www-form-urlencoded' }, body })).status,
    ).toBe(415);
    const blobUrl = `${m[1].apiUrl}/api/blobs`;
    expect((await fetch(blobUrl, { method: 'POST', headers: token, body: 'raw' })).status).toBe(415);
    expect((await fetch(blobUrl, { method: 'POST', headers: { ...token, 'content-type': 'text/plain' }, body: 'raw' })).status).toBe(415);
    const crossOrigin = await fetch(url, {
      method: 'POST',
      headers: { ...json('senior_software_architect'), origin: 'http://attacker.example' },
      body,
    });
    expect(crossOrigin.status).toBe(403);
    expect(((await crossOrigin.json()) as { message: string }).message).toMatch(/cross-origin/);
    const crossSite = await fetch(url, {
      method: 'POST',
      headers: { ...json('senior_software_architect'), 'sec-fetch-site': 'cross-site' },
      body,
    });
    expect(crossSite.status).toBe(403);
    expect(m[1].agent!.parts.store.stats().blobs).toBe(before);
    expect(await metric(m[1].healthUrl, 'bzzz_api_auth_failures_total', 'reason="cross_origin"')).toBeGreaterThanOrEqual(2);

    const nested = `{"a":${'['.repeat(100_000)}${']'.repeat(100_000)}}`;
    const deep = await getJson<{ error: string; message: string }>(url, {
      method: 'POST',
      headers: json('senior_software_architect'),
      body: nested,
    });
    expect(deep.status).toBe(400);
    expect(deep.body.message).toMatch(/nested more than 64 levels/);
    // Same origin (a browser on the agent's own page) is fine.
    const same = await fetch(url, {
      method: 'POST',
      headers: { ...json('senior_software_architect'), origin: m[1].apiUrl, 'sec-fetch-site': 'same-origin' },
      body,
    });
    expect(same.status).toBe(201);
  });

  it('refuses an election trigger from non-admin callers, and the term does not move', async () => {
    const admin = await elected();
    const before = await waitFor('an agreed admin', agreed);
    for (const role of ['observer', 'backend_developer', 'senior_software_architect'] as const) {
      const r = await getJson<{ message: string }>(`${admin.apiUrl}/api/election/trigger`, { method: 'POST', headers: json(role) });
      expect([role, r.status]).toEqual([role, 403]);
      expect(r.body.message).toMatch(/admin only/);
    }
    await new Promise((r) => setTimeout(r, 3 * HEARTBEAT_MS));
    expect(await agreed()).toEqual(before);
    // Not even an admin caller without the JSON content type (a cross-site form could send that).
    expect((await fetch(`${admin.apiUrl}/api/election/trigger`, { method: 'POST', headers: auth('admin') })).status).toBe(415);
    expect(await agreed()).toEqual(before);
    // The admin caller can: the refusals above were the role, not a broken route.
    expect((await getJson(`${admin.apiUrl}/api/election/trigger`, { method: 'POST', headers: json('admin') })).status).toBe(202);
    const after = await waitFor('a new term', async () => {
      const a = await agreed();
      return a !== undefined && a.term > before.term ? a : undefined;
    });
    expect(after.term).toBeGreaterThan(before.term);
  });

  it('keeps serving the other callers of a shared fetch when the first caller disconnects; 404s carry no peer text', async () => {
    const bytes = randomBytes(24 * 1024 * 1024);
    const put = await getJson<{ address: string }>(`${m[0].apiUrl}/api/blobs`, {
      method: 'POST',
      headers: { ...auth('admin'), 'content-type': 'application/octet-stream' },
      body: bytes,
    });
    expect(put.status).toBe(201);
    const reader = m[2];
    expect(await reader.agent!.parts.store.has(put.body.address)).toBe(false);
    const errorsBefore = await metric(reader.healthUrl, 'bzzz_errors_total', 'component="http"');

    const url = `${reader.apiUrl}/api/blobs/${put.body.address}`;
    const leaver = new AbortController();
    const first = fetch(url, { headers: auth('observer'), signal: leaver.signal }).catch((err: Error) => err);
    // The first caller's request starts the peer fetch (a provider lookup, then 24 MiB over libp2p);
    // the others join it while it runs, then the first one leaves.
    await new Promise((r) => setTimeout(r, 20));
    const others = [1, 2, 3].map(() =>
      fetch(url, { headers: auth('observer') }).then(async (r) => ({ status: r.status, bytes: Buffer.from(await r.arrayBuffer()) })),
    );
    await new Promise((r) => setTimeout(r, 20));
    leaver.abort();
    expect(await first).toBeInstanceOf(Error);
    for (const r of await Promise.all(others)) {
      expect(r.status).toBe(200);
      expect(r.bytes.equals(bytes)).toBe(true);
    }
    expect(await metric(reader.healthUrl, 'bzzz_errors_total', 'component="http"')).toBe(errorsBefore);

    const missing = await getJson<{ message: string }>(`${reader.apiUrl}/api/blobs/blake3:${'ab'.repeat(32)}`, {
      headers: auth('observer'),
    });
    expect(missing.status).toBe(404);
    expect(missing.body.message).toBe('this content is not held by any reachable agent: put it on an agent first');
  });
});
