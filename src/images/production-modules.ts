// The production part of an installed node_modules, chosen from package-lock.json: every package
// not marked `dev` (npm's own `--omit=dev` rule; `devOptional` packages are optional deps of
// production packages and stay). Copying the installed packages instead of running `npm ci` keeps
// the build offline and keeps the native builds already on disk (the @napi-rs/blake-hash binary
// for this platform), exactly as the tests on this machine ran them.
import { cp, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';

interface LockPackage {
  dev?: boolean;
  optional?: boolean;
  devOptional?: boolean;
  link?: boolean;
  version?: string;
}
interface Lockfile {
  lockfileVersion?: number;
  packages?: Record<string, LockPackage>;
}

export interface ProductionPackage {
  /** `node_modules/...` path, as in the lockfile. */
  path: string;
  version: string;
}

/**
 * Production packages of `root`'s lockfile that are installed under `root/node_modules`. Optional
 * packages for other platforms are in the lockfile but not on disk: they are listed as `absent`;
 * any other missing package is an error.
 */
export async function productionPackages(root: string): Promise<{ installed: ProductionPackage[]; absent: string[] }> {
  const lock = JSON.parse(await readFile(join(root, 'package-lock.json'), 'utf8')) as Lockfile;
  if (!lock.packages || (lock.lockfileVersion ?? 0) < 2) {
    throw new Error(
      `package-lock.json in ${root} has lockfileVersion ${lock.lockfileVersion ?? 'none'}: regenerate it with npm 7 or later (\`npm install\`)`,
    );
  }
  const installed: ProductionPackage[] = [];
  const absent: string[] = [];
  for (const [path, pkg] of Object.entries(lock.packages)) {
    if (!path.startsWith('node_modules/') || pkg.dev) continue;
    if (pkg.link)
      throw new Error(`${path} is a linked package (npm link / workspace): the image cannot hold it — install it from the registry first`);
    const exists = await stat(join(root, path)).then(
      (s) => s.isDirectory(),
      () => false,
    );
    if (exists) installed.push({ path, version: pkg.version ?? '' });
    else if (pkg.optional || pkg.devOptional) absent.push(path);
    else
      throw new Error(
        `${path} (${pkg.version ?? 'no version'}) is in package-lock.json but not installed in ${root}: run \`npm ci\` first`,
      );
  }
  return { installed: installed.sort((a, b) => (a.path < b.path ? -1 : 1)), absent };
}

/**
 * Copies the packages into `dest/node_modules`. Each package is copied without its nested
 * node_modules: nested packages are lockfile entries of their own and are copied only when
 * they are production packages too. Symlinks are kept as they are.
 */
export async function copyProductionModules(root: string, packages: ProductionPackage[], dest: string): Promise<void> {
  for (const { path } of packages) {
    const from = join(root, path);
    const nested = join(from, 'node_modules');
    await cp(from, join(dest, path), {
      recursive: true,
      verbatimSymlinks: true,
      filter: (src) => src !== nested,
    });
  }
}
