// The v1 units over SSH on three real systemd hosts: started in parallel and the v1 mesh verified
// from the controller, status with the journal, stopped; a unit that fails to start and a host that
// does not answer are named with their reasons while the others report what they did.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpMeshVerifier } from '../../../src/hosts/mesh.js';
import { HostsError, SystemdHosts, requireAllOk } from '../../../src/hosts/systemd.js';
import type { V1HostTarget } from '../../../src/hosts/types.js';
import { V1_HEALTH_PORT, type V1Hosts, startV1Hosts } from '../../support/v1-hosts.js';

let v1: V1Hosts | undefined;
let targets: V1HostTarget[] = [];

beforeAll(async () => {
  v1 = await startV1Hosts({ onProgress: (m) => process.env.BZZZ_TEST_LOG && console.error(m) });
  targets = v1.hosts.map((h) => ({
    name: h.name,
    address: h.address,
    port: h.sshPort,
    user: h.user,
    hostKey: h.hostKey,
    timeoutMs: 10_000,
    unit: h.unit,
  }));
}, 240_000);

afterAll(async () => {
  await v1?.stop();
});

function mesh(minPeers: number): HttpMeshVerifier {
  return new HttpMeshVerifier({
    hosts: targets.map((t) => ({ name: t.name, address: t.address })),
    port: V1_HEALTH_PORT,
    path: '/health',
    metricsPath: '/metrics',
    peersMetric: 'bzzz_p2p_connected_peers',
    minPeers,
    requestTimeoutMs: 2000,
    everyMs: 250,
  });
}

describe('v1 units on real hosts', () => {
  it('starts every unit in parallel; the v1 mesh is verified; status shows since when and the journal', async () => {
    const hosts = new SystemdHosts({ privateKey: v1!.privateKey });
    const before = await mesh(2).check();
    expect(before.ok).toBe(false);
    expect(before.reason).toMatch(/^walnut: \/health: .*; ironwood: .*; acacia: /);

    const started = requireAllOk('starting the v1 units', await hosts.start(targets));
    for (const r of started) expect(r.state).toMatchObject({ activeState: 'active', subState: 'running', loadState: 'loaded' });
    for (const h of v1!.hosts) expect(await v1!.unitState(h)).toBe('active');

    const report = await mesh(2).verify({ deadlineMs: 30_000 });
    expect(report, report.reason).toMatchObject({ ok: true });
    for (const h of report.hosts) expect(h.peers).toBeGreaterThanOrEqual(2);

    const status = await hosts.status(targets, { logLines: 5 });
    for (const r of status) {
      expect(r.error).toBeUndefined();
      expect(r.state?.mainPid).toBeGreaterThan(0);
      expect(Date.parse(r.state!.since!)).toBeGreaterThan(Date.now() - 120_000);
      expect(r.logs!.length).toBeGreaterThan(0);
      expect(r.logs!.length).toBeLessThanOrEqual(5);
    }
    // Starting again changes nothing.
    const again = await hosts.start(targets);
    expect(again.map((r) => r.state?.mainPid)).toEqual(status.map((r) => r.state?.mainPid));
  });

  it('stops every unit', async () => {
    const hosts = new SystemdHosts({ privateKey: v1!.privateKey });
    const stopped = requireAllOk('stopping the v1 units', await hosts.stop(targets));
    for (const r of stopped) expect(r.state?.activeState).toBe('inactive');
    for (const h of v1!.hosts) expect(await v1!.unitState(h)).toBe('inactive');
  });

  it('names a host that does not answer and a unit that fails to start, while the other host starts', async () => {
    const h = v1!;
    const hosts = new SystemdHosts({ privateKey: h.privateKey, startTimeoutMs: 30_000 });
    await h.breakUnit('acacia');
    await h.makeUnreachable('walnut', 'pause');
    try {
      const walnut = { ...targets[0], timeoutMs: 2000 };
      const reports = await hosts.start([walnut, targets[1], targets[2]]);
      expect(reports[0]).toEqual({ host: 'walnut', unit: 'bzzz@walnut.service', error: 'connect timeout after 2s' });
      expect(reports[1]).toMatchObject({ host: 'ironwood', state: { activeState: 'active' } });
      expect(reports[1].error).toBeUndefined();
      expect(reports[2].host).toBe('acacia');
      expect(reports[2].error).toMatch(/^systemctl start bzzz@acacia.service exited 1: Job for bzzz@acacia.service failed/);
      expect(reports[2].state?.activeState).toBe('failed');
      expect(reports[2].logs?.join('\n')).toMatch(/not-a-port/);
      const err = (() => {
        try {
          requireAllOk('starting the v1 units', reports);
        } catch (e) {
          return e as HostsError;
        }
      })();
      expect(err).toBeInstanceOf(HostsError);
      expect(err!.message).toMatch(
        /^starting the v1 units: walnut: connect timeout after 2s; acacia: systemctl start bzzz@acacia.service exited 1: .*; ironwood: active \(running\)$/,
      );
    } finally {
      await h.makeReachable('walnut');
      await h.repairUnit('acacia');
    }
  });
});
