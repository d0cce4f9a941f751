// The v1 archive against in-process SSH servers answering `tar` with a real tar stream: the
// archive decrypts with the age CLI to exactly those bytes, the manifest's BLAKE3 is b3sum's, tar's
// exit codes are told apart, and any failure names the host and leaves no file of the run.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateAgeIdentity } from '../../../src/crypto/age-stream.js';
import type { V1HostTarget } from '../../../src/hosts/types.js';
import { SshV1Archiver, V1ArchiveError, type V1ArchiveManifest, archiveFileName } from '../../../src/hosts/v1-archive.js';
import type { V1Archiver as ReconcilerV1Archiver } from '../../../src/reconcilers/migration-reconciler.js';
import { InvalidInputError } from '../../../src/util/errors.js';
import { type ExecAnswer, type FakeSshServer, keyPair, startFakeSsh } from './fake-ssh-server.js';

const client = keyPair();
const servers: Record<string, FakeSshServer> = {};
const answers: Record<string, () => ExecAnswer> = {};
let base: string;
let tarBytes: Buffer;
let keyFile: string;
let recipient: string;
const AT = new Date('2026-12-01T03:29:00.123Z');

beforeAll(async () => {
  base = mkdtempSync(join(tmpdir(), 'v1-archive-'));
  const src = join(base, 'src', 'var', 'lib', 'bzzz');
  mkdirSync(join(src, 'logs'), { recursive: true });
  writeFileSync(join(src, 'logs', 'conversation.jsonl'), '{"index":0}\n'.repeat(5000));
  writeFileSync(join(src, 'big.bin'), Buffer.alloc(300_000, 7));
  tarBytes = execFileSync('tar', ['-cf', '-', '-C', join(base, 'src'), 'var/lib/bzzz']);
  keyFile = join(base, 'key.txt');
  execFileSync('age-keygen', ['-o', keyFile], { stdio: 'ignore' });
  recipient = execFileSync('age-keygen', ['-y', keyFile]).toString().trim();
  for (const name of ['walnut', 'ironwood']) {
    answers[name] = () => ({ stdout: tarBytes });
    servers[name] = await startFakeSsh({ clientPublicKey: client.public, onExec: () => (answers[name] as () => ExecAnswer)() });
  }
});
afterAll(async () => {
  await Promise.all(Object.values(servers).map((s) => s.close()));
  rmSync(base, { recursive: true, force: true });
});

function target(name: string, over: Partial<V1HostTarget> = {}): V1HostTarget {
  const s = servers[name] ?? (servers.walnut as FakeSshServer);
  return {
    name,
    address: '127.0.0.1',
    port: s.port,
    user: 'root',
    hostKey: s.fingerprint,
    timeoutMs: 3000,
    unit: `bzzz@${name}.service`,
    ...over,
  };
}

function freshDir(): string {
  return mkdtempSync(join(base, 'out-'));
}

const archiver = (o: Partial<ConstructorParameters<typeof SshV1Archiver>[0]> = {}) =>
  new SshV1Archiver({ privateKey: client.private, now: () => AT, ...o });

describe('SshV1Archiver', () => {
  it('streams tar from every host, encrypts it for the age CLI, and writes a manifest with b3sum’s hash', async () => {
    answers.walnut = answers.ironwood = () => ({ stdout: tarBytes, stderr: "tar: Removing leading `/' from member names\n" });
    const dir = freshDir();
    const { files } = await archiver().archive({
      cluster: 'prod',
      side: { targets: [target('walnut'), target('ironwood')] },
      paths: ['/var/lib/bzzz', "/etc/it's"],
      dir,
      recipients: [recipient, generateAgeIdentity().recipient],
    });
    const name = archiveFileName('prod', 'walnut', AT);
    expect(name).toBe('prod-walnut-20261201T032900Z.tar.age');
    expect(files.sort()).toEqual(
      [name, `${name}.manifest.json`, 'prod-ironwood-20261201T032900Z.tar.age', 'prod-ironwood-20261201T032900Z.tar.age.manifest.json']
        .map((f) => join(dir, f))
        .sort(),
    );
    expect(readdirSync(dir).sort()).toEqual(files.map((f) => f.slice(dir.length + 1)).sort());
    expect(servers.walnut?.commands.at(-1)).toBe(`'tar' '-cf' '-' '--' '/var/lib/bzzz' '/etc/it'\\''s'`);
    const plain = execFileSync('age', ['-d', '-i', keyFile, join(dir, name)], { maxBuffer: 16 * 1024 * 1024 });
    expect(plain.length).toBe(tarBytes.length);
    expect(plain.equals(tarBytes)).toBe(true);
    const m = JSON.parse(readFileSync(join(dir, `${name}.manifest.json`), 'utf8')) as V1ArchiveManifest;
    const b3 = execFileSync('b3sum', ['--no-names'], { input: plain }).toString().trim();
    expect(m).toMatchObject({
      format: 'bzzz-v1-archive/1',
      cluster: 'prod',
      host: 'walnut',
      archive: name,
      paths: ['/var/lib/bzzz', "/etc/it's"],
      createdAt: AT.toISOString(),
      tarBytes: tarBytes.length,
      blake3: b3,
      encryptedBytes: readFileSync(join(dir, name)).length,
    });
    expect(m.recipients).toHaveLength(2);
    expect(m.warning).toBeUndefined();
  });

  it('keeps an archive tar ended with exit 1 (a file changed as read), with the warning in its manifest', async () => {
    answers.walnut = () => ({
      stdout: tarBytes,
      stderr: 'tar: /var/lib/bzzz/logs/conversation.jsonl: file changed as we read it\n',
      code: 1,
    });
    const dir = freshDir();
    const { files } = await archiver().archive({
      cluster: 'c',
      side: { targets: [target('walnut')] },
      paths: ['/var/lib/bzzz'],
      dir,
      recipients: [recipient],
    });
    const m = JSON.parse(readFileSync(files[1] as string, 'utf8')) as V1ArchiveManifest;
    expect(m.warning).toMatch(/file changed as we read it/);
  });

  it('fails on tar exit 2 with its stderr, naming the host, and leaves no file of the run (the other host’s removed too)', async () => {
    answers.walnut = () => ({ stdout: tarBytes });
    answers.ironwood = () => ({
      stdout: tarBytes.subarray(0, 10_240),
      stderr: 'tar: /var/lib/bzzz/x: Cannot open: Permission denied\ntar: Exiting with failure status due to previous errors\n',
      code: 2,
    });
    const dir = freshDir();
    const err = await archiver()
      .archive({
        cluster: 'c',
        side: { targets: [target('walnut'), target('ironwood')] },
        paths: ['/var/lib/bzzz'],
        dir,
        recipients: [recipient],
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(V1ArchiveError);
    expect((err as V1ArchiveError).failures.map((f) => f.host)).toEqual(['ironwood']);
    expect((err as Error).message).toMatch(/ironwood: tar exited 2: tar: \/var\/lib\/bzzz\/x: Cannot open: Permission denied/);
    expect((err as Error).message).toMatch(/removed/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('stops the other hosts when one fails: only the failing host is named', async () => {
    answers.walnut = () => ({ stderr: 'tar: /var/lib/bzzz: Cannot stat: No such file or directory\n', code: 2 });
    answers.ironwood = () => ({ hang: true });
    const dir = freshDir();
    const t0 = Date.now();
    const err = await archiver({ idleTimeoutMs: 20_000 })
      .archive({
        cluster: 'c',
        side: { targets: [target('walnut'), target('ironwood')] },
        paths: ['/var/lib/bzzz'],
        dir,
        recipients: [recipient],
      })
      .catch((e: unknown) => e);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect((err as V1ArchiveError).failures).toEqual([{ host: 'walnut', error: expect.stringMatching(/^tar exited 2: .*Cannot stat/) }]);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('fails an unreachable host by name, leaving nothing', async () => {
    answers.walnut = () => ({ stdout: tarBytes });
    const dir = freshDir();
    const err = await archiver()
      .archive({
        cluster: 'c',
        side: { targets: [target('walnut'), target('acacia', { port: 1, timeoutMs: 1000 })] },
        paths: ['/var/lib/bzzz'],
        dir,
        recipients: [recipient],
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(V1ArchiveError);
    expect((err as Error).message).toMatch(/^archiving the v1 data failed on acacia: /);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('refuses a tar over the size limit, and a host whose tar goes silent', async () => {
    answers.walnut = () => ({ stdout: tarBytes });
    const dir = freshDir();
    await expect(
      archiver({ maxTarBytes: 100_000 }).archive({
        cluster: 'c',
        side: { targets: [target('walnut')] },
        paths: ['/var/lib/bzzz'],
        dir,
        recipients: [recipient],
      }),
    ).rejects.toThrow(/walnut: .*larger than the 100000 bytes allowed/);
    answers.walnut = () => ({ hang: true });
    await expect(
      archiver({ idleTimeoutMs: 300 }).archive({
        cluster: 'c',
        side: { targets: [target('walnut')] },
        paths: ['/var/lib/bzzz'],
        dir,
        recipients: [recipient],
      }),
    ).rejects.toThrow(/walnut: .*sent nothing for 300ms/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('is the port the migration reconciler calls, and takes the key per cluster', async () => {
    const port: ReconcilerV1Archiver = new SshV1Archiver({ privateKey: async (cluster) => (cluster === 'k' ? client.private : 'nope') });
    answers.walnut = () => ({ stdout: tarBytes });
    const dir = freshDir();
    const side = { targets: [target('walnut')], hosts: {}, mesh: {} } as unknown as Parameters<ReconcilerV1Archiver['archive']>[0]['side'];
    const { files } = await port.archive({ cluster: 'k', side, paths: ['/var/lib/bzzz'], dir, recipients: [recipient] });
    expect(files).toHaveLength(2);
  });

  it('refuses bad paths, recipients and names before contacting any host', async () => {
    const before = servers.walnut?.connections();
    const dir = freshDir();
    const run = (o: { paths?: string[]; recipients?: string[]; cluster?: string }) =>
      archiver().archive({
        cluster: o.cluster ?? 'c',
        side: { targets: [target('walnut')] },
        paths: o.paths ?? ['/var/lib/bzzz'],
        dir,
        recipients: o.recipients ?? [recipient],
      });
    await expect(run({ paths: ['var/lib/bzzz'] })).rejects.toBeInstanceOf(InvalidInputError);
    await expect(run({ paths: ['/var/lib/../../etc'] })).rejects.toThrow(/not an absolute path without '\.\.'/);
    await expect(run({ paths: [] })).rejects.toThrow(/nothing to archive/);
    await expect(run({ recipients: [] })).rejects.toThrow(/at least one age recipient/);
    await expect(run({ recipients: ['age1nope'] })).rejects.toThrow(/recipients\[0\]/);
    await expect(run({ cluster: '../x' })).rejects.toThrow(/cannot name an archive file/);
    expect(servers.walnut?.connections()).toBe(before);
    expect(readdirSync(dir)).toEqual([]);
  });
});
