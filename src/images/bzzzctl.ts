// The bzzzctl image from this project's tree: what goes into it, its build hash, its tags, and
// the staging directory `docker build` gets as context.
import { createHash } from 'node:crypto';
import { cp, mkdir, readFile, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { hashTree, hashValue, isExcluded } from './hash.js';
import { copyProductionModules, productionPackages, type ProductionPackage } from './production-modules.js';

export const BZZZCTL_REPO = 'bzzz/bzzzctl';
export const BZZZCTL_DOCKERFILE = 'stacks/images/bzzzctl/Dockerfile';
/** The project's files that go into the image, relative to the project root (and the staging dir). */
export const APP_PATHS = ['bin', 'dist', 'package.json', 'package-lock.json'];
/**
 * Not part of the image: dist/code-cache/ is V8 code cache the CLI writes next to its bundle as it
 * runs (different on every machine; in the image /app is read-only to the bzzz user, so the CLI
 * runs without one), dist/bench/ holds benchmark bundles.
 */
export const APP_EXCLUDED = ['dist/code-cache', 'dist/bench'];

export interface BzzzctlInputs {
  version: string;
  dockerfile: string;
  packages: ProductionPackage[];
}

export async function readPackageVersion(root: string): Promise<string> {
  const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { version?: string };
  if (!pkg.version) throw new Error(`package.json in ${root} has no "version"`);
  return pkg.version;
}

/** Paths of APP_PATHS that do not exist under `root`. */
export async function missingAppPaths(root: string): Promise<string[]> {
  const checks = await Promise.all(
    [...APP_PATHS, 'dist/cli.js'].map(async (p) =>
      (await stat(join(root, p)).then(
        () => true,
        () => false,
      ))
        ? undefined
        : p,
    ),
  );
  return checks.filter((p): p is string => !!p);
}

export async function readInputs(root: string): Promise<BzzzctlInputs> {
  const [version, dockerfile, { installed }] = await Promise.all([
    readPackageVersion(root),
    readFile(join(root, BZZZCTL_DOCKERFILE), 'utf8'),
    productionPackages(root),
  ]);
  return { version, dockerfile, packages: installed };
}

/**
 * The build hash: the app files by content, the Dockerfile, the production package set (names
 * and versions from the lockfile: node_modules is what package-lock.json says it is) and the
 * base image's ID. `dir` is the project root or a staging directory of the same layout.
 */
export async function buildHash(dir: string, inputs: BzzzctlInputs, baseImageId: string): Promise<string> {
  return hashValue({
    image: BZZZCTL_REPO,
    app: await hashTree(dir, APP_PATHS, APP_EXCLUDED),
    dockerfile: createHash('sha256').update(inputs.dockerfile).digest('hex'),
    packages: inputs.packages.map((p) => `${p.path}@${p.version}`),
    base: baseImageId,
  });
}

/** `v0.1.0` and `latest` name the tree's own version and are tagged together; any other tag alone. */
export function tagsFor(tag: string, version: string): string[] {
  const own = `v${version}`;
  return tag === own || tag === 'latest' ? [`${BZZZCTL_REPO}:${own}`, `${BZZZCTL_REPO}:latest`] : [`${BZZZCTL_REPO}:${tag}`];
}

/** The version label for a tag: `v1.2.3` → 1.2.3; other tags carry the package's version. */
export function versionForTag(tag: string, version: string): string {
  return /^v\d+\.\d+\.\d+/.test(tag) ? tag.slice(1) : version;
}

/** Copies the app files, the Dockerfile and the production node_modules into `dir`. */
export async function stage(root: string, inputs: BzzzctlInputs, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const keep = (src: string) => !isExcluded(relative(root, src).split(sep).join('/'), APP_EXCLUDED);
  for (const p of APP_PATHS) await cp(join(root, p), join(dir, p), { recursive: true, verbatimSymlinks: true, filter: keep });
  await cp(join(root, BZZZCTL_DOCKERFILE), join(dir, 'Dockerfile'));
  await copyProductionModules(root, inputs.packages, dir);
}
