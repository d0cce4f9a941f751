// Images on the Docker Engine: inspect, import a root filesystem tar, build from a directory, and
// remove a replaced image. Like the rest of src/swarm this is the only code that calls the
// Engine API for them; src/images holds the recipes and decides what to build.
//
// dockerode rather than the docker CLI: the CLI's `docker build` is BuildKit/buildx by default
// from CLI 23 on (this machine's CLI is 28) and its behaviour with local base images depends on
// the installed plugins, while POST /build without `version=2` is the classic builder on every
// engine: it resolves FROM against local images and never pulls unless asked. The API also
// honours DOCKER_HOST and gives structured progress and errors.
import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import Docker from 'dockerode';
import { BzzzError, EngineUnavailableError } from '../util/errors.js';
import { EngineCallError } from './errors.js';

export interface ImageInfo {
  id: string;
  /** '' for an imported root filesystem; the image it was built FROM otherwise. */
  parentId: string;
  repoTags: string[];
  labels: Record<string, string>;
  sizeBytes: number;
  created: string;
}

export interface ImportRequest {
  /** A root filesystem as an uncompressed tar file (mmdebstrap's output). */
  tarFile: string;
  /** Labels set on the imported image (the import's `--change LABEL`). */
  labels: Record<string, string>;
  /** Commit message shown by `docker history`. */
  message: string;
}

export interface BuildRequest {
  /** Directory sent as the build context; its `Dockerfile` is used. */
  contextDir: string;
  tags: string[];
  labels: Record<string, string>;
  buildArgs: Record<string, string>;
  /** Each line of the builder's output (Step n/m ..., command output). */
  onLine?: (line: string) => void;
}

/** What src/images needs from the engine. */
export interface ImagePort {
  /** undefined when no image has that reference. */
  inspectImage(ref: string): Promise<ImageInfo | undefined>;
  /** Images carrying `key=value`, untagged parents included. */
  findImagesByLabel(key: string, value: string): Promise<ImageInfo[]>;
  /** Imports the tar untagged; returns the image ID. */
  importRootfs(req: ImportRequest): Promise<string>;
  /** Classic builder; local base images only (never pulls). Returns the image ID. */
  buildImage(req: BuildRequest): Promise<string>;
  /** Removes an image no container and no other tag uses; false when the engine refuses. */
  removeImageIfUnused(id: string): Promise<boolean>;
}

/** The engine refused or failed an image call (the builder's own error text is kept). */
export class ImageCallError extends BzzzError {
  constructor(
    readonly call: string,
    readonly target: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${call} ${target}: ${message}`, options);
  }
}

interface ModemError {
  statusCode?: number;
  json?: { message?: string } | null;
  reason?: string;
  message?: string;
  code?: string;
}
interface ProgressEvent {
  stream?: string;
  status?: string;
  error?: string;
  errorDetail?: { message?: string };
  aux?: { ID?: string };
}

function translate(call: string, target: string, err: unknown): Error {
  if (err instanceof BzzzError) return err;
  const e = err as ModemError;
  if (e.code === 'ENOENT' || e.code === 'ECONNREFUSED' || e.code === 'EACCES') {
    return new EngineUnavailableError(
      `cannot reach the Docker engine (${e.code}) for ${call} ${target}: start dockerd and make sure DOCKER_HOST or /var/run/docker.sock points at it — \`npm run swarm:up\` installs and starts one on Debian`,
      { cause: err },
    );
  }
  return new EngineCallError(call, target, e.statusCode, e.json?.message ?? e.reason ?? e.message ?? String(err), err);
}

function toInfo(i: Docker.ImageInspectInfo | Docker.ImageInfo): ImageInfo {
  const tags = 'RepoTags' in i && i.RepoTags ? i.RepoTags : [];
  const labels = ('Config' in i ? i.Config?.Labels : (i as Docker.ImageInfo).Labels) ?? {};
  const created = typeof i.Created === 'number' ? new Date(i.Created * 1000).toISOString() : String(i.Created);
  const parentId = 'Parent' in i ? i.Parent : (i as Docker.ImageInfo).ParentId;
  return { id: i.Id, parentId: parentId ?? '', repoTags: tags.filter((t) => t !== '<none>:<none>'), labels, sizeBytes: i.Size, created };
}

/** Reads a progress stream (import, build) to its end; throws on an `error` event. */
function follow(docker: Docker, stream: NodeJS.ReadableStream, onEvent: (ev: ProgressEvent) => void): Promise<ProgressEvent[]> {
  return new Promise((resolve, reject) => {
    docker.modem.followProgress(
      stream,
      (err: Error | null, out: ProgressEvent[]) => {
        if (err) return reject(err);
        const failed = out.find((ev) => ev.error);
        if (failed) return reject(new Error(failed.errorDetail?.message ?? failed.error));
        resolve(out);
      },
      onEvent,
    );
  });
}

/** An uncompressed tar of `dir`'s contents (the build context), streamed by the system tar. */
function tarDirectory(dir: string): { stream: Readable; done: Promise<void> } {
  const child = spawn('tar', ['-C', dir, '-c', '.'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => {
    stderr += b.toString();
  });
  const done = new Promise<void>((resolve, reject) => {
    child.on('error', (err) => reject(new BzzzError(`cannot pack the build context ${dir} with tar: ${err.message}`, { cause: err })));
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new BzzzError(`tar of the build context ${dir} exited ${code}: ${stderr.trim()}`)),
    );
  });
  return { stream: child.stdout, done };
}

export class DockerImagePort implements ImagePort {
  constructor(readonly docker: Docker = new Docker()) {}

  async inspectImage(ref: string): Promise<ImageInfo | undefined> {
    try {
      return toInfo(await this.docker.getImage(ref).inspect());
    } catch (err) {
      if ((err as ModemError).statusCode === 404) return undefined;
      throw translate('inspect image', ref, err);
    }
  }

  async findImagesByLabel(key: string, value: string): Promise<ImageInfo[]> {
    try {
      const list = await this.docker.listImages({ all: true, filters: JSON.stringify({ label: [`${key}=${value}`] }) });
      return list.map(toInfo);
    } catch (err) {
      throw translate('list images', `${key}=${value}`, err);
    }
  }

  async importRootfs(req: ImportRequest): Promise<string> {
    const changes = Object.entries(req.labels).map(([k, v]) => `LABEL ${k}=${JSON.stringify(v)}`);
    try {
      const stream = await this.docker.importImage(createReadStream(req.tarFile), { changes, message: req.message });
      const out = await follow(this.docker, stream, () => {});
      const id = out.map((ev) => ev.status).find((s): s is string => !!s && s.startsWith('sha256:'));
      if (!id) throw new ImageCallError('import', req.tarFile, 'the engine returned no image ID');
      return id;
    } catch (err) {
      throw translate('import', req.tarFile, err);
    }
  }

  async buildImage(req: BuildRequest): Promise<string> {
    const target = req.tags[0] ?? req.contextDir;
    const context = tarDirectory(req.contextDir);
    try {
      // `t` repeated names several tags (the modem writes an array as t=a&t=b; the types say string).
      const stream = await this.docker.buildImage(context.stream, {
        t: req.tags,
        labels: req.labels,
        buildargs: req.buildArgs,
        rm: true,
        forcerm: true,
        pull: false,
      } as unknown as Docker.ImageBuildOptions);
      let partial = '';
      const out = await follow(this.docker, stream, (ev) => {
        if (!ev.stream || !req.onLine) return;
        const lines = (partial + ev.stream).split('\n');
        partial = lines.pop() ?? '';
        for (const l of lines) if (l.trim()) req.onLine(l);
      });
      await context.done;
      const id = out.map((ev) => ev.aux?.ID).find((s): s is string => !!s);
      if (!id) throw new ImageCallError('build', target, 'the builder returned no image ID');
      return id;
    } catch (err) {
      context.stream.destroy();
      throw translate('build', target, err);
    }
  }

  async removeImageIfUnused(id: string): Promise<boolean> {
    try {
      await this.docker.getImage(id).remove({ noprune: false });
      return true;
    } catch (err) {
      const code = (err as ModemError).statusCode;
      if (code === 409 || code === 404) return false; // in use, tagged elsewhere, or already gone
      throw translate('remove image', id, err);
    }
  }
}

function isImagePort(x: Docker | ImagePort): x is ImagePort {
  return typeof (x as Partial<ImagePort>).importRootfs === 'function';
}

/** Accepts what callers hold: nothing (default engine), a dockerode client, or a port. */
export function imagePortFrom(docker?: Docker | ImagePort): ImagePort {
  if (!docker) return new DockerImagePort();
  if (isImagePort(docker)) return docker;
  return new DockerImagePort(docker);
}
