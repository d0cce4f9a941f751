// What each image is made of. Images from Debian's packages are built in two steps:
//   1. a root filesystem from mmdebstrap (packages + customize hooks), imported untagged;
//   2. `docker build` of stacks/images/<name>/Dockerfile FROM that root filesystem, which adds the
//      entrypoint and the image settings (ENV, ENTRYPOINT, CMD, EXPOSE, VOLUME, HEALTHCHECK).
// Step 2 is a Dockerfile rather than `docker import --change` because the import on Engine 20.10
// refuses STOPSIGNAL (postgres needs SIGINT for a fast shutdown), and a Dockerfile reads like the
// official images it stands in for. A changed entrypoint reuses the root filesystem (cached by
// its own hash), so only a changed package list pays for mmdebstrap again.
import { shellQuote } from '../util/shell.js';

export interface DebianRootfs {
  suite: 'bookworm';
  variant: 'minbase';
  packages: string[];
  /** mmdebstrap customize hooks: shell commands run with the root directory as "$1". */
  customize: string[];
}

export type DebianImageName = 'node-base' | 'postgres' | 'redis';

export interface DebianImage {
  name: DebianImageName;
  ref: string;
  /** Project-relative directory holding the Dockerfile (and the files it copies). */
  dockerfileDir: string;
  rootfs: DebianRootfs;
  /** Inputs of the root filesystem that are not in `rootfs` itself (e.g. the Node.js binary). */
  rootfsExtra: Record<string, unknown>;
  title: string;
  description: string;
  version: string;
  /** Rough duration of the mmdebstrap step, for the progress message. */
  expect: string;
}

export interface NodeBinary {
  path: string;
  /** `node --version` of that binary, e.g. v20.20.2. */
  version: string;
  size: number;
  mtimeMs: number;
}

export function nodeMajor(version: string): string {
  return version.replace(/^v/, '').split('.')[0] ?? '';
}

export function nodeBaseRef(node: Pick<NodeBinary, 'version'>): string {
  return `bzzz/node-base:${nodeMajor(node.version)}-bookworm`;
}

/**
 * Debian bookworm minbase + this machine's Node.js binary (NodeSource and nodejs.org builds link
 * against glibc ≤ 2.28, which bookworm's 2.36 satisfies; the hook proves it by running it in the
 * chroot). tini is PID 1 in the bzzzctl image: it forwards SIGTERM to node and reaps zombies.
 */
export function nodeBaseImage(node: NodeBinary): DebianImage {
  const check = `v=$(chroot "$1" /usr/local/bin/node --version) && [ "$v" = ${shellQuote(node.version)} ] || { echo ${shellQuote(`E: the Node.js binary ${node.path} does not run on Debian bookworm (see above): use a Node.js ${nodeMajor(node.version)} build for glibc 2.36 or older (NodeSource, nodejs.org or Debian's nodejs) — pass nodeBinary`)} >&2; exit 1; }`;
  return {
    name: 'node-base',
    ref: nodeBaseRef(node),
    dockerfileDir: 'stacks/images/node-base',
    rootfs: {
      suite: 'bookworm',
      variant: 'minbase',
      packages: ['ca-certificates', 'libstdc++6', 'tini'],
      customize: [`cp ${shellQuote(node.path)} "$1/usr/local/bin/node"`, 'chmod 0755 "$1/usr/local/bin/node"', check],
    },
    rootfsExtra: { node: { version: node.version, size: node.size, mtimeMs: node.mtimeMs } },
    title: 'bzzz node-base',
    description: `Debian bookworm (minbase) with Node.js ${node.version} and tini, built offline with mmdebstrap`,
    version: node.version.replace(/^v/, ''),
    expect: 'about 20–60 s',
  };
}

/** Debian's postgresql-15 with an entrypoint that follows the official postgres image's contract. */
export function postgresImage(): DebianImage {
  return {
    name: 'postgres',
    ref: 'bzzz/postgres:15',
    dockerfileDir: 'stacks/images/postgres',
    rootfs: {
      suite: 'bookworm',
      variant: 'minbase',
      packages: ['postgresql-15'],
      customize: [
        // postgresql-common creates a "main" cluster on install; the entrypoint runs initdb into
        // PGDATA instead, so drop it (its data would only weigh on the image).
        'rm -rf "$1/etc/postgresql/15/main" "$1/var/lib/postgresql/15/main"',
      ],
    },
    rootfsExtra: {},
    title: 'bzzz postgres',
    description:
      "PostgreSQL 15 from Debian bookworm's postgresql-15, built offline with mmdebstrap; honours POSTGRES_DB, POSTGRES_USER[_FILE], POSTGRES_PASSWORD[_FILE]",
    version: '15',
    expect: 'about 30–90 s',
  };
}

/** Debian's redis-server (7.0), protected mode off, data in /data. */
export function redisImage(): DebianImage {
  return {
    name: 'redis',
    ref: 'bzzz/redis:7',
    dockerfileDir: 'stacks/images/redis',
    rootfs: { suite: 'bookworm', variant: 'minbase', packages: ['redis-server'], customize: [] },
    rootfsExtra: {},
    title: 'bzzz redis',
    description: "Redis 7 from Debian bookworm's redis-server, built offline with mmdebstrap; listens on 6379, data in /data",
    version: '7',
    expect: 'about 20–60 s',
  };
}
