// The age stream (node:crypto only) against Debian's `age` CLI and the age-encryption package,
// both ways, at the chunk boundaries; tampering, truncation and wrong keys refused.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Decrypter, Encrypter, generateX25519Identity, identityToRecipient } from 'age-encryption';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AGE_CHUNK_SIZE,
  AgeDecryptStream,
  AgeEncryptStream,
  ageDecrypt,
  ageEncrypt,
  agePayloadSize,
  ageRecipientOf,
  generateAgeIdentity,
  parseAgeIdentity,
  parseAgeRecipient,
} from '../../../src/crypto/age-stream.js';
import { AccessDeniedError, CorruptCiphertextError, InvalidKeyError } from '../../../src/crypto/errors.js';

/** A missing tool fails with the script that installs it, not with `spawn … ENOENT`. */
function tool(cmd: string, args: string[], input?: Buffer): Buffer {
  try {
    return execFileSync(cmd, args, { input, maxBuffer: 64 * 1024 * 1024 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      throw new Error(`${cmd} not found: run scripts/install-tools.sh (npm test does)`, { cause: err });
    throw err;
  }
}

/** Pushes `data` through `t` in pieces of `piece` bytes (odd sizes cross every boundary). */
async function through(t: NodeJS.ReadWriteStream, data: Buffer, piece = 7919): Promise<Buffer> {
  const out: Buffer[] = [];
  async function* src() {
    for (let i = 0; i < data.length; i += piece) yield data.subarray(i, i + piece);
  }
  await pipeline(
    Readable.from(src()),
    t,
    new Writable({
      write(c: Buffer, _e, cb) {
        out.push(c);
        cb();
      },
    }),
  );
  return Buffer.concat(out);
}

let dir: string;
let cli: { identity: string; recipient: string; keyFile: string };

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'age-stream-'));
  const keyFile = join(dir, 'key.txt');
  tool('age-keygen', ['-o', keyFile]);
  const identity = readFileSync(keyFile, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('AGE-SECRET-KEY-1')) as string;
  const recipient = tool('age-keygen', ['-y', keyFile]).toString('utf8').trim();
  cli = { identity, recipient, keyFile };
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SIZES: [string, number][] = [
  ['empty', 0],
  ['1 byte', 1],
  ['64 KiB exactly', AGE_CHUNK_SIZE],
  ['64 KiB + 1', AGE_CHUNK_SIZE + 1],
  ['two chunks exactly', 2 * AGE_CHUNK_SIZE],
  ['3 MiB + 5 random', 3 * 1024 * 1024 + 5],
];

describe('keys', () => {
  it('derives the same recipient as age-keygen, and round-trips generated identities', () => {
    expect(ageRecipientOf(cli.identity)).toBe(cli.recipient);
    const g = generateAgeIdentity();
    expect(g.identity).toMatch(/^AGE-SECRET-KEY-1[0-9A-Z]{58}$/);
    expect(ageRecipientOf(g.identity)).toBe(g.recipient);
    expect(parseAgeRecipient(g.recipient)).toHaveLength(32);
    expect(parseAgeIdentity(g.identity)).toHaveLength(32);
  });

  it('refuses bad recipients and identities without quoting them', () => {
    const bad = `${cli.recipient.slice(0, -1)}${cli.recipient.endsWith('q') ? 'p' : 'q'}`;
    for (const r of [bad, 'age1', '', cli.identity, cli.recipient.toUpperCase()]) {
      expect(() => parseAgeRecipient(r)).toThrow(InvalidKeyError);
    }
    expect(() => new AgeEncryptStream([])).toThrow(/at least one recipient/);
    let err: unknown;
    try {
      parseAgeIdentity(`${cli.identity.slice(0, -1)}${cli.identity.endsWith('Q') ? 'P' : 'Q'}`);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InvalidKeyError);
    expect((err as Error).message).not.toContain(cli.identity.slice(16, 40));
  });
});

describe('with the age CLI', () => {
  it.each(SIZES)('age -d reads what we encrypt (%s), and the size is as predicted', async (_name, size) => {
    const plain = randomBytes(size);
    const enc = await through(new AgeEncryptStream([cli.recipient]), plain);
    const file = join(dir, `ours-${size}.age`);
    writeFileSync(file, enc);
    expect(tool('age', ['-d', '-i', cli.keyFile, file]).equals(plain)).toBe(true);
    const headerEnd = enc.indexOf('\n---') + 1;
    const macEnd = enc.indexOf(0x0a, headerEnd) + 1;
    expect(enc.length - macEnd).toBe(agePayloadSize(size));
  });

  it.each(SIZES)('we decrypt what age -r encrypts (%s)', async (_name, size) => {
    const plain = randomBytes(size);
    const enc = tool('age', ['-r', cli.recipient], plain);
    expect((await through(new AgeDecryptStream([cli.identity]), enc, 65_537)).equals(plain)).toBe(true);
    // Byte by byte: the header, nonce and chunks split at every possible place.
    if (size <= 2 * AGE_CHUNK_SIZE) expect((await through(new AgeDecryptStream([cli.identity]), enc, 1)).equals(plain)).toBe(true);
  });

  it('encrypts to several recipients, each can decrypt', async () => {
    const other = generateAgeIdentity();
    const plain = randomBytes(100_000);
    const enc = await through(new AgeEncryptStream([other.recipient, cli.recipient]), plain);
    const file = join(dir, 'multi.age');
    writeFileSync(file, enc);
    expect(tool('age', ['-d', '-i', cli.keyFile, file]).equals(plain)).toBe(true);
    expect(ageDecrypt(enc, [other.identity]).equals(plain)).toBe(true);
  });
});

describe('with the age-encryption package', () => {
  it('it decrypts ours and we decrypt its', async () => {
    const identity = await generateX25519Identity();
    const recipient = await identityToRecipient(identity);
    const plain = randomBytes(2 * AGE_CHUNK_SIZE + 17);
    const d = new Decrypter();
    d.addIdentity(identity);
    expect(Buffer.from(await d.decrypt(ageEncrypt(plain, [recipient]))).equals(plain)).toBe(true);
    const e = new Encrypter();
    e.addRecipient(recipient);
    expect(ageDecrypt(await e.encrypt(plain), [identity]).equals(plain)).toBe(true);
  });
});

describe('refusals', () => {
  const plain = randomBytes(2 * AGE_CHUNK_SIZE + 100);
  const refuse = (file: Buffer) => through(new AgeDecryptStream([cli.identity]), file);

  it('refuses a flipped byte anywhere: header, MAC, nonce, a middle chunk, the last chunk', async () => {
    const enc = ageEncrypt(plain, [cli.recipient]);
    const headerLen = enc.indexOf(0x0a, enc.indexOf('\n---') + 1) + 1;
    for (const at of [30, headerLen - 5, headerLen + 3, headerLen + 16 + 1000, enc.length - 20, enc.length - 1]) {
      const bad = Buffer.from(enc);
      bad[at] = (bad[at] as number) ^ 0x01;
      await expect(refuse(bad), `byte ${at}`).rejects.toBeInstanceOf(CorruptCiphertextError);
      expect(() => ageDecrypt(bad, [cli.identity])).toThrow(CorruptCiphertextError);
    }
  });

  it('emits no plaintext of a chunk whose tag fails', async () => {
    const enc = ageEncrypt(plain, [cli.recipient]);
    const bad = Buffer.from(enc);
    bad[bad.length - 1] = (bad[bad.length - 1] as number) ^ 0xff;
    const got: Buffer[] = [];
    const t = new AgeDecryptStream([cli.identity]);
    t.on('data', (c: Buffer) => got.push(c));
    await expect(pipeline(Readable.from([bad]), t)).rejects.toBeInstanceOf(CorruptCiphertextError);
    expect(Buffer.concat(got).length).toBe(2 * AGE_CHUNK_SIZE);
  });

  it('refuses a file cut at a chunk boundary, cut mid-chunk, with a chunk appended, or for another key', async () => {
    const enc = ageEncrypt(plain, [cli.recipient]);
    const headerLen = enc.indexOf(0x0a, enc.indexOf('\n---') + 1) + 1;
    const boundary = headerLen + 16 + 2 * (AGE_CHUNK_SIZE + 16);
    await expect(refuse(enc.subarray(0, boundary))).rejects.toThrow(/cut short|missing/);
    await expect(refuse(enc.subarray(0, boundary - 10))).rejects.toBeInstanceOf(CorruptCiphertextError);
    await expect(refuse(enc.subarray(0, 20))).rejects.toThrow(/header is cut short/);
    await expect(refuse(Buffer.concat([enc, randomBytes(40)]))).rejects.toBeInstanceOf(CorruptCiphertextError);
    const other = generateAgeIdentity();
    await expect(through(new AgeDecryptStream([other.identity]), enc)).rejects.toBeInstanceOf(AccessDeniedError);
    await expect(refuse(Buffer.from('hello\n--- x\n'))).rejects.toThrow(/first line/);
  });
});

describe('streaming', () => {
  it('holds back: a slow reader stops the writer (backpressure), and memory stays flat', async () => {
    const t = new AgeEncryptStream([cli.recipient]);
    const piece = Buffer.alloc(AGE_CHUNK_SIZE, 1);
    let written = 0;
    while (t.write(piece)) {
      written += piece.length;
      if (written > 64 * 1024 * 1024) break;
    }
    // Nobody reads: the Transform must refuse more after a few chunks, not buffer everything.
    expect(written).toBeLessThan(8 * AGE_CHUNK_SIZE);
    t.destroy();
  });

  it('counts bytes in and out', async () => {
    const t = new AgeEncryptStream([cli.recipient]);
    const enc = await through(t, randomBytes(200_000));
    expect(t.bytesIn).toBe(200_000);
    expect(t.bytesOut).toBe(enc.length);
  });
});
