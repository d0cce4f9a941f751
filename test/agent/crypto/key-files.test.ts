// Key files on a real file system, and interop with Debian's `age` CLI on the same files.
import { execFileSync } from 'node:child_process';
import { chmod, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  combineAdminKey,
  decryptWithRole,
  encryptForRole,
  generateKeys,
  InvalidKeyError,
  KeyFilesExistError,
  loadRoleKeys,
  loadShare,
  ROLES,
} from '../../../src/crypto/index.js';
import { NotFoundError } from '../../../src/util/errors.js';

/** A missing tool fails with the script that installs it, not with `spawn … ENOENT`. */
function missingTool(tool: string, err: unknown): unknown {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return code === 'ENOENT' ? new Error(`${tool} not found: run scripts/install-tools.sh (npm test does)`, { cause: err }) : err;
}

/** Runs Debian's `age` CLI, installed by scripts/install-tools.sh (npm test runs it first). */
function age(args: string[], input?: string): Buffer {
  try {
    return execFileSync('age', args, { input });
  } catch (err) {
    throw missingTool('age', err);
  }
}

let base: string;
let dir: string;

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'bzzz-keys-'));
  dir = join(base, 'keys');
});
afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

const mode = async (p: string) => (await stat(p)).mode & 0o777;

async function allFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(root, { withFileTypes: true })) {
    const p = join(root, e.name);
    if (e.isDirectory()) out.push(...(await allFiles(p)));
    else out.push(p);
  }
  return out.sort();
}

describe('generateKeys', () => {
  it('writes role keys, admin.pub and five shares with private modes, and no admin private key', async () => {
    const result = await generateKeys({ outDir: dir });
    const files = await allFiles(dir);
    expect(files.map((f) => f.slice(dir.length + 1))).toEqual([
      'roles/admin.pub',
      'roles/backend_developer.key',
      'roles/backend_developer.pub',
      'roles/observer.key',
      'roles/observer.pub',
      'roles/senior_software_architect.key',
      'roles/senior_software_architect.pub',
      'shares/share-1.json',
      'shares/share-2.json',
      'shares/share-3.json',
      'shares/share-4.json',
      'shares/share-5.json',
    ]);
    expect(result.files.map((f) => f.path).sort()).toEqual(files);
    for (const d of [dir, join(dir, 'roles'), join(dir, 'shares')]) expect(await mode(d)).toBe(0o700);
    for (const f of files) expect(await mode(f)).toBe(f.endsWith('.pub') ? 0o644 : 0o600);

    // The admin identity, rebuilt from the share files, appears in no file in the clear.
    const shares = await Promise.all([1, 3, 5].map((i) => loadShare(join(dir, 'shares', `share-${i}.json`))));
    const admin = await combineAdminKey(shares, result.publicKeys.admin);
    for (const f of files) expect(await readFile(f, 'utf8')).not.toContain(admin.exposeSecret());
  });

  it('round-trips: loaded keys encrypt and decrypt by role', async () => {
    await generateKeys({ outDir: dir });
    for (const role of ROLES) {
      const loaded = await loadRoleKeys(dir, role);
      if (role === 'admin') {
        expect(loaded.identity).toBeUndefined(); // only from shares
        continue;
      }
      expect(loaded.identity?.recipient).toBe(loaded.publicKeys[role]);
      const ct = await encryptForRole(`for ${role}`, role, loaded.publicKeys);
      expect(new TextDecoder().decode(await decryptWithRole(ct, loaded.identity!))).toBe(`for ${role}`);
    }
    const pubOnly = await loadRoleKeys(dir);
    expect(pubOnly.identity).toBeUndefined();
    expect(Object.keys(pubOnly.publicKeys).sort()).toEqual([...ROLES].sort());
  });

  it('reads a flat directory, as Docker secrets are mounted', async () => {
    await generateKeys({ outDir: dir });
    const flat = join(base, 'flat');
    execFileSync('cp', ['-r', join(dir, 'roles'), flat]);
    await rm(join(flat, 'senior_software_architect.key'));
    const loaded = await loadRoleKeys(flat, 'backend_developer');
    expect(loaded.identity?.recipient).toBe(loaded.publicKeys.backend_developer);
    expect((await loadRoleKeys(flat, 'senior_software_architect')).identity).toBeUndefined();
  });

  it('refuses to overwrite existing keys without force, naming the file, and replaces them with force', async () => {
    const first = await generateKeys({ outDir: dir });
    const err = await generateKeys({ outDir: dir }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KeyFilesExistError);
    expect((err as Error).message).toContain(join(dir, 'roles', 'observer.key'));
    expect((err as Error).message).toMatch(/--force/);
    expect((await loadRoleKeys(dir)).publicKeys).toEqual(first.publicKeys);

    const second = await generateKeys({ outDir: dir, force: true, threshold: 2, shares: 3 });
    expect(second.publicKeys.admin).not.toBe(first.publicKeys.admin);
    expect((await loadRoleKeys(dir)).publicKeys).toEqual(second.publicKeys);
    // Shares 4 and 5 of the old 3-of-5 split are gone: they would never combine with the new ones.
    expect(await readdir(join(dir, 'shares'))).toEqual(['share-1.json', 'share-2.json', 'share-3.json']);
    const two = await Promise.all([1, 3].map((i) => loadShare(join(dir, 'shares', `share-${i}.json`))));
    expect((await combineAdminKey(two, second.publicKeys.admin)).recipient).toBe(second.publicKeys.admin);
  });

  it('keeps the mode of a directory the user already had', async () => {
    await chmod(base, 0o755); // e.g. --out . in a home directory
    await generateKeys({ outDir: base });
    expect(await mode(base)).toBe(0o755);
    expect(await mode(join(base, 'roles'))).toBe(0o700);
    expect(await mode(join(base, 'shares'))).toBe(0o700);
  });

  it('says which file is missing or does not match', async () => {
    await generateKeys({ outDir: dir });
    await rm(join(dir, 'roles', 'admin.pub'));
    await expect(loadRoleKeys(dir)).rejects.toBeInstanceOf(NotFoundError);
    await expect(loadRoleKeys(dir)).rejects.toThrow(join(dir, 'roles', 'admin.pub'));

    await generateKeys({ outDir: dir, force: true });
    const other = join(base, 'other');
    await generateKeys({ outDir: other });
    await writeFile(join(dir, 'roles', 'observer.key'), await readFile(join(other, 'roles', 'observer.key')));
    const err = await loadRoleKeys(dir, 'observer').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidKeyError);
    expect((err as Error).message).toContain('observer.pub');
    await expect(loadShare(join(dir, 'shares', 'share-9.json'))).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe('interop with the age CLI', () => {
  it('age decrypts role content with the generated .key files, and we decrypt what age encrypts', async () => {
    await generateKeys({ outDir: dir });
    const { publicKeys, identity } = await loadRoleKeys(dir, 'backend_developer');
    const ct = await encryptForRole('backend decision', 'observer', publicKeys);
    const ctFile = join(base, 'c.age');
    await writeFile(ctFile, ct);
    const plain = age(['-d', '-i', join(dir, 'roles', 'backend_developer.key'), ctFile]).toString('utf8');
    expect(plain).toBe('backend decision');

    const fromAge = age(['-R', join(dir, 'roles', 'backend_developer.pub')], 'from the cli');
    expect(new TextDecoder().decode(await decryptWithRole(new Uint8Array(fromAge), identity!))).toBe('from the cli');
  });
});
