// The v1 log read over SSH (SFTP) from an in-process SSH server: bytes as they are, the size limit
// naming the host, a missing file, backpressure (a consumer that stops reading makes the host stop
// being asked), abort, and the connection closed however the read ends.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SshV1LogReader } from '../../../src/hosts/v1-log-reader.js';
import { checkV1Log } from '../../../src/hosts/v1-log.js';
import type { V1HostTarget } from '../../../src/hosts/types.js';
import { InvalidInputError } from '../../../src/util/errors.js';
import { v1LogLines } from '../../support/v1-log.js';
import { type FakeFiles, type FakeSshServer, keyPair, startFakeSsh } from './fake-ssh-server.js';

const client = keyPair();
const LOG = '/var/lib/bzzz/hypercore.jsonl';
const log = Buffer.from(`${[...v1LogLines({ entries: 3000, seed: 4 })].join('\n')}\n`);
const files: FakeFiles = { files: new Map([[LOG, log]]), reads: 0, openHandles: 0 };
let server: FakeSshServer;
let walnut: V1HostTarget;

beforeAll(async () => {
  server = await startFakeSsh({ clientPublicKey: client.public, onExec: () => ({ code: 127 }), sftp: files });
  walnut = {
    name: 'walnut',
    address: '127.0.0.1',
    port: server.port,
    user: 'root',
    hostKey: server.fingerprint,
    timeoutMs: 3000,
    unit: 'bzzz@walnut.service',
  };
});
afterAll(() => server.close());

const reader = new SshV1LogReader({ privateKey: client.private, chunkBytes: 64 * 1024 });

async function collect(it: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of it) parts.push(c);
  return Buffer.concat(parts);
}

const settle = () => new Promise((r) => setTimeout(r, 100));

describe('SshV1LogReader', () => {
  it('GIVEN a log on the host THEN streams its exact bytes in chunks, which verify; the connection is closed after', async () => {
    const before = server.connections();
    const got = await collect(reader.read(walnut, LOG, { maxBytes: 10 * 1024 * 1024 }));
    expect(got.equals(log)).toBe(true);
    expect(server.connections()).toBe(before + 1);
    expect(await checkV1Log(reader.read(walnut, LOG, { maxBytes: 10 * 1024 * 1024 }), { source: 'walnut' })).toMatchObject({
      intact: true,
      entries: 3000,
    });
    await settle();
    expect(files.openHandles).toBe(0);
  });

  it('GIVEN a log larger than maxBytes THEN an error naming the host and the limit, nothing yielded', async () => {
    const chunks: Buffer[] = [];
    await expect(
      (async () => {
        for await (const c of reader.read(walnut, LOG, { maxBytes: 1000 })) chunks.push(c);
      })(),
    ).rejects.toThrow(`walnut: the v1 log ${LOG} is larger than the 1000 bytes allowed (${log.length} bytes)`);
    expect(chunks).toEqual([]);
  });

  it('GIVEN no log at the path THEN an error naming the host and the path', async () => {
    await expect(collect(reader.read(walnut, '/nope.jsonl', { maxBytes: 1000 }))).rejects.toThrow(
      'walnut: the v1 log /nope.jsonl does not exist',
    );
  });

  it('GIVEN a path with .. or not absolute THEN refused before connecting', async () => {
    const before = server.connections();
    await expect(collect(reader.read(walnut, '/var/../etc/shadow', { maxBytes: 1000 }))).rejects.toThrow(InvalidInputError);
    await expect(collect(reader.read(walnut, 'relative.jsonl', { maxBytes: 1000 }))).rejects.toThrow(InvalidInputError);
    expect(server.connections()).toBe(before);
  });

  it('GIVEN a consumer that stops after one chunk THEN the host is asked for no more, and the file and connection are closed', async () => {
    const readsBefore = files.reads;
    for await (const _ of reader.read(walnut, LOG, { maxBytes: 10 * 1024 * 1024 })) break;
    await settle();
    // One 64 KiB chunk (this server answers at most ~32 KiB a READ), of a log of 20+ such chunks.
    expect(files.reads - readsBefore).toBeLessThanOrEqual(3);
    expect(files.openHandles).toBe(0);
    expect(log.length).toBeGreaterThan(10 * 64 * 1024);
  });

  it('GIVEN an abort during a slow read THEN it ends with an abort error and closes the file', async () => {
    files.readDelayMs = 300;
    try {
      const ac = new AbortController();
      setTimeout(() => ac.abort(), 100);
      await expect(collect(reader.read(walnut, LOG, { maxBytes: 10 * 1024 * 1024, signal: ac.signal }))).rejects.toThrow(
        `walnut: reading the v1 log ${LOG} was aborted`,
      );
    } finally {
      files.readDelayMs = 0;
    }
    await new Promise((r) => setTimeout(r, 500));
    expect(files.openHandles).toBe(0);
  });
});
