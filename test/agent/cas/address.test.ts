// Addresses are what b3sum prints: checked against the real Debian `b3sum` binary.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHasher, hashBytes, InvalidAddressError, isAddress, parseAddress } from '../../../src/agent/cas/index.js';
import { InvalidInputError } from '../../../src/util/errors.js';

const run = promisify(execFile);
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bzzz-cas-addr-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A missing tool fails with the script that installs it, not with `spawn … ENOENT`. */
function missingTool(tool: string, err: unknown): unknown {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return code === 'ENOENT' ? new Error(`${tool} not found: run scripts/install-tools.sh (npm test does)`, { cause: err }) : err;
}

async function b3sum(bytes: Uint8Array): Promise<string> {
  const file = join(dir, `in-${bytes.length}.bin`);
  await writeFile(file, bytes);
  // b3sum: Debian's package, installed by scripts/install-tools.sh (npm test runs it first).
  const { stdout } = await run('b3sum', ['--num-threads', '1', '--no-names', file]).catch((err: unknown) => {
    throw missingTool('b3sum', err);
  });
  return stdout.trim();
}

describe('content addresses', () => {
  const sizes = { '0 bytes': 0, '1 byte': 1, '1 KiB': 1024, '1 MiB + 1': 1024 * 1024 + 1 };

  for (const [name, size] of Object.entries(sizes)) {
    it(`hashBytes of ${name} equals b3sum's output`, async () => {
      const bytes = randomBytes(size);
      const expected = await b3sum(bytes);
      expect(expected).toMatch(/^[0-9a-f]{64}$/);
      expect(hashBytes(bytes)).toBe(`blake3:${expected}`);
    });
  }

  it('the incremental hasher gives the same address whatever the chunking', async () => {
    const bytes = randomBytes(1024 * 1024 + 1);
    const expected = `blake3:${await b3sum(bytes)}`;
    for (const step of [1, 1000, 1024, 65_537, 1024 * 1024]) {
      const h = createHasher();
      for (let off = 0; off < bytes.length; off += step) h.update(bytes.subarray(off, off + step));
      expect(h.bytes).toBe(bytes.length);
      expect(h.address()).toBe(expected);
    }
  });

  it('parseAddress accepts the prefixed and the bare form, and normalises case', () => {
    const hex = 'af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262';
    expect(parseAddress(`blake3:${hex}`)).toBe(`blake3:${hex}`);
    expect(parseAddress(hex)).toBe(`blake3:${hex}`);
    expect(parseAddress(hex.toUpperCase())).toBe(`blake3:${hex}`);
    expect(isAddress(hex)).toBe(true);
  });

  it.each([
    ['empty', ''],
    ['too short', 'blake3:abcd'],
    ['65 digits', `blake3:${'a'.repeat(65)}`],
    ['not hex', `blake3:${'g'.repeat(64)}`],
    ['other algorithm', `sha256:${'a'.repeat(64)}`],
    ['prefix twice', `blake3:blake3:${'a'.repeat(64)}`],
    ['surrounding space', ` ${'a'.repeat(64)}`],
  ])('parseAddress refuses %s with InvalidAddressError that says what is expected', (_name, input) => {
    expect(isAddress(input)).toBe(false);
    let caught: unknown;
    try {
      parseAddress(input);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(InvalidAddressError);
    expect(caught).toBeInstanceOf(InvalidInputError);
    expect((caught as Error).message).toMatch(/blake3:.*64 hex digits/);
  });

  it('an error never echoes a whole long input', () => {
    const input = 'x'.repeat(10_000);
    expect(() => parseAddress(input)).toThrow(InvalidAddressError);
    try {
      parseAddress(input);
    } catch (err) {
      expect((err as Error).message.length).toBeLessThan(300);
    }
  });
});
