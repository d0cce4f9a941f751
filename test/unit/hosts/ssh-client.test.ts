// The SSH client against an in-process ssh2 server: pinned host key, exact command lines, exit
// codes, bounded output, command timeouts, and errors that name the host and never the key.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HostKeyMismatchError, MAX_OUTPUT_BYTES, SshConnection, SshError, checkPrivateKey, withSsh } from '../../../src/hosts/ssh.js';
import type { SshTarget } from '../../../src/hosts/types.js';
import { InvalidInputError } from '../../../src/util/errors.js';
import { type FakeSshServer, keyPair, startFakeSsh } from './fake-ssh-server.js';

const client = keyPair();
let server: FakeSshServer;

beforeAll(async () => {
  server = await startFakeSsh({
    clientPublicKey: client.public,
    onExec: (command) => {
      if (command.startsWith("'big'")) return { stdout: Buffer.alloc(MAX_OUTPUT_BYTES + 5000, 'x') };
      if (command.startsWith("'hang'")) return { hang: true };
      if (command.startsWith("'fail'")) return { stderr: 'it broke\n', code: 3 };
      return { stdout: `ran ${command}\n` };
    },
  });
});
afterAll(() => server.close());

function target(over: Partial<SshTarget> = {}): SshTarget {
  return { name: 'walnut', address: '127.0.0.1', port: server.port, user: 'root', hostKey: server.fingerprint, timeoutMs: 3000, ...over };
}

describe('SshConnection', () => {
  it('runs a command built from argv, each argument quoted, and returns its output and exit code', async () => {
    const res = await withSsh(target(), client.private, (c) => c.exec(['systemctl', 'start', '--', "bzzz@x'; reboot; '.service"]));
    expect(res.code).toBe(0);
    expect(server.commands.at(-1)).toBe(`'systemctl' 'start' '--' 'bzzz@x'\\''; reboot; '\\''.service'`);
    expect(res.stdout).toContain('ran ');
    expect(res.truncated).toBe(false);
  });

  it('returns a failing command’s exit code and stderr', async () => {
    const res = await withSsh(target(), client.private, (c) => c.exec(['fail']));
    expect(res).toMatchObject({ code: 3, stderr: 'it broke\n', truncated: false });
  });

  it('bounds the output and says it was cut', async () => {
    const res = await withSsh(target(), client.private, (c) => c.exec(['big']));
    expect(res.truncated).toBe(true);
    expect(res.stdout.length).toBeLessThan(MAX_OUTPUT_BYTES + 100);
    expect(res.stdout).toMatch(/\[stdout truncated after 65536 bytes\]$/);
  });

  it('gives up on a command that does not finish within the timeout, naming host and command', async () => {
    const started = Date.now();
    await expect(withSsh(target(), client.private, (c) => c.exec(['hang', 'now'], { timeoutMs: 300 }))).rejects.toThrow(
      'walnut: `hang now` did not finish within 300ms',
    );
    expect(Date.now() - started).toBeLessThan(2500);
  });

  it('reuses one connection for several commands of one operation', async () => {
    const before = server.commands.length;
    const conns = server.connections();
    await withSsh(target(), client.private, async (c) => {
      await c.exec(['one']);
      await c.exec(['two']);
    });
    expect(server.commands.length - before).toBe(2);
    expect(server.connections() - conns).toBe(1);
  });

  it('refuses a host whose key is not the pinned one, saying which host, both fingerprints and what to do', async () => {
    const pinned = 'SHA256:kt81cETCBKU3QfTkhIs13Yjlm29KdUMz2GTNc3kCZBA';
    const before = server.commands.length;
    const err = await SshConnection.connect(target({ hostKey: pinned }), client.private).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HostKeyMismatchError);
    const msg = (err as Error).message;
    expect(msg).toContain('walnut (root@127.0.0.1:');
    expect(msg).toContain(`presented the ssh-ed25519 key ${server.fingerprint}`);
    expect(msg).toContain(`pins ${pinned}`);
    expect(msg).toContain('update the hostKey of walnut in spec.v1');
    expect(server.commands.length).toBe(before);
  });

  it('names the host and the port when nothing listens', async () => {
    const free = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    await expect(SshConnection.connect(target({ name: 'acacia', port: free }), client.private)).rejects.toThrow(
      `acacia (root@127.0.0.1:${free}): connection refused on port ${free}`,
    );
  });

  it('times out connecting to a host that accepts TCP but never speaks SSH', async () => {
    const silent = net.createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    const port = (silent.address() as net.AddressInfo).port;
    try {
      await expect(SshConnection.connect(target({ name: 'ironwood', port, timeoutMs: 400 }), client.private)).rejects.toThrow(
        `ironwood (root@127.0.0.1:${port}): connect timeout after 400ms`,
      );
    } finally {
      silent.close();
    }
  });

  it('says authentication was refused for a key the host does not know, without showing any key', async () => {
    const other = keyPair();
    const err = (await SshConnection.connect(target(), other.private).catch((e: unknown) => e)) as SshError;
    expect(err).toBeInstanceOf(SshError);
    expect(err.message).toContain('authentication as root refused');
    const body = other.private.split('\n').slice(1, -2).join('');
    expect(JSON.stringify({ m: err.message, s: err.stack, c: String(err.cause) })).not.toContain(body.slice(0, 20));
  });

  it('refuses a private key that is not one, without echoing it', () => {
    const notAKey = 'hunter2-this-is-a-secret';
    let msg = '';
    try {
      checkPrivateKey(notAKey);
    } catch (e) {
      expect(e).toBeInstanceOf(InvalidInputError);
      msg = (e as Error).message;
    }
    expect(msg).toContain('not an OpenSSH or PEM private key');
    expect(msg).not.toContain('hunter2');
    expect(() => checkPrivateKey(client.public)).toThrow(/public key/);
  });
});
