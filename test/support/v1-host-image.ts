// The v1 host image for the rollback-to-v1 tests and benchmark (issue 10), built offline on first
// use and cached by content: bzzz-test/v1-host:<hash of its inputs>.
//   1. bzzz/bzzzctl:v1-host-<checkout> from this tree (test/support/agent-image.ts: dist/ + production
//      node_modules; only rebuilt when they changed) — the v1 stand-in's agent runtime;
//   2. a root filesystem from mmdebstrap (Debian bookworm minbase + systemd, openssh-server,
//      haproxy, socat, iproute2, this machine's Node.js), imported untagged and found again by its hash label;
//   3. `docker build` of test/support/v1-host/Dockerfile on both (units, sshd settings).
// The tag names the hash of all three (rootfs recipe, agent image ID, the Dockerfile directory), so
// an image with the same inputs is never built twice; older v1-host tags are removed when unused.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describeNodeBinary } from '../../src/images/index.js';
import { BUILD_HASH_LABEL, ROOTFS_HASH_LABEL, hashTree, hashValue } from '../../src/images/hash.js';
import { DEFAULT_APT_SOURCES, mmdebstrapArgs, runMmdebstrap } from '../../src/images/mmdebstrap.js';
import type { DebianRootfs } from '../../src/images/recipes.js';
import { DockerImagePort } from '../../src/swarm/images.js';
import { shellQuote } from '../../src/util/shell.js';
import { ROOT } from '../integration/harness.js';
import { buildAgentImage } from './agent-image.js';

const exec = promisify(execFile);

export const V1_HOST_REPO = 'bzzz-test/v1-host';
/**
 * The bzzzctl tag the v1 hosts copy their agent runtime from: one per checkout (several worktrees
 * on one engine would otherwise rebuild a shared tag in turn, each with its own dist/).
 */
export const V1_AGENT_TAG = `v1-host-${createHash('sha256').update(ROOT).digest('hex').slice(0, 8)}`;
const CONTEXT_DIR = 'test/support/v1-host';

export const V1_HOST_PACKAGES = [
  'systemd',
  'systemd-sysv',
  'openssh-server',
  'haproxy',
  'socat',
  'iproute2',
  'ca-certificates',
  'libstdc++6',
];

let memo: Promise<string> | undefined;

/**
 * Ensures bzzz-test/v1-host:<hash> (and bzzz/bzzzctl:v1-host under it); resolves to the image
 * reference. Cached per process and, by its hash tag, across processes.
 */
export function ensureV1HostImage(onProgress: (msg: string) => void = () => {}): Promise<string> {
  memo ??= build(onProgress).catch((err: unknown) => {
    memo = undefined;
    throw err;
  });
  return memo;
}

async function build(progress: (msg: string) => void): Promise<string> {
  const port = new DockerImagePort();
  const started = Date.now();
  const node = await describeNodeBinary(process.execPath);
  const rootfs: DebianRootfs = {
    suite: 'bookworm',
    variant: 'minbase',
    packages: V1_HOST_PACKAGES,
    customize: [`cp ${shellQuote(node.path)} "$1/usr/local/bin/node"`, 'chmod 0755 "$1/usr/local/bin/node"'],
  };
  const rootfsHash = hashValue({ image: V1_HOST_REPO, rootfs, node: { version: node.version, size: node.size } });
  // The agent image and the root filesystem do not depend on each other: built side by side.
  const [agentId, rootfsId] = await Promise.all([
    buildAgentImage(V1_AGENT_TAG).then(async (agentRef) => {
      const agent = await port.inspectImage(agentRef);
      if (!agent) throw new Error(`${agentRef} is missing right after its build`);
      return agent.id;
    }),
    ensureRootfs(port, rootfs, rootfsHash, progress),
  ]);
  const hash = hashValue({ rootfs: rootfsId, agent: agentId, context: await hashTree(ROOT, [CONTEXT_DIR]) });
  const ref = `${V1_HOST_REPO}:${hash.slice(0, 16)}`;
  if (await port.inspectImage(ref)) return ref;

  progress(`${ref}: docker build ${CONTEXT_DIR}`);
  const lines: string[] = [];
  await port
    .buildImage({
      contextDir: join(ROOT, CONTEXT_DIR),
      tags: [ref],
      buildArgs: { ROOTFS: rootfsId, AGENT_IMAGE: agentId },
      labels: {
        'org.opencontainers.image.title': 'bzzz v1 host (test)',
        'org.opencontainers.image.description': 'Debian bookworm with systemd, sshd, HAProxy and the BZZZ v1 stand-in units',
        [BUILD_HASH_LABEL]: hash,
      },
      onLine: (l) => lines.push(l),
    })
    .catch((err: Error) => {
      throw new Error(`docker build of ${ref} failed: ${err.message}\n${lines.slice(-20).join('\n')}`, { cause: err });
    });
  await removeOlderTags(ref);
  progress(`${ref}: built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return ref;
}

/** The imported root filesystem with this recipe's hash label; made by mmdebstrap when there is none. */
async function ensureRootfs(
  port: DockerImagePort,
  rootfs: DebianRootfs,
  rootfsHash: string,
  progress: (msg: string) => void,
): Promise<string> {
  const found = await port.findImagesByLabel(ROOTFS_HASH_LABEL, rootfsHash);
  const id = found.find((i) => i.parentId === '')?.id;
  if (id !== undefined) return id;
  const what = `bookworm minbase + ${rootfs.packages.join(', ')}`;
  progress(`${V1_HOST_REPO}: mmdebstrap ${what}`);
  const dir = await mkdtemp(join(tmpdir(), 'bzzz-v1-rootfs-'));
  try {
    const tar = join(dir, 'rootfs.tar');
    const tail: string[] = [];
    await runMmdebstrap(mmdebstrapArgs(rootfs, tar, aptSources()), (line) => {
      tail.push(line);
      if (tail.length > 20) tail.shift();
    }).catch((err: Error) => {
      throw new Error(`mmdebstrap for ${V1_HOST_REPO} failed: ${err.message}\n${tail.join('\n')}`, { cause: err });
    });
    return await port.importRootfs({ tarFile: tar, labels: { [ROOTFS_HASH_LABEL]: rootfsHash }, message: `mmdebstrap ${what} (v1 host)` });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function aptSources(): string[] {
  const v = process.env.BZZZ_APT_SOURCES?.trim();
  return v
    ? v
        .split('|')
        .map((s) => s.trim())
        .filter(Boolean)
    : DEFAULT_APT_SOURCES;
}

/**
 * Other bzzz-test/v1-host tags (earlier inputs, or another checkout's): removed when no container
 * uses them (the engine refuses to untag an image a container runs).
 */
async function removeOlderTags(keep: string): Promise<void> {
  const { stdout } = await exec('docker', ['images', '--format', '{{.Repository}}:{{.Tag}}', V1_HOST_REPO]);
  for (const old of stdout.split('\n').filter((r) => r && r !== keep)) {
    await exec('docker', ['rmi', old]).catch(() => undefined);
  }
}
