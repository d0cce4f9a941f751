// Commands sent over SSH are built from an argv, each argument one single-quoted word: whatever a
// unit or host name holds, the remote shell runs the command it was meant to run, with that text as
// one argument. Checked by handing the built line to a real sh.
import { execFileSync } from 'node:child_process';
import { createHash, generateKeyPairSync } from 'node:crypto';
import ssh2 from 'ssh2';
import { describe, expect, it } from 'vitest';
import { buildCommand, keyType, quoteArg, sameFingerprint, sshFingerprint } from '../../../src/hosts/ssh.js';
import { InvalidInputError } from '../../../src/util/errors.js';

/** What sh makes of the command line: the argv printf receives, one per line. */
function argvSeenBySh(args: string[]): string[] {
  const line = buildCommand(['printf', '%s\\0', ...args]);
  const out = execFileSync('sh', ['-c', line], { encoding: 'utf8' });
  return out.split('\0').slice(0, -1);
}

describe('quoteArg / buildCommand', () => {
  const attacks = [
    "bzzz@walnut'; touch /tmp/pwned; echo '.service",
    'bzzz@$(id -u).service',
    'bzzz@`id`.service',
    'a;b&&c||d|e',
    `$HOME \${IFS} *`,
    "''''",
    "\\'",
    '-- --help',
    'ünïcødé ✓',
    '',
  ];

  it.each(attacks)('sh receives %j as one unchanged argument', (arg) => {
    expect(argvSeenBySh([arg, 'next'])).toEqual([arg, 'next']);
  });

  it('never lets an argument run a command', () => {
    const marker = `/tmp/bzzz-quote-test-${process.pid}`;
    argvSeenBySh([`x'; touch ${marker}; echo '`, `$(touch ${marker})`, `\`touch ${marker}\``]);
    expect(() => execFileSync('test', ['-e', marker])).toThrow();
  });

  it.each(['unit\nsystemctl stop ssh', 'a\rb', 'nul\0byte'])('refuses %j (NUL or line break)', (arg) => {
    expect(() => quoteArg(arg)).toThrow(InvalidInputError);
    expect(() => buildCommand(['systemctl', 'start', arg])).toThrow(/NUL or line break/);
  });

  it('writes the exact line', () => {
    expect(buildCommand(['systemctl', 'start', '--', "it's.service"])).toBe(`'systemctl' 'start' '--' 'it'\\''s.service'`);
  });

  it('refuses an empty argv', () => {
    expect(() => buildCommand([])).toThrow(InvalidInputError);
  });
});

describe('sshFingerprint', () => {
  it('matches ssh-keygen -lf for a known ed25519 key', () => {
    // `ssh-keygen -lf k1.pub` printed: 256 SHA256:kt81cETCBKU3QfTkhIs13Yjlm29KdUMz2GTNc3kCZBA test (ED25519)
    const pub = 'AAAAC3NzaC1lZDI1NTE5AAAAICjdgo3dGUxshIz/7J9Y9X4X7C+XEPgTHda3cX1zBAUW';
    const blob = Buffer.from(pub, 'base64');
    expect(sshFingerprint(blob)).toBe('SHA256:kt81cETCBKU3QfTkhIs13Yjlm29KdUMz2GTNc3kCZBA');
    expect(keyType(blob)).toBe('ssh-ed25519');
  });

  it('computes the OpenSSH blob of a node:crypto ed25519 key the same way ssh2 parses its public line', () => {
    const { publicKey } = generateKeyPairSync('ed25519');
    const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x as string, 'base64url');
    const str = (b: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, b.length]), b]);
    const blob = Buffer.concat([str(Buffer.from('ssh-ed25519')), str(raw)]);
    const parsed = ssh2.utils.parseKey(`ssh-ed25519 ${blob.toString('base64')} x`);
    if (parsed instanceof Error || Array.isArray(parsed)) throw new Error('not parsed');
    expect(parsed.getPublicSSH().equals(blob)).toBe(true);
    expect(sshFingerprint(blob)).toBe(`SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`);
    expect(sshFingerprint(blob)).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
  });

  it('compares with or without the base64 padding people sometimes copy', () => {
    expect(
      sameFingerprint('SHA256:kt81cETCBKU3QfTkhIs13Yjlm29KdUMz2GTNc3kCZBA=', 'SHA256:kt81cETCBKU3QfTkhIs13Yjlm29KdUMz2GTNc3kCZBA'),
    ).toBe(true);
    expect(
      sameFingerprint('SHA256:kt81cETCBKU3QfTkhIs13Yjlm29KdUMz2GTNc3kCZBB', 'SHA256:kt81cETCBKU3QfTkhIs13Yjlm29KdUMz2GTNc3kCZBA'),
    ).toBe(false);
  });
});
