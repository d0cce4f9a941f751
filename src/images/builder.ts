// Builds one image at a time, each only when its tag does not already carry the build hash of
// its current inputs. Dependencies (the node-base image under bzzzctl) are ensured first and
// recorded as well; each image is ensured at most once per builder.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '../util/log.js';
import { EngineUnavailableError } from '../util/errors.js';
import type { ImageInfo, ImagePort } from '../swarm/images.js';
import { BZZZCTL_REPO, buildHash, missingAppPaths, readInputs, readPackageVersion, stage, tagsFor, versionForTag } from './bzzzctl.js';
import { ImageBuildError, type BuildStep } from './errors.js';
import { BUILD_HASH_LABEL, ROOTFS_HASH_LABEL, hashTree, hashValue } from './hash.js';
import { MmdebstrapError, mmdebstrapArgs, runMmdebstrap } from './mmdebstrap.js';
import { nodeBaseImage, type DebianImage, type NodeBinary } from './recipes.js';

export type Outcome = 'built' | 'cached';

export interface BuilderInit {
  port: ImagePort;
  /** Project root: bin/, dist/, package.json, stacks/images/. */
  root: string;
  node: NodeBinary;
  aptSources: string[];
  force: boolean;
  progress: (msg: string) => void;
  log: Logger;
  /** Clock for the durations in progress messages. */
  now?: () => number;
  /** Runs mmdebstrap (tests substitute a recorder). */
  runMmdebstrap?: typeof runMmdebstrap;
}

/** mmdebstrap's phases, warnings and errors (its other lines go to the debug log). */
const MMDEBSTRAP_PHASE =
  /^(I: (running apt-get update|downloading packages|extracting archives|installing|creating tarball|success in)|[WE]: )/;
/** Build steps that do work (the metadata steps are instant). */
const BUILD_STEP = /^Step \d+\/\d+ : (FROM|COPY|RUN) /;

const mb = (bytes: number) => `${Math.round(bytes / 1e6)} MB`;

export class ImageBuilder {
  /** Every image ensured, dependencies first, with what happened to it. */
  readonly outcomes = new Map<string, Outcome>();
  private readonly memo = new Map<string, Promise<string>>();
  private readonly now: () => number;

  constructor(private readonly init: BuilderInit) {
    this.now = init.now ?? Date.now;
  }

  /** Ensures a Debian-built image; resolves to its image ID. */
  ensureDebian(image: DebianImage): Promise<string> {
    return this.once(image.ref, () => this.debian(image));
  }

  /**
   * Ensures `bzzz/bzzzctl:<tag>` (and the node-base image under it); resolves to its image ID.
   * `latest` is the tree's own version: it is built (or found) as `v<version>`, tagged both ways.
   */
  async ensureBzzzctl(tag: string): Promise<string> {
    if (tag !== 'latest') return this.once(`${BZZZCTL_REPO}:${tag}`, () => this.bzzzctl(tag));
    const version = await this.step(`${BZZZCTL_REPO}:latest`, 'prepare', () => readPackageVersion(this.init.root));
    const own = `${BZZZCTL_REPO}:v${version}`;
    const id = await this.once(own, () => this.bzzzctl(`v${version}`));
    return this.record(`${BZZZCTL_REPO}:latest`, this.outcomes.get(own) ?? 'cached', id);
  }

  private once(ref: string, fn: () => Promise<string>): Promise<string> {
    let p = this.memo.get(ref);
    if (!p) {
      p = fn();
      this.memo.set(ref, p);
    }
    return p;
  }

  /**
   * Whether the image under `ref` can be used as it is: it carries the current build hash, or it
   * carries none at all — then it was pulled from a registry or built from the production
   * Dockerfile by the user, and an offline build must not replace it (unless forced).
   */
  private usable(ref: string, existing: ImageInfo | undefined, hash: string): existing is ImageInfo {
    if (!existing || this.init.force) return false;
    const label = existing.labels[BUILD_HASH_LABEL];
    if (label === undefined) {
      this.init.progress(
        `${ref}: present without a bzzz build hash (pulled or built elsewhere): used as it is — force a build to replace it`,
      );
      return true;
    }
    return label === hash;
  }

  private async debian(image: DebianImage): Promise<string> {
    const { port, root, progress } = this.init;
    const rootfsHash = hashValue({ rootfs: image.rootfs, extra: image.rootfsExtra });
    const hash = hashValue({ image: image.ref, rootfs: rootfsHash, dockerfile: await hashTree(root, [image.dockerfileDir]) });
    const existing = await port.inspectImage(image.ref);
    if (this.usable(image.ref, existing, hash)) return this.record(image.ref, 'cached', existing.id);

    const started = this.now();
    const rootfsId = (!this.init.force && (await this.findRootfs(rootfsHash))) || (await this.makeRootfs(image, rootfsHash));
    progress(`${image.ref}: docker build ${image.dockerfileDir} on the root filesystem`);
    const id = await this.step(image.ref, 'build', () =>
      port.buildImage({
        contextDir: join(root, image.dockerfileDir),
        tags: [image.ref],
        buildArgs: { ROOTFS: rootfsId },
        labels: {
          'org.opencontainers.image.title': image.title,
          'org.opencontainers.image.description': image.description,
          'org.opencontainers.image.version': image.version,
          'org.opencontainers.image.created': new Date(this.now()).toISOString(),
          'org.opencontainers.image.base.name': `debian:${image.rootfs.suite} (mmdebstrap ${image.rootfs.variant})`,
          [BUILD_HASH_LABEL]: hash,
        },
        onLine: (line) => this.buildLine(image.ref, line),
      }),
    );
    await this.finish(image.ref, id, existing, started);
    return id;
  }

  private async findRootfs(rootfsHash: string): Promise<string | undefined> {
    const found = await this.init.port.findImagesByLabel(ROOTFS_HASH_LABEL, rootfsHash);
    return found.find((i) => i.parentId === '')?.id;
  }

  private async makeRootfs(image: DebianImage, rootfsHash: string): Promise<string> {
    const { rootfs } = image;
    const what = `${rootfs.suite} ${rootfs.variant} + ${rootfs.packages.join(', ')}`;
    this.init.progress(`${image.ref}: mmdebstrap ${what} (${image.expect})`);
    const dir = await mkdtemp(join(tmpdir(), 'bzzz-rootfs-'));
    try {
      const tar = join(dir, 'rootfs.tar');
      const mmdebstrap = this.init.runMmdebstrap ?? runMmdebstrap;
      await this.step(image.ref, 'mmdebstrap', () =>
        mmdebstrap(mmdebstrapArgs(rootfs, tar, this.init.aptSources), (line) => {
          this.init.log.debug({ image: image.ref, line }, 'mmdebstrap');
          if (MMDEBSTRAP_PHASE.test(line)) this.init.progress(`${image.ref}: mmdebstrap: ${line.slice(3)}`);
        }),
      );
      this.init.progress(`${image.ref}: importing the root filesystem into Docker`);
      return await this.step(image.ref, 'import', () =>
        this.init.port.importRootfs({
          tarFile: tar,
          labels: { [ROOTFS_HASH_LABEL]: rootfsHash },
          message: `mmdebstrap ${what}`,
        }),
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  private async bzzzctl(tag: string): Promise<string> {
    const { port, root, progress } = this.init;
    const ref = `${BZZZCTL_REPO}:${tag}`;
    const base = nodeBaseImage(this.init.node);
    const baseId = await this.ensureDebian(base);

    await this.step(ref, 'prepare', () => this.ensureAppFiles(ref));
    const inputs = await this.step(ref, 'prepare', () => readInputs(root));
    const tags = tagsFor(tag, inputs.version);
    const hash = await this.step(ref, 'prepare', () => buildHash(root, inputs, baseId));
    const existing = await port.inspectImage(ref);
    if (this.usable(ref, existing, hash)) return this.record(ref, 'cached', existing.id);

    const started = this.now();
    if (tag !== `v${inputs.version}` && tag !== 'latest') {
      progress(`${ref}: building from this tree, whose package.json says version ${inputs.version}`);
    }
    const dir = await mkdtemp(join(tmpdir(), 'bzzz-bzzzctl-'));
    try {
      progress(`${ref}: staging bin/, dist/, package.json and ${inputs.packages.length} production packages`);
      await this.step(ref, 'stage', () => stage(root, inputs, dir));
      // Hash what was staged: the tree may have changed since the check above.
      const stagedHash = await buildHash(dir, inputs, baseId);
      progress(`${ref}: docker build (FROM ${base.ref})`);
      const id = await this.step(ref, 'build', () =>
        port.buildImage({
          contextDir: dir,
          tags,
          buildArgs: { BASE_IMAGE: baseId },
          labels: {
            'org.opencontainers.image.title': 'bzzzctl',
            'org.opencontainers.image.description':
              'BZZZ v2 on Docker Swarm: the bzzz-operator controller (controller run) and the BZZZ agent runtime (agent run)',
            'org.opencontainers.image.version': versionForTag(tag, inputs.version),
            'org.opencontainers.image.created': new Date(this.now()).toISOString(),
            'org.opencontainers.image.licenses': 'Apache-2.0',
            'org.opencontainers.image.base.name': base.ref,
            [BUILD_HASH_LABEL]: stagedHash,
          },
          onLine: (line) => this.buildLine(ref, line),
        }),
      );
      await this.finish(ref, id, existing, started);
      for (const t of tags) if (t !== ref) this.outcomes.set(t, 'built');
      return id;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /** bin/, package.json and the lockfile must exist; dist/ is built when missing. */
  private async ensureAppFiles(ref: string): Promise<void> {
    const { root, progress } = this.init;
    let missing = await missingAppPaths(root);
    if (missing.some((p) => p.startsWith('dist'))) {
      progress(`${ref}: dist/ is missing: building it (node scripts/build.mjs)`);
      await runNode(root, ['scripts/build.mjs']).catch((err: Error) => {
        throw new Error(
          `dist/ is missing in ${root} and \`npm run build\` failed: ${err.message} — run \`npm ci\` (it installs esbuild and builds dist/)`,
        );
      });
      missing = await missingAppPaths(root);
    }
    if (missing.length)
      throw new Error(`${missing.join(', ')} missing in ${root}: run bzzzctl from a checkout of the project with \`npm ci\` done`);
  }

  private buildLine(ref: string, line: string): void {
    this.init.log.debug({ image: ref, line }, 'docker build');
    if (BUILD_STEP.test(line)) this.init.progress(`${ref}: ${line.length > 120 ? `${line.slice(0, 117)}...` : line}`);
  }

  private async finish(ref: string, id: string, replaced: ImageInfo | undefined, started: number): Promise<void> {
    const { port, progress, log } = this.init;
    if (replaced && replaced.id !== id && (await port.removeImageIfUnused(replaced.id))) {
      log.debug({ image: ref, removed: replaced.id }, 'removed the image this build replaced');
    }
    const info = await port.inspectImage(ref);
    const seconds = (this.now() - started) / 1000;
    progress(`${ref}: built in ${seconds.toFixed(1)} s (${info ? mb(info.sizeBytes) : 'size unknown'})`);
    log.info({ image: ref, id, seconds, sizeBytes: info?.sizeBytes }, 'image built');
    this.record(ref, 'built', id);
  }

  private record(ref: string, outcome: Outcome, id: string): string {
    this.outcomes.set(ref, outcome);
    return id;
  }

  /** Runs one step; failures become ImageBuildError naming the image and the step. */
  private async step<T>(ref: string, step: BuildStep, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof ImageBuildError) throw err;
      if (err instanceof MmdebstrapError) throw new ImageBuildError(ref, step, `${err.message}\n→ ${err.hint}`, { cause: err });
      if (err instanceof EngineUnavailableError) throw err;
      throw new ImageBuildError(ref, step, err instanceof Error ? err.message : String(err), { cause: err });
    }
  }
}

function runNode(cwd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => {
      stderr += b.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`exit ${code}: ${stderr.trim().slice(-2000)}`))));
  });
}
