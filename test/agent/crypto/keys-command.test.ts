// `bzzzctl keys generate` as a user runs it: exit codes, what it prints, the files' modes.
import { existsSync } from 'node:fs';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { keysGenerateCommand } from '../../../src/agent/cli/keys.js';
import { combineAdminKey, loadRoleKeys, loadShare } from '../../../src/crypto/index.js';

let base: string;
let out: string;
let stdout: string;
let stderr: string;

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'bzzz-keyscmd-'));
  out = join(base, 'keys');
  stdout = '';
  stderr = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  });
});
afterEach(async () => {
  vi.restoreAllMocks();
  await rm(base, { recursive: true, force: true });
});

const mode = async (p: string) => (await stat(p)).mode & 0o777;

describe('bzzzctl keys generate', () => {
  it('writes the keys, prints paths and public keys only, and exits 0', async () => {
    const code = await keysGenerateCommand({ out, threshold: '3', shares: '5' });
    expect(code).toBe(0);
    expect(stdout + stderr).not.toMatch(/AGE-SECRET-KEY/i);

    const { publicKeys, identity } = await loadRoleKeys(out, 'observer');
    for (const k of Object.values(publicKeys)) expect(stdout).toContain(k);
    // No share bytes either.
    for (let i = 1; i <= 5; i++) {
      const share = await loadShare(join(out, 'shares', `share-${i}.json`));
      expect(stdout).not.toContain(Buffer.from(share.share).toString('base64'));
      expect(stdout).toContain(join(out, 'shares', `share-${i}.json`));
    }
    // Every path it says it wrote exists.
    const written = [...stdout.matchAll(/^wrote (\S+)/gm)].map((m) => m[1]!);
    expect(written).toHaveLength(12);
    for (const p of written) expect(existsSync(p)).toBe(true);
    expect(stdout).not.toContain(identity!.exposeSecret());

    expect(await mode(out)).toBe(0o700);
    expect(await mode(join(out, 'roles'))).toBe(0o700);
    expect(await mode(join(out, 'shares'))).toBe(0o700);
    expect(await mode(join(out, 'roles', 'observer.key'))).toBe(0o600);
    expect(await mode(join(out, 'shares', 'share-1.json'))).toBe(0o600);
    expect(existsSync(join(out, 'roles', 'admin.key'))).toBe(false);

    const three = await Promise.all([2, 4, 5].map((i) => loadShare(join(out, 'shares', `share-${i}.json`))));
    expect((await combineAdminKey(three, publicKeys.admin)).recipient).toBe(publicKeys.admin);
  });

  it.each([
    [{ threshold: '1', shares: '5' }, /threshold 1/],
    [{ threshold: '3', shares: '2' }, /shares 2/],
    [{ threshold: '3', shares: '256' }, /shares 256/],
    [{ threshold: 'three', shares: '5' }, /--threshold "three"/],
    [{ threshold: '3', shares: '-5' }, /--shares "-5"/],
  ])('exits 1 on bad input %o and writes nothing', async (flags, message) => {
    expect(await keysGenerateCommand({ out, ...flags })).toBe(1);
    expect(stderr).toMatch(message);
    expect(existsSync(out)).toBe(false);
  });

  it('exits 1 and keeps the old keys when they exist and --force is not given; --force replaces them', async () => {
    expect(await keysGenerateCommand({ out, threshold: '3', shares: '5' })).toBe(0);
    const before = (await loadRoleKeys(out)).publicKeys;
    expect(await keysGenerateCommand({ out, threshold: '3', shares: '5' })).toBe(1);
    expect(stderr).toContain(join(out, 'roles', 'observer.key'));
    expect(stderr).toContain('--force');
    expect((await loadRoleKeys(out)).publicKeys).toEqual(before);

    expect(await keysGenerateCommand({ out, threshold: '3', shares: '5', force: true })).toBe(0);
    expect((await loadRoleKeys(out)).publicKeys.admin).not.toBe(before.admin);
    expect(stdout + stderr).not.toMatch(/AGE-SECRET-KEY/i);
  });

  it('exits 2 when the directory cannot be created', async () => {
    const file = join(base, 'a-file');
    await writeFile(file, 'not a directory');
    expect(await keysGenerateCommand({ out: join(file, 'keys'), threshold: '3', shares: '5' })).toBe(2);
    expect(stderr).toMatch(/^error: /);
    expect(stderr).not.toMatch(/AGE-SECRET-KEY/i);
  });
});
