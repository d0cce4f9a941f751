// Key files on disk, as `bzzzctl keys generate` writes them and agents read them:
//
//   DIR/            0700 when created here
//     roles/        0700   <role>.key (age identity file, 0600) and <role>.pub (age1… line, 0644)
//                          for observer, backend_developer, senior_software_architect;
//                          admin has admin.pub ONLY: its private key is never written in the clear
//     shares/       0700   share-<i>.json (0600) — the t-of-n Shamir split of the admin key
//
// The .key and .pub files are the `age` CLI's own formats (`age -d -i`, `age -R`). Each file is
// written to a temporary name, fsynced and renamed, so a crash never leaves half a key.
import { constants } from 'node:fs';
import { chmod, lstat, mkdir, open, readFile, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { NotFoundError } from '../util/errors.js';
import { AgeIdentity, assertAgeRecipient } from './age-identity.js';
import { InvalidKeyError, KeyFilesExistError } from './errors.js';
import type { RolePublicKeys } from './role-crypto.js';
import { ROLES, type Role } from './roles.js';
import { parseShare, serializeShare, splitAdminKey, validateSplitParameters, type AdminKeyShare } from './shamir.js';

export const PRIVATE_FILE_MODE = 0o600;
export const PUBLIC_FILE_MODE = 0o644;
export const KEY_DIR_MODE = 0o700;

export interface GenerateKeysOptions {
  outDir: string;
  threshold?: number;
  shares?: number;
  /** Overwrite existing key files (and remove share files of an older, larger split). */
  force?: boolean;
}

export interface WrittenKeyFile {
  path: string;
  kind: 'identity' | 'public-key' | 'share';
  mode: number;
  role?: Role;
  index?: number;
}

export interface GeneratedKeys {
  publicKeys: RolePublicKeys;
  threshold: number;
  shares: number;
  files: WrittenKeyFile[];
}

export function roleKeyPath(dir: string, role: Role): string {
  return join(dir, 'roles', `${role}.key`);
}
export function rolePubPath(dir: string, role: Role): string {
  return join(dir, 'roles', `${role}.pub`);
}
export function sharePath(dir: string, index: number): string {
  return join(dir, 'shares', `share-${index}.json`);
}

export async function generateKeys(opts: GenerateKeysOptions): Promise<GeneratedKeys> {
  const { outDir, threshold = 3, shares = 5, force = false } = opts;
  validateSplitParameters(threshold, shares);

  // 1. Decide every file before touching the disk, and refuse to overwrite without force.
  const planned: Omit<WrittenKeyFile, 'mode'>[] = [];
  for (const role of ROLES) {
    if (role !== 'admin') planned.push({ path: roleKeyPath(outDir, role), kind: 'identity', role });
    planned.push({ path: rolePubPath(outDir, role), kind: 'public-key', role });
  }
  for (let i = 1; i <= shares; i++) planned.push({ path: sharePath(outDir, i), kind: 'share', index: i });
  const staleShares = await existingShareFiles(outDir);
  if (!force) {
    const existing = [
      ...(await existingPaths(planned.map((p) => p.path))),
      ...staleShares.filter((p) => !planned.some((q) => q.path === p)),
    ];
    if (existing.length > 0) {
      throw new KeyFilesExistError(
        `${existing[0]} already exists${existing.length > 1 ? ` (and ${existing.length - 1} more key file(s))` : ''}: refusing to overwrite keys; pass --force to replace them, or choose another --out directory`,
      );
    }
  }

  // 2. Generate everything in memory.
  const identities = new Map<Role, AgeIdentity>();
  for (const role of ROLES) identities.set(role, await AgeIdentity.generate());
  const admin = identities.get('admin') as AgeIdentity;
  const split = await splitAdminKey(admin, threshold, shares);
  const publicKeys = Object.fromEntries(ROLES.map((r) => [r, (identities.get(r) as AgeIdentity).recipient])) as RolePublicKeys;

  // 3. Write: directories 0700, private files 0600, public keys 0644.
  await makePrivateDir(outDir, { onlyIfCreated: true });
  await makePrivateDir(join(outDir, 'roles'));
  await makePrivateDir(join(outDir, 'shares'));
  const created = new Date().toISOString();
  const files: WrittenKeyFile[] = [];
  for (const p of planned) {
    if (p.kind === 'identity' && p.role) {
      const id = identities.get(p.role) as AgeIdentity;
      const text = `# created: ${created}\n# role: ${p.role}\n# public key: ${id.recipient}\n${id.exposeSecret()}\n`;
      files.push({ ...p, mode: await writeFileAtomic(p.path, text, PRIVATE_FILE_MODE) });
    } else if (p.kind === 'public-key' && p.role) {
      files.push({ ...p, mode: await writeFileAtomic(p.path, `${publicKeys[p.role]}\n`, PUBLIC_FILE_MODE) });
    } else if (p.kind === 'share' && p.index) {
      const share = split[p.index - 1] as AdminKeyShare;
      files.push({ ...p, mode: await writeFileAtomic(p.path, serializeShare(share), PRIVATE_FILE_MODE) });
    }
  }
  // A forced re-split with fewer shares must not leave shares of the old split behind.
  for (const stale of staleShares) {
    if (!planned.some((p) => p.path === stale)) await rm(stale, { force: true });
  }
  for (const s of split) s.share.fill(0);
  return { publicKeys, threshold, shares, files };
}

export interface LoadedRoleKeys {
  publicKeys: RolePublicKeys;
  /** This agent's identity, when `role` was given and its .key file is present (never for admin). */
  identity?: AgeIdentity;
}

/**
 * Read every role's public key and, when `role` is given, that role's identity. `dir` is the
 * generated directory (with roles/) or a flat directory holding the .pub/.key files (how Docker
 * secrets are mounted). The identity must match its role's public key.
 */
export async function loadRoleKeys(dir: string, role?: Role): Promise<LoadedRoleKeys> {
  const rolesDir = (await isDirectory(join(dir, 'roles'))) ? join(dir, 'roles') : dir;
  const publicKeys = {} as RolePublicKeys;
  for (const r of ROLES) {
    const file = join(rolesDir, `${r}.pub`);
    const line = firstKeyLine(await readKeyFile(file, `public key of role ${r}`));
    assertAgeRecipient(line, file);
    publicKeys[r] = line;
  }
  if (!role || role === 'admin') return { publicKeys };
  const keyFile = join(rolesDir, `${role}.key`);
  let text: string;
  try {
    text = await readFile(keyFile, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { publicKeys };
    throw err;
  }
  const identity = await AgeIdentity.parse(firstKeyLine(text) ?? '', keyFile);
  if (identity.recipient !== publicKeys[role]) {
    throw new InvalidKeyError(
      `${keyFile}: this identity's public key is ${identity.recipient}, but ${role}.pub says ${publicKeys[role]}; use files from the same 'bzzzctl keys generate' run`,
    );
  }
  return { publicKeys, identity };
}

export async function loadShare(file: string): Promise<AdminKeyShare> {
  return parseShare(await readKeyFile(file, 'admin key share'), file);
}

async function readKeyFile(file: string, what: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new NotFoundError(
        `${file}: ${what} not found; generate keys with 'bzzzctl keys generate --out DIR' and point --keys-dir / --share-file at them`,
      );
    }
    throw err;
  }
}

/** The first line that is not blank or a `#` comment (the age key file convention). */
function firstKeyLine(text: string): string | undefined {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .find((l) => l !== '' && !l.startsWith('#'));
}

async function writeFileAtomic(path: string, text: string, mode: number): Promise<number> {
  const tmp = `${path}.tmp-${randomBytes(6).toString('hex')}`;
  const fh = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode);
  try {
    await fh.chmod(mode); // exact mode whatever the umask
    await fh.writeFile(text, 'utf8');
    await fh.sync();
  } catch (err) {
    await fh.close();
    await rm(tmp, { force: true });
    throw err;
  }
  await fh.close();
  await rename(tmp, path);
  return mode;
}

async function makePrivateDir(dir: string, opts: { onlyIfCreated?: boolean } = {}): Promise<void> {
  const existed = await isDirectory(dir);
  await mkdir(dir, { recursive: true, mode: KEY_DIR_MODE });
  // A directory the user already had (e.g. --out .) keeps its mode; ours are exactly 0700.
  if (!existed || !opts.onlyIfCreated) await chmod(dir, KEY_DIR_MODE);
}

async function isDirectory(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isDirectory();
  } catch {
    return false;
  }
}

async function existingPaths(paths: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const p of paths) {
    try {
      await lstat(p);
      out.push(p);
    } catch {
      // absent: fine
    }
  }
  return out;
}

async function existingShareFiles(dir: string): Promise<string[]> {
  try {
    const names = await readdir(join(dir, 'shares'));
    return names
      .filter((n) => /^share-\d+\.json$/.test(n))
      .map((n) => join(dir, 'shares', n))
      .sort();
  } catch {
    return [];
  }
}
