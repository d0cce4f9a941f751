// A v1 host's conversation log read over SSH from a real sshd (OpenSSH's SFTP server, its own
// packet sizes) by SshV1LogReader: the bytes exactly as on the host, verified; a log larger than
// allowed refused naming the host; a log with a broken chain reported with the host as source.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { V1HostTarget } from '../../../src/hosts/types.js';
import { SshV1LogReader } from '../../../src/hosts/v1-log-reader.js';
import { checkV1Log } from '../../../src/hosts/v1-log.js';
import { type V1Hosts, startV1Hosts } from '../../support/v1-hosts.js';
import { writeV1Log } from '../../support/v1-log.js';

const run = promisify(execFile);
let v1: V1Hosts | undefined;
let dir: string;
let walnut: V1HostTarget;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bzzz-v1-log-'));
  v1 = await startV1Hosts({ names: ['walnut'], onProgress: (m) => process.env.BZZZ_TEST_LOG && console.error(m) });
  const h = v1.host('walnut');
  walnut = { name: h.name, address: h.address, port: h.sshPort, user: h.user, hostKey: h.hostKey, timeoutMs: 10_000, unit: h.unit };
  await writeV1Log(join(dir, 'good.jsonl'), { entries: 5000, seed: 8 });
  await writeV1Log(join(dir, 'bad.jsonl'), { entries: 300, changeData: [7], breakPrevHash: [100], dropIndex: [200] });
  for (const f of ['good', 'bad']) await run('docker', ['cp', join(dir, `${f}.jsonl`), `${h.containerId}:/var/lib/${f}.jsonl`]);
}, 240_000);

afterAll(async () => {
  await v1?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('SshV1LogReader against a real sshd', () => {
  it('GIVEN a log on the host THEN its exact bytes arrive, and they verify', async () => {
    const reader = new SshV1LogReader({ privateKey: v1!.privateKey });
    const parts: Buffer[] = [];
    for await (const c of reader.read(walnut, '/var/lib/good.jsonl', { maxBytes: 64 * 1024 * 1024 })) parts.push(c);
    expect(Buffer.concat(parts).equals(await readFile(join(dir, 'good.jsonl')))).toBe(true);
    const report = await checkV1Log(reader.read(walnut, '/var/lib/good.jsonl', { maxBytes: 64 * 1024 * 1024 }), { source: 'walnut' });
    expect(report).toMatchObject({ intact: true, entries: 5000, lastIndex: 4999 });
  });

  it('GIVEN a broken log on the host THEN every break is reported with the host as source', async () => {
    const reader = new SshV1LogReader({ privateKey: v1!.privateKey });
    const report = await checkV1Log(reader.read(walnut, '/var/lib/bad.jsonl', { maxBytes: 1024 * 1024 }), { source: 'walnut' });
    expect(report.breaks.map((b) => [b.source, b.reason, b.index])).toEqual([
      ['walnut', 'hash-mismatch', 7],
      ['walnut', 'broken-prev-hash', 100],
      ['walnut', 'missing-index', 201],
    ]);
  });

  it('GIVEN a log larger than allowed, or none THEN the error names the host', async () => {
    const reader = new SshV1LogReader({ privateKey: v1!.privateKey });
    const drain = async (it: AsyncIterable<Buffer>) => {
      for await (const _ of it);
    };
    await expect(drain(reader.read(walnut, '/var/lib/good.jsonl', { maxBytes: 1000 }))).rejects.toThrow(
      /^walnut: the v1 log \/var\/lib\/good\.jsonl is larger than the 1000 bytes allowed/,
    );
    await expect(drain(reader.read(walnut, '/var/lib/none.jsonl', { maxBytes: 1000 }))).rejects.toThrow(
      'walnut: the v1 log /var/lib/none.jsonl does not exist',
    );
  });
});
