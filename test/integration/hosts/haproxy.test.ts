// The proxy switch through a real HAProxy's runtime API over SSH: requests through the proxy go to
// v1 after switchTo('v1') with none failing during the switch, the server states survive a reload
// (state file), back to v2, and a server HAProxy does not have is named before anything changes.
// Weighing (the migration's cutover): 10 %, 50 %, 100 % and back to 0 % of the requests answered by
// v2, none failing across all of it, the weights in the state file and kept across a reload.
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HaproxyError, HaproxySwitch, adminStateName, parseServersState } from '../../../src/hosts/haproxy.js';
import { SystemdHosts, requireAllOk } from '../../../src/hosts/systemd.js';
import type { SshTarget } from '../../../src/hosts/types.js';
import { HAPROXY_BACKEND, HAPROXY_SOCKET, HAPROXY_STATE_FILE, type V1Hosts, bridgeGateway, startV1Hosts } from '../../support/v1-hosts.js';
import { waitFor } from '../harness.js';

let v1: V1Hosts | undefined;
let v2: Server | undefined;

beforeAll(async () => {
  v2 = createServer((_req, res) => res.end('v2\n'));
  await new Promise<void>((r) => v2!.listen(0, '0.0.0.0', r));
  const gateway = await bridgeGateway();
  v1 = await startV1Hosts({
    v2Servers: [{ name: 'v2-0', address: `${gateway}:${(v2.address() as AddressInfo).port}` }],
    onProgress: (m) => process.env.BZZZ_TEST_LOG && console.error(m),
  });
  const targets = v1.hosts.map((h) => ({
    name: h.name,
    address: h.address,
    port: h.sshPort,
    user: h.user,
    hostKey: h.hostKey,
    timeoutMs: 10_000,
    unit: h.unit,
  }));
  requireAllOk('starting the v1 units', await new SystemdHosts({ privateKey: v1.privateKey, startTimeoutMs: 30_000 }).start(targets));
}, 240_000);

afterAll(async () => {
  await v1?.stop();
  await new Promise((r) => (v2 ? v2.close(r) : r(undefined)));
});

function proxyTarget(): SshTarget {
  const p = v1!.proxy;
  return { name: 'proxy', address: p.address, port: p.sshPort, user: p.user, hostKey: p.hostKey, timeoutMs: 10_000 };
}

function haproxySwitch(over: { v1Servers?: string[] } = {}): HaproxySwitch {
  return new HaproxySwitch({
    target: proxyTarget(),
    privateKey: v1!.privateKey,
    socket: HAPROXY_SOCKET,
    stateFile: HAPROXY_STATE_FILE,
    backend: HAPROXY_BACKEND,
    v1Servers: over.v1Servers ?? v1!.hosts.map((h) => h.name),
    v2Servers: ['v2-0'],
    weight: 100,
    upTimeoutMs: 15_000,
  });
}

async function servedBy(): Promise<string> {
  const res = await fetch(`${v1!.proxyUrl}/health/live`, { signal: AbortSignal.timeout(3000) });
  await res.arrayBuffer();
  if (!res.ok) throw new Error(`proxy answered ${res.status}`);
  return res.headers.get('x-served-by') ?? '?';
}

/** Requests through the proxy back to back until stopped: who answered, and the failures. */
function load(): { stop(): Promise<{ by: string[]; failures: string[] }> } {
  const by: string[] = [];
  const failures: string[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      try {
        by.push(await servedBy());
      } catch (err) {
        failures.push(String(err));
      }
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return { by, failures };
    },
  };
}

describe('HAProxy switch', () => {
  it('sees v2 serving and v1 in maintenance at first', async () => {
    await waitFor('HAProxy to answer from v2', async () => (await servedBy().catch(() => '')) === 'v2-0', 20_000);
    const view = await haproxySwitch().view();
    expect(view.kind).toBe('haproxy');
    expect(view.serving).toBe('v2');
    expect(view.servers.filter((s) => s.side === 'v1').map((s) => s.state)).toEqual(['maint', 'maint', 'maint']);
  });

  it('switches to v1 with no request failing; requests are answered by v1 afterwards; the state file has it', async () => {
    const traffic = load();
    await new Promise((r) => setTimeout(r, 300));
    const view = await haproxySwitch().switchTo('v1');
    await new Promise((r) => setTimeout(r, 300));
    const { by, failures } = await traffic.stop();
    expect(failures).toEqual([]);
    expect(by).toContain('v2-0');
    expect(view.serving).toBe('v1');
    expect(view.servers.find((s) => s.name === 'v2-0')?.state).toBe('maint');
    const after = new Set<string>();
    for (let i = 0; i < 20; i++) after.add(await servedBy());
    expect([...after].every((n) => ['walnut', 'ironwood', 'acacia'].includes(n))).toBe(true);

    const file = (await v1!.exec(v1!.proxy, ['cat', HAPROXY_STATE_FILE])).stdout;
    const saved = parseServersState(file).filter((s) => s.backend === HAPROXY_BACKEND);
    expect(adminStateName(saved.find((s) => s.server === 'walnut')!.adminState)).toBe('ready');
    expect(adminStateName(saved.find((s) => s.server === 'v2-0')!.adminState)).toBe('maint');
  });

  it('keeps the switch across a reload (load-server-state-from-file)', async () => {
    const r = await v1!.exec(v1!.proxy, ['systemctl', 'reload', 'haproxy.service']);
    expect(r.exitCode, r.stderr).toBe(0);
    await new Promise((res) => setTimeout(res, 1000));
    const servers = await v1!.haproxyServers();
    expect(adminStateName(servers.get('v2-0')!.adminState)).toBe('maint');
    // `disabled` in the configuration, ready from the state file: only the configuration's mark (4) is left.
    expect(adminStateName(servers.get('walnut')!.adminState)).toBe('ready');
    expect((await haproxySwitch().view()).serving).toBe('v1');
  });

  it('is idempotent, and switches back to v2', async () => {
    expect((await haproxySwitch().switchTo('v1')).serving).toBe('v1');
    const view = await haproxySwitch().switchTo('v2');
    expect(view.serving).toBe('v2');
    expect(await servedBy()).toBe('v2-0');
  });

  it('names a server HAProxy does not have, before changing anything', async () => {
    const before = await v1!.haproxy(`show servers state ${HAPROXY_BACKEND}`);
    const err = await haproxySwitch({ v1Servers: ['walnut', 'hickory'] })
      .switchTo('v1')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HaproxyError);
    expect((err as Error).message).toMatch(/^HAProxy's backend bzzz has no server hickory \(it has walnut, ironwood, acacia, v2-0\)/);
    const after = await v1!.haproxy(`show servers state ${HAPROXY_BACKEND}`);
    const admin = (t: string) => parseServersState(t).map((s) => [s.server, s.adminState]);
    expect(admin(after)).toEqual(admin(before));
  });
});

/** Requests through the proxy back to back, who answered each visible while it runs. */
function liveLoad(): { by: string[]; failures: string[]; stop(): Promise<void> } {
  const by: string[] = [];
  const failures: string[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      try {
        by.push(await servedBy());
      } catch (err) {
        failures.push(String(err));
      }
    }
  })();
  return {
    by,
    failures,
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

const MEASURED = 200;

describe('HAProxy weighing', () => {
  it('moves 10 %, 50 %, 100 % and back to 0 % of the requests to v2, none failing; the state file has the weights', async () => {
    // Where a migration starts: v1 alone, v2 in maintenance.
    expect((await haproxySwitch().switchTo('v1')).serving).toBe('v1');
    const traffic = liveLoad();
    const measured: Record<number, { share: number; view: number | undefined; weights: Record<string, number> }> = {};
    try {
      for (const p of [10, 50, 100, 0]) {
        const view = await haproxySwitch().weigh(p);
        // The next MEASURED requests, all sent after the step was written.
        const from = traffic.by.length;
        await waitFor(`${MEASURED} requests at ${p} %`, async () => traffic.by.length >= from + MEASURED, 30_000);
        const servers = await v1!.haproxyServers();
        measured[p] = {
          share: v2Share(traffic.by.slice(from, from + MEASURED)),
          view: view.v2Percent,
          weights: Object.fromEntries([...servers].map(([n, s]) => [n, s.weight])),
        };
        if (process.env.BZZZ_TEST_LOG) console.error(`weigh(${p}):`, JSON.stringify(measured[p]));
      }
    } finally {
      await traffic.stop();
    }
    if (process.env.BZZZ_TEST_LOG) console.error(`weighing: ${traffic.by.length} requests, ${traffic.failures.length} failed`);
    expect(traffic.failures).toEqual([]);
    // 3 v1 servers and 1 v2 server: 99 / 33 at 10 % (33 of 330), 33 / 99 at 50 %, 0 / 100 at 100 %, 100 / 0 at 0 %.
    // srv_uweight reports what `set weight` set, as is.
    expect(measured[10].weights).toEqual({ walnut: 99, ironwood: 99, acacia: 99, 'v2-0': 33 });
    expect(measured[50].weights).toEqual({ walnut: 33, ironwood: 33, acacia: 33, 'v2-0': 99 });
    expect(measured[100].weights).toEqual({ walnut: 0, ironwood: 0, acacia: 0, 'v2-0': 100 });
    expect(measured[0].weights).toEqual({ walnut: 100, ironwood: 100, acacia: 100, 'v2-0': 0 });
    expect([10, 50, 100, 0].map((p) => measured[p].view)).toEqual([10, 50, 100, 0]);
    // Round robin with weights is deterministic in HAProxy (its weighted round robin spreads each
    // server's turns evenly): 200 requests back to back get the weights' share within a request or
    // two (measured: 10 and 50.5); one request in flight while a step is written may go the old way.
    expect(Math.abs(measured[10].share - 10)).toBeLessThanOrEqual(1.5);
    expect(Math.abs(measured[50].share - 50)).toBeLessThanOrEqual(1.5);
    expect(measured[100].share).toBe(100);
    expect(measured[0].share).toBe(0);

    // At 0 % v2 stays in service at weight 0 (walking forward again is instant), and the state file says so.
    const file = (await v1!.exec(v1!.proxy, ['cat', HAPROXY_STATE_FILE])).stdout;
    const saved = parseServersState(file).filter((s) => s.backend === HAPROXY_BACKEND);
    const v2s = saved.find((s) => s.server === 'v2-0')!;
    expect([adminStateName(v2s.adminState), v2s.userWeight]).toEqual(['ready', 0]);
    expect(saved.filter((s) => s.server !== 'v2-0').map((s) => [adminStateName(s.adminState), s.userWeight])).toEqual([
      ['ready', 100],
      ['ready', 100],
      ['ready', 100],
    ]);
  });

  it('keeps the weights across a reload (load-server-state-from-file)', async () => {
    expect((await haproxySwitch().weigh(10)).v2Percent).toBe(10);
    const r = await v1!.exec(v1!.proxy, ['systemctl', 'reload', 'haproxy.service']);
    expect(r.exitCode, r.stderr).toBe(0);
    await new Promise((res) => setTimeout(res, 1000));
    const servers = await v1!.haproxyServers();
    expect(Object.fromEntries([...servers].map(([n, s]) => [n, s.weight]))).toEqual({ walnut: 99, ironwood: 99, acacia: 99, 'v2-0': 33 });
    await waitFor('the view after the reload to show 10 %', async () => (await haproxySwitch().view()).v2Percent === 10, 15_000);
    // Walking back all the way.
    expect((await haproxySwitch().weigh(0)).v2Percent).toBe(0);
  });

  it('refuses a share that is not an integer from 0 to 100, changing nothing', async () => {
    const before = await v1!.haproxyServers();
    await expect(haproxySwitch().weigh(150)).rejects.toThrow('the v2 share 150 is not an integer percentage from 0 to 100');
    const after = await v1!.haproxyServers();
    const admin = (m: typeof after) => [...m].map(([n, s]) => [n, s.adminState, s.weight]);
    expect(admin(after)).toEqual(admin(before));
  });
});

/** The share (percent) of `by` answered by v2. */
function v2Share(by: readonly string[]): number {
  return (100 * by.filter((b) => b === 'v2-0').length) / by.length;
}
