// HaproxySwitch.weigh end to end against an in-memory HAProxy runtime API (the SSH connection
// replaced): which batches go over which socket connection in which order, that some server up
// always has a weight above 0 after every command (make before break), the wait for the rising side,
// and the state file. The real HAProxy is in test/integration/hosts/haproxy.test.ts.
import { Duplex } from 'node:stream';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { HaproxyError, HaproxySwitch } from '../../../src/hosts/haproxy.js';
import type { SshConnection } from '../../../src/hosts/ssh.js';
import { InvalidInputError } from '../../../src/util/errors.js';

interface Srv {
  side: 'v1' | 'v2';
  admin: number;
  weight: number;
  /** Its health check passes: `state ready` brings it up. */
  healthy: boolean;
  op: number;
}

class FakeHaproxy {
  servers = new Map<string, Srv>();
  /** Each socket connection's command line, as sent. */
  batches: string[] = [];
  /** After a command, no server up, ready and above weight 0 (what make before break forbids). */
  gaps: string[] = [];
  files = new Map<string, string>();
  connections = 0;

  constructor(v1: { admin: number; weight: number }, v2: { admin: number; weight: number }, v2Healthy = true) {
    for (const n of ['walnut', 'ironwood', 'acacia']) this.servers.set(n, { side: 'v1', ...v1, healthy: true, op: v1.admin & 1 ? 0 : 2 });
    this.servers.set('v2-0', { side: 'v2', ...v2, healthy: v2Healthy, op: v2.admin & 1 || !v2Healthy ? 0 : 2 });
  }

  answer(line: string): string {
    this.batches.push(line);
    let out = '';
    for (const cmd of line.split('; ')) {
      let m = /^set weight bzzz\/(\S+) (\d+)$/.exec(cmd);
      if (m) this.servers.get(m[1])!.weight = Number(m[2]);
      else if ((m = /^set server bzzz\/(\S+) state (ready|maint)$/.exec(cmd))) {
        const s = this.servers.get(m[1])!;
        s.admin = m[2] === 'ready' ? 0 : 1;
        s.op = s.admin === 0 && s.healthy ? 2 : 0;
      } else if (/^show servers state( bzzz)?$/.test(cmd)) {
        out += '1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight ...\n';
        let id = 1;
        for (const [name, s] of this.servers)
          out += `3 bzzz ${id++} ${name} 10.0.0.${id} ${s.op} ${s.admin} ${s.weight} 100 5 6 3 4 6 0 0 0 - 8081 - 0 0 - - 0\n`;
        out += '\n';
      } else out += `Unknown command: ${cmd}\n`;
      if (cmd.startsWith('set') && ![...this.servers.values()].some((s) => s.admin === 0 && s.op === 2 && s.weight > 0))
        this.gaps.push(cmd);
    }
    return out;
  }

  conn(): SshConnection {
    return {
      openUnixSocket: async () => {
        this.connections++;
        const self = this;
        return new Duplex({
          read() {},
          write(chunk: Buffer, _enc, cb) {
            this.push(self.answer(chunk.toString().trimEnd()));
            this.push(null);
            cb();
          },
        });
      },
      writeFile: async (path: string, content: string) => {
        this.files.set(path, content);
      },
    } as unknown as SshConnection;
  }

  weights(): Record<string, [number, number]> {
    return Object.fromEntries([...this.servers].map(([n, s]) => [n, [s.admin, s.weight]]));
  }
}

let proxy: FakeHaproxy;
vi.mock('../../../src/hosts/ssh.js', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../../../src/hosts/ssh.js')>()),
  withSsh: async (_t: unknown, _k: unknown, fn: (c: SshConnection) => Promise<unknown>) => fn(proxy.conn()),
}));

const sw = () =>
  new HaproxySwitch({
    target: { name: 'proxy', address: '127.0.0.1', port: 22, user: 'root', hostKey: 'SHA256:x', timeoutMs: 1000 },
    privateKey: '',
    socket: '/run/haproxy/admin.sock',
    stateFile: '/var/lib/haproxy/server-state',
    backend: 'bzzz',
    v1Servers: ['walnut', 'ironwood', 'acacia'],
    v2Servers: ['v2-0'],
    weight: 100,
    upTimeoutMs: 300,
  });

const sets = (p: FakeHaproxy) => p.batches.filter((b) => b.startsWith('set'));

describe('HaproxySwitch.weigh', () => {
  beforeEach(() => {
    // v1 serving alone (after a rollback), v2 in maintenance at its configured weight.
    proxy = new FakeHaproxy({ admin: 0, weight: 100 }, { admin: 1, weight: 100 });
  });

  it('walks 10 → 50 → 100 → 0: one batch per side, the rising side first, never a gap, state file written', async () => {
    let view = await sw().weigh(10);
    expect(view.v2Percent).toBe(10);
    expect(view.serving).toBe('both');
    expect(sets(proxy)).toEqual([
      'set weight bzzz/v2-0 33; set server bzzz/v2-0 state ready',
      'set weight bzzz/walnut 99; set server bzzz/walnut state ready; set weight bzzz/ironwood 99; set server bzzz/ironwood state ready; set weight bzzz/acacia 99; set server bzzz/acacia state ready',
    ]);
    expect(proxy.files.get('/var/lib/haproxy/server-state')).toMatch(/^1\n.*v2-0 10\.0\.0\.\d+ 2 0 33 /ms);

    proxy.batches.length = 0;
    view = await sw().weigh(50);
    expect(view.v2Percent).toBe(50);
    expect(proxy.weights()).toEqual({ walnut: [0, 33], ironwood: [0, 33], acacia: [0, 33], 'v2-0': [0, 99] });
    expect(sets(proxy)[0]).toMatch(/^set weight bzzz\/v2-0 99;/);

    view = await sw().weigh(100);
    expect(view.v2Percent).toBe(100);
    expect(view.serving).toBe('v2');
    // v1 keeps weight 0 in service: walking back needs no health check to pass first.
    expect(proxy.weights()).toEqual({ walnut: [0, 0], ironwood: [0, 0], acacia: [0, 0], 'v2-0': [0, 100] });

    proxy.batches.length = 0;
    view = await sw().weigh(0);
    expect(view.v2Percent).toBe(0);
    expect(view.serving).toBe('v1');
    expect(sets(proxy)).toEqual([
      'set weight bzzz/walnut 100; set server bzzz/walnut state ready; set weight bzzz/ironwood 100; set server bzzz/ironwood state ready; set weight bzzz/acacia 100; set server bzzz/acacia state ready',
      'set weight bzzz/v2-0 0; set server bzzz/v2-0 state ready',
    ]);
    expect(proxy.weights()['v2-0']).toEqual([0, 0]);
    expect(proxy.gaps).toEqual([]);
  });

  it('is idempotent', async () => {
    await sw().weigh(10);
    const before = proxy.weights();
    expect((await sw().weigh(10)).v2Percent).toBe(10);
    expect(proxy.weights()).toEqual(before);
    expect(proxy.gaps).toEqual([]);
  });

  it('keeps v2 in maintenance at 0 % when it never was in service', async () => {
    const view = await sw().weigh(0);
    expect(view.v2Percent).toBe(0);
    expect(proxy.weights()['v2-0']).toEqual([1, 100]);
    expect(sets(proxy)).toHaveLength(1);
  });

  it('leaves v1’s weights alone when v2 does not come up, and says what it saw', async () => {
    proxy = new FakeHaproxy({ admin: 0, weight: 100 }, { admin: 1, weight: 100 }, false);
    const err = await sw()
      .weigh(50)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HaproxyError);
    expect((err as Error).message).toMatch(/^weighing bzzz to v2 50 %: none of its v2 servers came up within .* \(v2-0 down\/ready/);
    expect(proxy.weights()).toMatchObject({ walnut: [0, 100], ironwood: [0, 100], acacia: [0, 100] });
    expect(proxy.files.size).toBe(0);
  });

  it.each([-1, 101, 12.5, Number.NaN])('refuses %d before connecting', async (p) => {
    await expect(sw().weigh(p)).rejects.toThrow(InvalidInputError);
    await expect(sw().weigh(p)).rejects.toThrow(`the v2 share ${p} is not`);
    expect(proxy.connections).toBe(0);
  });
});
