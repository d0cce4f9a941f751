// bzzzctl up → the BZZZ cluster of stacks/examples/dev.yaml running on the real swarm (the
// controller as a swarm service, three agents built offline), used as a user would: through the
// agents' published APIs, `bzzzctl status`, `docker kill`, a version change, and `bzzzctl down`.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, cli, docker, port, specDir, uniqueName, waitFor, writeSpec } from '../integration/harness.js';
import { ownedBy } from '../../src/swarm/labels.js';
import type { AgentStatus } from '../../src/spec/status.js';

interface StatusDoc {
  ready: boolean;
  generation: number;
  agents: AgentStatus[];
  controller: { running: boolean };
}

const API = { a: 18080, b: 18081, c: 18082 } as const;
const HEALTH = { a: 18180, b: 18181, c: 18182 } as const;

/** A bearer token for the agents' API acting with `role`, as a user gets one. */
async function apiToken(name: string, role: string): Promise<string> {
  const r = await cli(['api-token', name, '--role', role]);
  if (r.code !== 0) throw new Error(r.stderr);
  return r.stdout.trim();
}

async function status(name: string): Promise<StatusDoc> {
  const r = await cli(['status', name, '-o', 'json']);
  if (r.code !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout) as StatusDoc;
}

function settled(s: StatusDoc): boolean {
  const admins = s.agents.filter((a) => a.admin);
  return (
    s.agents.length === 3 &&
    s.agents.every((a) => a.healthy && a.peers >= 2) &&
    admins.length === 1 &&
    new Set(s.agents.map((a) => a.adminPeer)).size === 1
  );
}

describe('bzzzctl up on a bare swarm', () => {
  const name = uniqueName('e2e');
  const dir = specDir();
  const devSpec = readFileSync(join(ROOT, 'stacks/examples/dev.yaml'), 'utf8').replace('name: bzzz-dev', `name: ${name}`);
  let file: string;

  beforeAll(() => {
    file = writeSpec(dir, devSpec);
  });
  afterAll(async () => {
    await cli(['down', '-f', file, '--timeout', '120s']);
    await docker('rmi', 'bzzz/bzzzctl:v0.1.1').catch(() => undefined);
  });

  it('brings every agent up healthy, fully peered, with one elected admin', async () => {
    const r = await cli(['up', '-f', file, '--timeout', '400s', '-o', 'json']);
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    const doc = JSON.parse(r.stdout) as { ready: boolean; agents: AgentStatus[] };
    expect(doc.ready).toBe(true);
    expect(doc.agents.map((a) => a.name)).toEqual(['a', 'b', 'c']);

    const s = await status(name);
    expect(s.controller.running).toBe(true);
    for (const a of s.agents) {
      expect(typeof a.name).toBe('string');
      expect(a.healthy).toBe(true);
      expect(a.peers).toBe(2);
      expect(typeof a.admin).toBe('boolean');
    }
    expect(s.agents.filter((a) => a.admin)).toHaveLength(1);
    // Closed by default: an anonymous caller gets nothing.
    expect((await fetch(`http://127.0.0.1:${API.a}/api/election/status`)).status).toBe(401);
    // Every agent answers the same admin through its own published API.
    const auth = { authorization: `Bearer ${await apiToken(name, 'observer')}` };
    const admins = await Promise.all(
      Object.values(API).map(
        async (p) =>
          ((await (await fetch(`http://127.0.0.1:${p}/api/election/status`, { headers: auth })).json()) as { admin: string }).admin,
      ),
    );
    expect(new Set(admins).size).toBe(1);
    expect(admins[0]).toBe(s.agents.find((a) => a.admin)!.peerId);
  }, 480_000);

  it('running up again changes nothing', async () => {
    const before = (await docker('service', 'ls', '--filter', `label=io.bzzz.cluster=${name}`, '--format', '{{.ID}} {{.Image}}')).trim();
    const versions = JSON.parse(await docker('service', 'inspect', `${name}_agent-a`))[0].Version.Index;
    const r = await cli(['up', '-f', file, '--timeout', '120s', '-o', 'json']);
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    expect((await docker('service', 'ls', '--filter', `label=io.bzzz.cluster=${name}`, '--format', '{{.ID}} {{.Image}}')).trim()).toBe(
      before,
    );
    expect(JSON.parse(await docker('service', 'inspect', `${name}_agent-a`))[0].Version.Index).toBe(versions);
  }, 180_000);

  it('content published through one agent is read through another', async () => {
    const decision = { title: 'adopt BLAKE3 addressing', rationale: 'e2e', at: Date.now() };
    const auth = { authorization: `Bearer ${await apiToken(name, 'backend_developer')}` };
    // dev.yaml's agents act as backend_developer: BZZZ's access matrix lets them publish code
    // decisions, not architecture ones.
    const refused = await fetch(`http://127.0.0.1:${API.a}/api/decisions/architecture`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...auth },
      body: JSON.stringify(decision),
    });
    expect(refused.status).toBe(403);
    const post = await fetch(`http://127.0.0.1:${API.a}/api/decisions/code`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...auth },
      body: JSON.stringify(decision),
    });
    expect(post.status, await post.clone().text()).toBeLessThan(300);
    const { address } = (await post.json()) as { address: string };
    expect(address).toMatch(/^blake3:[0-9a-f]{64}$/);
    const got = await waitFor(
      'decision readable through agent b',
      async () => {
        const r = await fetch(`http://127.0.0.1:${API.b}/api/decisions/content/${address}`, { headers: auth });
        return r.status === 200 ? r.text() : undefined;
      },
      30_000,
      500,
    );
    expect(got).toContain('adopt BLAKE3 addressing');

    const bytes = Buffer.from(`raw blob ${Math.random()}`);
    const put = await fetch(`http://127.0.0.1:${API.c}/api/blobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream', ...auth },
      body: bytes,
    });
    const blob = ((await put.json()) as { address: string }).address;
    const back = await fetch(`http://127.0.0.1:${API.a}/api/blobs/${blob}`, { headers: auth });
    expect(back.status).toBe(200);
    expect(Buffer.from(await back.arrayBuffer()).equals(bytes)).toBe(true);
  }, 60_000);

  it("killing the admin's container: the swarm replaces it and a new admin is elected", async () => {
    const before = await status(name);
    const admin = before.agents.find((a) => a.admin)!;
    const term = Math.max(...before.agents.map((a) => a.term ?? 0));
    const svc = admin.service;
    const container = (await docker('ps', '-q', '--filter', `label=com.docker.swarm.service.name=${svc}`)).trim().split('\n')[0];
    expect(container).toMatch(/^[0-9a-f]+$/);
    await docker('kill', container);

    const after = await waitFor(
      'a new admin, and the killed agent replaced and back',
      async () => {
        const s = await status(name);
        const replaced = (await docker('ps', '-q', '--filter', `label=com.docker.swarm.service.name=${svc}`)).trim();
        const t = Math.max(...s.agents.map((a) => a.term ?? 0));
        return settled(s) && t > term && replaced !== '' && !replaced.startsWith(container) ? s : undefined;
      },
      120_000,
      1000,
    );
    expect(after.agents.filter((a) => a.admin)).toHaveLength(1);
  }, 150_000);

  it('a spec.version change rolls the agents per the update policy while the cluster stays reachable', async () => {
    await docker('tag', 'bzzz/bzzzctl:v0.1.0', 'bzzz/bzzzctl:v0.1.1');
    const next = writeSpec(dir, devSpec.replace('version: "0.1.0"', 'version: "0.1.1"'), 'next.yaml');
    let sampling = true;
    const reachable: number[] = [];
    const sampler = (async () => {
      while (sampling) {
        const ok = await Promise.all(
          Object.values(HEALTH).map((p) =>
            fetch(`http://127.0.0.1:${p}/health/live`, { signal: AbortSignal.timeout(1000) }).then(
              (r) => r.ok,
              () => false,
            ),
          ),
        );
        reachable.push(ok.filter(Boolean).length);
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
    const r = await cli(['apply', '-f', next, '--timeout', '240s']);
    sampling = false;
    await sampler;
    expect(r.code, r.stdout + r.stderr.slice(-2000)).toBe(0);
    for (const i of ['a', 'b', 'c']) {
      const s = JSON.parse(await docker('service', 'inspect', `${name}_agent-${i}`))[0];
      expect(s.Spec.TaskTemplate.ContainerSpec.Image).toBe('bzzz/bzzzctl:v0.1.1');
      expect(s.Spec.UpdateConfig).toMatchObject({ Parallelism: 1, Order: 'stop-first', FailureAction: 'rollback' });
      expect(s.UpdateStatus?.State).toBe('completed');
    }
    // One agent at a time: never fewer than two of three answering.
    expect(reachable.length).toBeGreaterThan(5);
    expect(Math.min(...reachable)).toBeGreaterThanOrEqual(2);
    expect(reachable.some((n) => n < 3)).toBe(true);
    await waitFor('agents settle on the new version', async () => settled(await status(name)), 90_000, 1000);
  }, 400_000);

  it('down removes everything of the cluster from the swarm', async () => {
    const r = await cli(['down', '-f', file, '--timeout', '120s']);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const owned = { labels: ownedBy(name) };
    const [s, sec, cfg, net, vol, ctl] = await Promise.all([
      port.listServices(owned),
      port.listSecrets(owned),
      port.listConfigs(owned),
      port.listNetworks(owned),
      port.listVolumes(owned),
      port.listServices({ names: ['bzzz-operator_controller'] }),
    ]);
    expect([s.length, sec.length, cfg.length, net.length, vol.length, ctl.length]).toEqual([0, 0, 0, 0, 0, 0]);
  }, 180_000);
});
