// The migration's v1 archive on three real systemd + sshd hosts: `tar` over SSH from every host,
// age-encrypted on the way; the age CLI decrypts an archive with an age-keygen identity, `tar -t`
// lists the files put there, the manifest's BLAKE3 is `b3sum` of the decrypted tar. A host cut
// off the network fails the run by name and leaves no file behind.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { V1HostTarget } from '../../../src/hosts/types.js';
import { SshV1Archiver, V1ArchiveError, type V1ArchiveManifest } from '../../../src/hosts/v1-archive.js';
import { type V1Hosts, startV1Hosts } from '../../support/v1-hosts.js';

let v1: V1Hosts | undefined;
let targets: V1HostTarget[] = [];
let base: string;
let keyFile: string;
let recipient: string;

beforeAll(async () => {
  base = mkdtempSync(join(tmpdir(), 'v1-archive-it-'));
  keyFile = join(base, 'archive-key.txt');
  execFileSync('age-keygen', ['-o', keyFile], { stdio: 'ignore' });
  recipient = execFileSync('age-keygen', ['-y', keyFile]).toString().trim();
  v1 = await startV1Hosts({ onProgress: (m) => process.env.BZZZ_TEST_LOG && console.error(m) });
  targets = v1.hosts.map((h) => ({
    name: h.name,
    address: h.address,
    port: h.sshPort,
    user: h.user,
    hostKey: h.hostKey,
    timeoutMs: 5_000,
    unit: h.unit,
  }));
  for (const h of v1.hosts) {
    const r = await v1.exec(h, [
      'sh',
      '-c',
      `mkdir -p /var/lib/bzzz/logs /var/lib/bzzz/keys && printf '{"index":0,"host":"%s"}\\n' ${h.name} > /var/lib/bzzz/logs/conversation.jsonl && echo secret > /var/lib/bzzz/keys/peer.key && head -c 3000000 /dev/urandom > /var/lib/bzzz/blob.bin`,
    ]);
    expect(r.exitCode, r.stderr).toBe(0);
  }
}, 240_000);

afterAll(async () => {
  await v1?.stop();
  if (base) rmSync(base, { recursive: true, force: true });
});

describe('v1 archive on real hosts', () => {
  it('archives every host; age decrypts, tar lists the files, the manifest’s BLAKE3 is b3sum’s', async () => {
    const dir = join(base, 'all');
    const { files } = await new SshV1Archiver({ privateKey: v1!.privateKey }).archive({
      cluster: 'mig',
      side: { targets },
      paths: ['/var/lib/bzzz'],
      dir,
      recipients: [recipient],
    });
    expect(files).toHaveLength(6);
    const archives = readdirSync(dir).filter((f) => f.endsWith('.tar.age'));
    expect(archives.map((f) => f.replace(/-\d{8}T\d{6}Z\.tar\.age$/, '')).sort()).toEqual(['mig-acacia', 'mig-ironwood', 'mig-walnut']);
    expect(readdirSync(dir).filter((f) => f.startsWith('.'))).toEqual([]);

    const walnut = archives.find((f) => f.startsWith('mig-walnut-')) as string;
    const tarFile = join(base, 'walnut.tar');
    execFileSync('age', ['-d', '-i', keyFile, '-o', tarFile, join(dir, walnut)]);
    const listing = execFileSync('tar', ['-tf', tarFile]).toString().split('\n').filter(Boolean);
    expect(listing).toEqual(
      expect.arrayContaining([
        'var/lib/bzzz/',
        'var/lib/bzzz/logs/conversation.jsonl',
        'var/lib/bzzz/keys/peer.key',
        'var/lib/bzzz/blob.bin',
      ]),
    );
    const log = execFileSync('tar', ['-xOf', tarFile, 'var/lib/bzzz/logs/conversation.jsonl']).toString();
    expect(log).toBe('{"index":0,"host":"walnut"}\n');

    const m = JSON.parse(readFileSync(join(dir, `${walnut}.manifest.json`), 'utf8')) as V1ArchiveManifest;
    const b3 = execFileSync('b3sum', ['--no-names', tarFile]).toString().trim();
    expect(m).toMatchObject({
      cluster: 'mig',
      host: 'walnut',
      paths: ['/var/lib/bzzz'],
      blake3: b3,
      tarBytes: readFileSync(tarFile).length,
      encryptedBytes: readFileSync(join(dir, walnut)).length,
      recipients: [recipient],
    });
    expect(m.tarBytes).toBeGreaterThan(3_000_000);
  });

  it('a path that does not exist is tar’s exit 2, named with its message', async () => {
    const dir = join(base, 'missing');
    const err = await new SshV1Archiver({ privateKey: v1!.privateKey })
      .archive({
        cluster: 'mig',
        side: { targets: targets.slice(0, 1) },
        paths: ['/var/lib/bzzz', '/var/lib/nope'],
        dir,
        recipients: [recipient],
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(V1ArchiveError);
    expect((err as Error).message).toMatch(/walnut: tar exited 2: .*\/var\/lib\/nope: Cannot stat: No such file or directory/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('an unreachable host fails the run by name and leaves no file', async () => {
    const dir = join(base, 'unreachable');
    await v1!.makeUnreachable('acacia', 'link-down');
    try {
      const err = await new SshV1Archiver({ privateKey: v1!.privateKey })
        .archive({ cluster: 'mig', side: { targets }, paths: ['/var/lib/bzzz'], dir, recipients: [recipient] })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(V1ArchiveError);
      expect((err as V1ArchiveError).failures.map((f) => f.host)).toEqual(['acacia']);
      expect((err as Error).message).toMatch(/^archiving the v1 data failed on acacia: /);
      expect(readdirSync(dir)).toEqual([]);
    } finally {
      await v1!.makeReachable('acacia');
    }
  });
});
