// The SSH client against a real v1 host (systemd + OpenSSH's sshd in a container) and the HAProxy
// proxy: pinned host key, commands from argv, atomic SFTP writes, the runtime API socket over the
// SSH connection, a changed host key refused, an unreachable host named.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HostKeyMismatchError, SshConnection, SshError, withSsh } from '../../../src/hosts/ssh.js';
import type { SshTarget } from '../../../src/hosts/types.js';
import { HAPROXY_SOCKET, type SshHost, type V1Hosts, startV1Hosts } from '../../support/v1-hosts.js';

let v1: V1Hosts | undefined;

beforeAll(async () => {
  v1 = await startV1Hosts({ names: ['walnut'], onProgress: (m) => process.env.BZZZ_TEST_LOG && console.error(m) });
}, 240_000);

afterAll(async () => {
  await v1?.stop();
});

function target(h: SshHost, over: Partial<SshTarget> = {}): SshTarget {
  return { name: h.name, address: h.address, port: h.sshPort, user: h.user, hostKey: h.hostKey, timeoutMs: 5000, ...over };
}

describe('SSH to a real host', () => {
  it('runs commands from argv: quotes, $(...) and ; reach the program as plain text', async () => {
    const h = v1!;
    const tricky = `it's $(touch /tmp/pwned); echo \`id\` && rm -rf /nope`;
    const res = await withSsh(target(h.host('walnut')), h.privateKey, (c) => c.exec(['printf', '%s', tricky]));
    expect(res).toMatchObject({ code: 0, stdout: tricky, stderr: '', truncated: false });
    expect((await h.exec('walnut', ['test', '-e', '/tmp/pwned'])).exitCode).not.toBe(0);
    const fail = await withSsh(target(h.host('walnut')), h.privateKey, (c) => c.exec(['sh', '-c', 'echo boom >&2; exit 7']));
    expect(fail).toMatchObject({ code: 7, stderr: 'boom\n' });
  });

  it('writes a file atomically over SFTP with its mode, replaces it, and reads it back', async () => {
    const h = v1!;
    await withSsh(target(h.host('walnut')), h.privateKey, async (c) => {
      await c.exec(['mkdir', '-p', '/srv/bzzz-test']);
      await c.writeFile('/srv/bzzz-test/state', 'first\n', 0o640);
      await c.writeFile('/srv/bzzz-test/state', 'second\n', 0o600);
      expect(await c.readFile('/srv/bzzz-test/state')).toBe('second\n');
      expect(await c.readFile('/srv/bzzz-test/missing')).toBeUndefined();
      await expect(c.readFile('/srv/bzzz-test/state', 3)).rejects.toThrow(
        'walnut: /srv/bzzz-test/state is larger than the 3 bytes allowed',
      );
    });
    expect((await h.exec('walnut', ['stat', '-c', '%a %U', '/srv/bzzz-test/state'])).stdout.trim()).toBe('600 root');
    // No temp file left beside it.
    expect((await h.exec('walnut', ['ls', '-A', '/srv/bzzz-test'])).stdout.trim()).toBe('state');
  });

  it('opens HAProxy’s admin socket through the SSH connection', { timeout: 30_000 }, async () => {
    const h = v1!;
    const answer = await withSsh(target(h.proxy), h.privateKey, async (c) => {
      const s = await c.openUnixSocket(HAPROXY_SOCKET);
      return new Promise<string>((resolve) => {
        let out = '';
        s.on('data', (d: Buffer) => (out += d.toString()));
        // HAProxy answers one command and closes its side: the channel ends.
        s.on('end', () => {
          resolve(out);
          s.destroy();
        });
        s.write('show info\n');
      });
    });
    expect(answer).toMatch(/^Name: HAProxy$/m);
    await expect(withSsh(target(h.proxy), h.privateKey, (c) => c.openUnixSocket('/run/nothing.sock'))).rejects.toThrow(
      /proxy: sshd refused to open the socket \/run\/nothing.sock/,
    );
  });

  it('names a host that does not answer (paused: TCP connects, nothing speaks)', async () => {
    const h = v1!;
    await h.makeUnreachable('walnut', 'pause');
    try {
      const started = Date.now();
      const err = await SshConnection.connect(target(h.host('walnut'), { timeoutMs: 1500 }), h.privateKey).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SshError);
      expect((err as Error).message).toBe(`walnut (root@${h.host('walnut').address}:22): connect timeout after 1.5s`);
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      await h.makeReachable('walnut');
    }
  });

  it('refuses a host whose key changed, naming host, both fingerprints and what to do; nothing is run', async () => {
    const h = v1!;
    const walnut = h.host('walnut');
    const newKey = await h.replaceHostKey(walnut);
    const err = (await SshConnection.connect(target(walnut), h.privateKey).catch((e: unknown) => e)) as HostKeyMismatchError;
    expect(err).toBeInstanceOf(HostKeyMismatchError);
    expect(err.message).toContain(
      `walnut (root@${walnut.address}:22): host key refused: the host presented the ssh-ed25519 key ${newKey}, but the spec pins ${walnut.hostKey}.`,
    );
    expect(err.message).toContain('update the hostKey of walnut in spec.v1');
    expect(err.message).not.toContain('PRIVATE KEY');
    // With the new key pinned, it connects.
    const res = await withSsh(target(walnut, { hostKey: newKey }), h.privateKey, (c) => c.exec(['true']));
    expect(res.code).toBe(0);
  });
});
