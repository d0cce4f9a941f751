// The images a cluster spec needs, built offline when missing (no registry: Debian's packages via
// mmdebstrap, this machine's Node.js and this project's build), and cached: an image whose tag
// already carries the build hash of its current inputs is not rebuilt.
//
//   const { built, cached, missing } = await ensureImages({ images: ['bzzz/bzzzctl:v0.1.0', 'bzzz/postgres:15'] });
//
// Known images: bzzz/bzzzctl:<any tag> (this tree; `latest` and `v<package version>` are the
// same image), bzzz/node-base:<node major>-bookworm, bzzz/postgres:15, bzzz/redis:7. Any other
// image is reported `cached` when present and `missing` when not: the caller tells the user to
// pull or build it.
import { execFile } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { promisify } from 'node:util';
import type Docker from 'dockerode';
import { logger, type Logger } from '../util/log.js';
import { imagePortFrom, type ImagePort } from '../swarm/images.js';
import { ImageBuilder } from './builder.js';
import { DEFAULT_APT_SOURCES } from './mmdebstrap.js';
import {
  nodeBaseImage,
  nodeBaseRef,
  postgresImage,
  redisImage,
  type DebianImage,
  type DebianImageName,
  type NodeBinary,
} from './recipes.js';
import { classify } from './refs.js';

export { ImageBuildError, type BuildStep } from './errors.js';
export { BUILD_HASH_LABEL } from './hash.js';
export { parseRef } from './refs.js';
export type { ImagePort } from '../swarm/images.js';

export interface EnsureImagesOptions {
  /** The engine: a dockerode client or an ImagePort; default: DOCKER_HOST or the local socket. */
  docker?: Docker | ImagePort;
  /** Image references the spec needs. */
  images: string[];
  /** Rebuild the known images (and the node-base and root filesystems under them) even when cached. */
  force?: boolean;
  /** Human-readable progress lines (`bzzz/postgres:15: mmdebstrap: extracting archives...`). */
  onProgress?: (msg: string) => void;
  log?: Logger;
  /** Project root holding bin/, dist/, package.json and stacks/images/; default: found from this module. */
  root?: string;
  /** The Node.js binary copied into bzzz/node-base; default: the one running this process. */
  nodeBinary?: string;
  /** apt sources lines for mmdebstrap; default: BZZZ_APT_SOURCES (`|`-separated) or deb.debian.org bookworm, -updates, -security. */
  aptSources?: string[];
}

export interface EnsureImagesResult {
  /** Built by this call, dependencies first (e.g. bzzz/node-base before bzzz/bzzzctl). */
  built: string[];
  /** Present already and current. */
  cached: string[];
  /** Not present and not buildable here: pull or build them. */
  missing: string[];
}

export { findProjectRoot } from '../util/paths.js';
import { findProjectRoot } from '../util/paths.js';

export async function describeNodeBinary(path: string): Promise<NodeBinary> {
  const st = await stat(path);
  const version = path === process.execPath ? process.version : (await promisify(execFile)(path, ['--version'])).stdout.trim();
  return { path, version, size: st.size, mtimeMs: Math.round(st.mtimeMs) };
}

/** BZZZ_APT_SOURCES: `|`-separated apt sources lines for mmdebstrap (a local mirror), when set. */
export function aptSourcesFromEnv(): string[] | undefined {
  const v = process.env.BZZZ_APT_SOURCES?.trim();
  return v
    ? v
        .split('|')
        .map((s) => s.trim())
        .filter(Boolean)
    : undefined;
}

export async function ensureImages(opts: EnsureImagesOptions): Promise<EnsureImagesResult> {
  const port = imagePortFrom(opts.docker);
  const root = opts.root ?? findProjectRoot();
  const node = await describeNodeBinary(opts.nodeBinary ?? process.execPath);
  const log = opts.log ?? logger('images');
  const builder = new ImageBuilder({
    port,
    root,
    node,
    aptSources: opts.aptSources ?? aptSourcesFromEnv() ?? DEFAULT_APT_SOURCES,
    force: opts.force ?? false,
    progress: opts.onProgress ?? (() => {}),
    log,
  });
  const debian: Record<DebianImageName, () => DebianImage> = {
    'node-base': () => nodeBaseImage(node),
    postgres: postgresImage,
    redis: redisImage,
  };

  const present: string[] = [];
  const missing: string[] = [];
  // One at a time: mmdebstrap and docker build each keep the machine busy on their own.
  for (const ref of [...new Set(opts.images)]) {
    const b = classify(ref, nodeBaseRef(node));
    if (b.kind === 'bzzzctl') await builder.ensureBzzzctl(b.tag);
    else if (b.kind === 'debian') await builder.ensureDebian(debian[b.name]());
    else if (await port.inspectImage(ref)) present.push(ref);
    else missing.push(ref);
  }
  const of = (o: 'built' | 'cached') => [...builder.outcomes].filter(([, v]) => v === o).map(([k]) => k);
  return { built: of('built'), cached: [...of('cached'), ...present], missing };
}
