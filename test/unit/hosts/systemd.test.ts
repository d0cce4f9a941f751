// systemd over SSH: `systemctl show` parsing, unit names, journal bounds, and every host in
// parallel against in-process SSH hosts — one host's failure is named with its reason and the
// others still report what they did.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  HostsError,
  SystemdHosts,
  boundLogLines,
  checkUnitName,
  parseSystemctlShow,
  parseSystemdTimestamp,
  requireAllOk,
  summarizeReports,
} from '../../../src/hosts/systemd.js';
import type { V1HostTarget } from '../../../src/hosts/types.js';
import { InvalidInputError } from '../../../src/util/errors.js';
import { type FakeSshServer, keyPair, startFakeSsh } from './fake-ssh-server.js';

describe('parseSystemctlShow', () => {
  it('reads an active unit', () => {
    const text = [
      'ActiveState=active',
      'SubState=running',
      'LoadState=loaded',
      'ActiveEnterTimestamp=Mon 2024-05-06 10:11:12 UTC',
      'ExecMainPID=4242',
      'Result=success',
      '',
    ].join('\n');
    expect(parseSystemctlShow(text)).toEqual({
      activeState: 'active',
      subState: 'running',
      loadState: 'loaded',
      since: '2024-05-06T10:11:12.000Z',
      mainPid: 4242,
      result: 'success',
    });
  });

  it('reads a unit that does not exist and one that failed', () => {
    expect(
      parseSystemctlShow(
        'ActiveState=inactive\nSubState=dead\nLoadState=not-found\nActiveEnterTimestamp=\nExecMainPID=0\nResult=success\n',
      ),
    ).toEqual({
      activeState: 'inactive',
      subState: 'dead',
      loadState: 'not-found',
      mainPid: 0,
      result: 'success',
    });
    expect(parseSystemctlShow('Result=exit-code\nActiveState=failed\nSubState=failed\nLoadState=loaded\nExecMainPID=0\n')).toMatchObject({
      activeState: 'failed',
      result: 'exit-code',
    });
  });

  it('refuses output without ActiveState', () => {
    expect(() => parseSystemctlShow('Failed to connect to bus\n')).toThrow(/no ActiveState/);
  });

  it('reads timestamps with an offset, keeps other named zones as written', () => {
    expect(parseSystemdTimestamp('Tue 2024-05-07 12:00:00 +0200')).toBe('2024-05-07T10:00:00.000Z');
    expect(parseSystemdTimestamp('Tue 2024-05-07 12:00:00 CEST')).toBe('2024-05-07T12:00:00 CEST');
    expect(parseSystemdTimestamp('n/a')).toBeUndefined();
    expect(parseSystemdTimestamp('')).toBeUndefined();
  });
});

describe('checkUnitName', () => {
  it.each(['bzzz@walnut.service', 'bzzz.service', 'a:b_c-d.e@f.service'])('accepts %s', (u) => {
    expect(() => checkUnitName(u, 'walnut')).not.toThrow();
  });
  it.each(["bzzz@x'.service", 'bzzz@$(id).service', 'a;b.service', 'bzzz@walnut', 'bzzz\n.service', '-x.service ', '../x.service'])(
    'refuses %j',
    (u) => {
      expect(() => checkUnitName(u, 'walnut')).toThrow(InvalidInputError);
    },
  );
});

describe('boundLogLines', () => {
  it('keeps the last N lines, each cut to a length', () => {
    const text = `${['-- Journal begins --', 'a', 'b', 'c', 'x'.repeat(5000)].join('\n')}\n`;
    const lines = boundLogLines(text, 2);
    expect(lines[0]).toBe('c');
    expect(lines[1].length).toBeLessThan(1100);
    expect(lines[1]).toMatch(/\[cut\]$/);
  });
});

describe('summarizeReports', () => {
  it('names failing hosts first with their reason, then what the others did', () => {
    const reports = [
      { host: 'ironwood', unit: 'u', state: { activeState: 'active', subState: 'running', loadState: 'loaded', mainPid: 1 } },
      { host: 'walnut', unit: 'u', error: 'connect timeout after 10s' },
      {
        host: 'acacia',
        unit: 'u',
        state: { activeState: 'failed', subState: 'failed', loadState: 'loaded', mainPid: 0, result: 'exit-code' },
      },
    ];
    expect(summarizeReports(reports)).toBe(
      'walnut: connect timeout after 10s; ironwood: active (running); acacia: failed, result exit-code',
    );
    expect(() => requireAllOk('starting the v1 units', reports)).toThrow(new HostsError('starting the v1 units', reports).message);
  });
});

// ---- against in-process SSH hosts standing in for systemd ----

interface FakeUnit {
  active: boolean;
  /** systemctl start fails (the unit's ExecStart exits). */
  failsToStart?: boolean;
}

const client = keyPair();
const servers: FakeSshServer[] = [];
const units = new Map<string, FakeUnit>();

function unquote(line: string): string[] {
  const out: string[] = [];
  for (const m of line.matchAll(/'((?:[^']|'\\'')*)'/g)) out.push(m[1].replaceAll(`'\\''`, "'"));
  return out;
}

async function fakeHost(name: string, unit: FakeUnit): Promise<V1HostTarget> {
  units.set(name, unit);
  const server = await startFakeSsh({
    clientPublicKey: client.public,
    onExec: (command) => {
      const argv = unquote(command);
      const u = units.get(name)!;
      if (argv[0] === 'systemctl' && argv[1] === 'show') {
        const state = u.active
          ? 'ActiveState=active\nSubState=running\nExecMainPID=77\nResult=success'
          : u.failsToStart
            ? 'ActiveState=failed\nSubState=failed\nExecMainPID=0\nResult=exit-code'
            : 'ActiveState=inactive\nSubState=dead\nExecMainPID=0\nResult=success';
        return { stdout: `${state}\nLoadState=loaded\nActiveEnterTimestamp=\n` };
      }
      if (argv[0] === 'systemctl' && argv[1] === 'start') {
        if (u.failsToStart) return { code: 1, stderr: `Job for ${argv[3]} failed because the control process exited with error code.\n` };
        u.active = true;
        return {};
      }
      if (argv[0] === 'systemctl' && argv[1] === 'stop') {
        u.active = false;
        return {};
      }
      if (argv[0] === 'journalctl') return { stdout: `2024-05-06T10:11:12+0000 ${name} bzzz[77]: started ${argv[2]}\n` };
      return { code: 127, stderr: 'unknown command\n' };
    },
  });
  servers.push(server);
  return {
    name,
    address: '127.0.0.1',
    port: server.port,
    user: 'root',
    hostKey: server.fingerprint,
    timeoutMs: 3000,
    unit: `bzzz@${name}.service`,
  };
}

let walnut: V1HostTarget;
let ironwood: V1HostTarget;
let acacia: V1HostTarget;
let deadPort: number;

beforeAll(async () => {
  walnut = await fakeHost('walnut', { active: false });
  ironwood = await fakeHost('ironwood', { active: false });
  acacia = await fakeHost('acacia', { active: false });
  deadPort = await new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

describe('SystemdHosts', () => {
  const hosts = new SystemdHosts({ privateKey: client.private, settleMs: 50, pollMs: 20 });

  it('starts every unit and reports each host active; the commands are the quoted argv', async () => {
    const reports = await hosts.start([walnut, ironwood, acacia]);
    expect(reports.map((r) => [r.host, r.state?.activeState, r.error])).toEqual([
      ['walnut', 'active', undefined],
      ['ironwood', 'active', undefined],
      ['acacia', 'active', undefined],
    ]);
    expect(servers[0].commands).toContain(`'systemctl' 'start' '--' 'bzzz@walnut.service'`);
  });

  it('reports status with the last log lines', async () => {
    const [r] = await hosts.status([walnut], { logLines: 5 });
    expect(r.state).toMatchObject({ activeState: 'active', mainPid: 77 });
    expect(r.logs).toEqual(['2024-05-06T10:11:12+0000 walnut bzzz[77]: started bzzz@walnut.service']);
    expect(servers[0].commands.at(-1)).toBe(`'journalctl' '-u' 'bzzz@walnut.service' '-n' '5' '--no-pager' '-o' 'short-iso'`);
  });

  it('names an unreachable host while the others report, and HostsError says it all', async () => {
    const walnutDown = { ...walnut, port: deadPort };
    const reports = await hosts.stop([walnutDown, ironwood, acacia]);
    expect(reports[0]).toEqual({
      host: 'walnut',
      unit: 'bzzz@walnut.service',
      error: `connection refused on port ${deadPort}: is sshd running there?`,
    });
    expect(reports[1].state?.activeState).toBe('inactive');
    expect(reports[2].state?.activeState).toBe('inactive');
    expect(() => requireAllOk('stopping the v1 units', reports)).toThrow(
      `stopping the v1 units: walnut: connection refused on port ${deadPort}: is sshd running there?; ironwood: inactive (dead); acacia: inactive (dead)`,
    );
  });

  it('reports a unit that fails to start with systemd’s reason and its logs', async () => {
    units.get('acacia')!.failsToStart = true;
    const reports = await hosts.start([ironwood, acacia]);
    expect(reports[0].state?.activeState).toBe('active');
    expect(reports[1].error).toContain('systemctl start bzzz@acacia.service exited 1: Job for bzzz@acacia.service failed');
    expect(reports[1].state?.activeState).toBe('failed');
    expect(reports[1].logs?.length).toBe(1);
  });

  it('refuses a unit name that is not a service name before connecting', async () => {
    const before = servers[0].connections();
    const [r] = await hosts.status([{ ...walnut, unit: "bzzz@x'; reboot #.service" }]);
    expect(r.error).toMatch(/is not a systemd service name/);
    expect(servers[0].connections()).toBe(before);
  });
});
