// The v1 host harness (test/support/v1-hosts.ts) the rollback-to-v1 tests stand on, proven against
// real parts: three v1 hosts and an HAProxy proxy as systemd containers; SSH as root with the
// test key, the host key pinned to the fingerprint the harness reports; the v1 units started over
// SSH form a mesh; HAProxy, switched over its runtime API through an SSH stream-local channel,
// answers from v1; and the faults the rollback tests inject (changed host key, unit that fails
// to start, unreachable host) do what they say.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client } from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bridgeGateway, sshFingerprintOfBlob, startV1Hosts, type SshHost, type V1Hosts } from '../../support/v1-hosts.js';
import { waitFor } from '../harness.js';

let v1: V1Hosts | undefined;
let v2: Server | undefined;

/** Connects as the host's user with the harness key; refuses any host key but `pin`. */
function connect(host: SshHost, privateKey: string, pin = host.hostKey, timeoutMs = 8000): Promise<{ client: Client; seen: string }> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    let seen = '';
    client
      .on('ready', () => resolve({ client, seen }))
      .on('error', (err) => reject(Object.assign(err, { seen })))
      .connect({
        host: host.address,
        port: host.sshPort,
        username: host.user,
        privateKey,
        readyTimeout: timeoutMs,
        hostVerifier: (key: Buffer) => {
          seen = sshFingerprintOfBlob(key);
          return seen === pin;
        },
      });
  });
}

function run(client: Client, command: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    client.exec(command, (err, stream) => {
      if (err) return reject(err);
      let stdout = '';
      let stderr = '';
      stream.on('data', (d: Buffer) => (stdout += d.toString()));
      stream.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      stream.on('close', (code: number | null) => resolve({ code: code ?? -1, stdout, stderr }));
    });
  });
}

/** One HAProxy runtime API command through the proxy's admin socket, over SSH (no socat). */
function haproxyOverSsh(client: Client, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    client.openssh_forwardOutStreamLocal('/run/haproxy/admin.sock', (err, stream) => {
      if (err) return reject(err);
      let out = '';
      stream.on('data', (d: Buffer) => (out += d.toString()));
      stream.on('close', () => resolve(out));
      stream.end(`${command}\n`);
    });
  });
}

async function connectedPeers(healthUrl: string): Promise<number | undefined> {
  const res = await fetch(`${healthUrl}/metrics`, { signal: AbortSignal.timeout(2000) });
  const m = /^bzzz_p2p_connected_peers(?:\{[^}]*\})? (\S+)$/m.exec(await res.text());
  return m ? Number(m[1]) : undefined;
}

async function servedBy(url: string): Promise<string | undefined> {
  const res = await fetch(`${url}/health/live`, { signal: AbortSignal.timeout(3000) });
  await res.arrayBuffer();
  return res.ok ? (res.headers.get('x-served-by') ?? undefined) : undefined;
}

beforeAll(async () => {
  // A v2 stand-in on the docker host, as the v2 agents' host-mode published health port would be.
  v2 = createServer((_req, res) => res.end('v2\n'));
  await new Promise<void>((r) => v2!.listen(0, '0.0.0.0', r));
  const gateway = await bridgeGateway();
  v1 = await startV1Hosts({
    v2Servers: [{ name: 'v2-0', address: `${gateway}:${(v2.address() as AddressInfo).port}` }],
    onProgress: (m) => process.env.BZZZ_TEST_LOG && console.error(m),
  });
}, 240_000);

afterAll(async () => {
  await v1?.stop();
  await new Promise((r) => (v2 ? v2.close(r) : r(undefined)));
});

describe('v1 hosts harness', () => {
  it('starts three v1 hosts and a proxy, v1 off and v2 serving behind HAProxy', async () => {
    const h = v1!;
    expect(h.hosts.map((x) => x.name)).toEqual(['walnut', 'ironwood', 'acacia']);
    for (const host of h.hosts) {
      expect(host).toMatchObject({ sshPort: 22, user: 'root', unit: `bzzz@${host.name}.service` });
      expect(host.address).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
      expect(host.hostKey).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
      expect(await h.unitState(host)).toBe('inactive');
    }
    expect(new Set([...h.hosts, h.proxy].map((x) => x.hostKey)).size).toBe(4);
    expect(h.privateKey).toMatch(/^-----BEGIN OPENSSH PRIVATE KEY-----/);
    expect((await h.exec(h.proxy, ['systemctl', 'is-active', 'haproxy.service'])).stdout.trim()).toBe('active');
    expect((await h.exec('walnut', ['systemctl', 'is-enabled', 'haproxy.service'])).stdout.trim()).toBe('disabled');
    for (const unit of ['bzzz@walnut.service', 'bzzz.service']) {
      const show = await h.exec('walnut', ['systemctl', 'show', '-p', 'LoadState,UnitFileState,ActiveState', unit]);
      expect(show.stdout.split('\n').filter(Boolean).sort()).toEqual([
        'ActiveState=inactive',
        'LoadState=loaded',
        expect.stringMatching(/^UnitFileState=(disabled|indirect)$/),
      ]);
    }
    await waitFor(
      'HAProxy to answer from v2',
      async () => ((await servedBy(h.proxyUrl).catch(() => undefined)) === 'v2-0' ? true : undefined),
      20_000,
    );
    const servers = await h.haproxyServers();
    expect([...servers.keys()].sort()).toEqual(['acacia', 'ironwood', 'v2-0', 'walnut']);
    expect(servers.get('walnut')?.adminState).not.toBe(0); // in maintenance until a rollback
  });

  it('logs in as root with the key; the reported fingerprint is the key sshd presents, and no other is accepted', async () => {
    const h = v1!;
    for (const host of [...h.hosts, h.proxy]) {
      const { client, seen } = await connect(host, h.privateKey);
      try {
        expect(seen).toBe(host.hostKey);
        const r = await run(client, 'id -u && systemctl is-system-running');
        expect(r.stdout.split('\n')[0]).toBe('0');
      } finally {
        client.end();
      }
    }
    const wrongPin = h.hosts[1].hostKey;
    await expect(connect(h.hosts[0], h.privateKey, wrongPin)).rejects.toMatchObject({ seen: h.hosts[0].hostKey });
  });

  it('starts the v1 units over SSH; the three agents mesh; HAProxy switched over its runtime API answers from v1', async () => {
    const h = v1!;
    for (const host of h.hosts) {
      const { client } = await connect(host, h.privateKey);
      try {
        const r = await run(client, `systemctl start ${host.unit} && systemctl is-active ${host.unit}`);
        expect(r, `${host.name}: ${await h.journal(host, host.unit, 20)}`).toMatchObject({ code: 0, stdout: 'active\n' });
      } finally {
        client.end();
      }
    }
    for (const host of h.hosts) {
      await waitFor(
        `${host.name} to report 2 connected peers`,
        async () => ((await connectedPeers(host.healthUrl)) ?? 0) >= 2 || undefined,
        30_000,
        250,
      );
    }

    const { client } = await connect(h.proxy, h.privateKey);
    try {
      for (const host of h.hosts) expect(await haproxyOverSsh(client, `set server bzzz/${host.name} state ready`)).toBe('\n');
      expect(await haproxyOverSsh(client, 'set server bzzz/v2-0 state maint')).toBe('\n');
    } finally {
      client.end();
    }
    const names = h.hosts.map((x) => x.name);
    const seen = new Set<string>();
    await waitFor(
      'HAProxy to answer from every v1 host',
      async () => {
        const by = await servedBy(h.proxyUrl).catch(() => undefined);
        if (by) seen.add(by);
        return names.every((n) => seen.has(n)) || undefined;
      },
      20_000,
      100,
    );
    expect([...seen].sort()).toEqual([...names].sort());
  });

  it('injects the faults the rollback tests need: changed host key, a unit that fails to start, an unreachable host', async () => {
    const h = v1!;
    const acacia = h.host('acacia');

    const newKey = await h.replaceHostKey(acacia);
    expect(newKey).not.toBe(acacia.hostKey);
    await expect(connect(acacia, h.privateKey)).rejects.toMatchObject({ seen: newKey });
    const again = await connect(acacia, h.privateKey, newKey);
    try {
      await run(again.client, `systemctl stop ${acacia.unit}`);
    } finally {
      again.client.end();
    }

    await h.breakUnit(acacia);
    const failed = await h.exec(acacia, ['systemctl', 'start', acacia.unit]);
    expect(failed.exitCode).not.toBe(0);
    expect(await h.unitState(acacia)).toBe('failed');
    expect(await h.journal(acacia, acacia.unit)).toMatch(/not-a-port/);
    await h.repairUnit(acacia);
    expect((await h.exec(acacia, ['systemctl', 'start', acacia.unit])).exitCode).toBe(0);

    const walnut = h.host('walnut');
    await h.makeUnreachable(walnut);
    await expect(connect(walnut, h.privateKey, walnut.hostKey, 3000)).rejects.toThrow();
    await h.makeReachable(walnut);
    const back = await connect(walnut, h.privateKey);
    back.client.end();
  });
});
