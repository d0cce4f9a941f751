// The v1 data archive of the migration's `complete` phase (issue 11): on every v1 host, in
// parallel, `tar -cf - -- PATH...` streamed over SSH, hashed with BLAKE3 as it streams (the
// plaintext tar, as `b3sum` of the decrypted file prints it), age-encrypted to the operator's
// recipients (src/crypto/age-stream.ts) and written as `<dir>/<cluster>-<host>-<UTC time>.tar.age`
// through a temp file and a rename, then `<same>.manifest.json` the same way. Memory stays flat
// whatever the size: the SSH window is the backpressure, one 64 KiB chunk is encrypted at a time.
//
// All or nothing: when any host fails, the error names every failing host and this run leaves no
// file behind (the other hosts' finished archives are removed too), so the journaled step can run
// again from scratch.
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AgeEncryptStream, parseAgeRecipient } from '../crypto/age-stream.js';
import { createHasher } from '../crypto/blake3.js';
import { BzzzError, InvalidInputError, errorMessage } from '../util/errors.js';
import { type Logger, silentLogger } from '../util/log.js';
import { checkPrivateKey, checkRemotePath, withSsh } from './ssh.js';
import type { V1HostTarget } from './types.js';

/** Default largest tar accepted per host: more is an error naming the host (never a silent cut). */
export const MAX_ARCHIVE_TAR_BYTES = 8 * 1024 ** 3;
export const ARCHIVE_MANIFEST_FORMAT = 'bzzz-v1-archive/1';

/** The port the migration reconciler calls (src/reconcilers/migration-reconciler.ts). */
export interface V1Archiver {
  archive(o: { cluster: string; side: { targets: readonly V1HostTarget[] }; paths: string[]; dir: string; recipients: string[] }): Promise<{
    files: string[];
  }>;
}

/** `<archive>.manifest.json`: what one archive holds and how to check it after decrypting. */
export interface V1ArchiveManifest {
  format: typeof ARCHIVE_MANIFEST_FORMAT;
  cluster: string;
  host: string;
  /** The archive's file name, beside the manifest. */
  archive: string;
  paths: string[];
  /** ISO time the run started (the same for every host of the run, as in the file names). */
  createdAt: string;
  /** Size of the plaintext tar. */
  tarBytes: number;
  /** BLAKE3 (hex, as b3sum prints it) of the plaintext tar: `age -d -i KEY FILE | b3sum`. */
  blake3: string;
  /** Size of the .tar.age file. */
  encryptedBytes: number;
  recipients: string[];
  /** tar exited 1 (a file changed while it was read): the archive is complete but that file may be inconsistent. */
  warning?: string;
}

/** Archiving failed on one or more hosts; `failures` names each with its reason. No file of the run is left. */
export class V1ArchiveError extends BzzzError {
  constructor(
    message: string,
    readonly failures: { host: string; error: string }[],
  ) {
    super(message);
  }
}

export interface SshV1ArchiverOptions {
  /** The SSH private key, or how to get the one of a cluster (spec.v1.ssh.privateKeySecret differs per cluster). */
  privateKey: string | ((cluster: string) => string | Promise<string>);
  log?: Logger;
  /** Largest plaintext tar per host. Default MAX_ARCHIVE_TAR_BYTES (8 GiB). */
  maxTarBytes?: number;
  /** tar silent (nothing to read while the writer waits) this long fails the host. Default the host's SSH timeout, at least 30 s. */
  idleTimeoutMs?: number;
  /** The run's clock (file names, createdAt). */
  now?: () => Date;
}

const FILE_COMPONENT = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** `20261201T032900Z`: the UTC time in a file name. */
export function archiveTimestamp(d: Date): string {
  return d
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replaceAll('-', '')
    .replaceAll(':', '');
}

/** `<cluster>-<host>-<time>.tar.age` */
export function archiveFileName(cluster: string, host: string, at: Date): string {
  return `${cluster}-${host}-${archiveTimestamp(at)}.tar.age`;
}

/** Checks the paths to archive: at least one, each absolute with no `..`, NUL or line break, no duplicates. */
export function checkArchivePaths(paths: readonly string[]): void {
  if (paths.length === 0) throw new InvalidInputError('spec.migration.archive.paths: nothing to archive (give at least one absolute path)');
  for (const p of paths) {
    try {
      checkRemotePath(p, 'archive');
    } catch {
      throw new InvalidInputError(
        `spec.migration.archive.paths: ${JSON.stringify(p)} is not an absolute path without '..', NUL or line breaks`,
      );
    }
  }
  if (new Set(paths).size !== paths.length) throw new InvalidInputError('spec.migration.archive.paths: a path is listed twice');
}

export class SshV1Archiver implements V1Archiver {
  private readonly log: Logger;
  constructor(private readonly opts: SshV1ArchiverOptions) {
    this.log = opts.log ?? silentLogger();
  }

  async archive(o: {
    cluster: string;
    side: { targets: readonly V1HostTarget[] };
    paths: string[];
    dir: string;
    recipients: string[];
  }): Promise<{ files: string[] }> {
    // Everything that can be checked is checked before any host is contacted.
    if (!FILE_COMPONENT.test(o.cluster))
      throw new InvalidInputError(`cluster name ${JSON.stringify(o.cluster)} cannot name an archive file`);
    checkArchivePaths(o.paths);
    if (o.recipients.length === 0)
      throw new InvalidInputError('spec.migration.archive.recipients: give at least one age recipient (age1…)');
    o.recipients.forEach((r, i) => parseAgeRecipient(r, `spec.migration.archive.recipients[${i}]`));
    if (o.side.targets.length === 0) return { files: [] };
    for (const t of o.side.targets)
      if (!FILE_COMPONENT.test(t.name)) throw new InvalidInputError(`v1 host name ${JSON.stringify(t.name)} cannot name an archive file`);
    if (!o.dir) throw new InvalidInputError('spec.migration.archive.dir: give the directory archives are written to');
    await mkdir(o.dir, { recursive: true, mode: 0o700 });

    const key = typeof this.opts.privateKey === 'string' ? this.opts.privateKey : await this.opts.privateKey(o.cluster);
    checkPrivateKey(key);
    const at = this.opts.now?.() ?? new Date();
    // The first host to fail stops the others: their archives would be removed anyway.
    const cancel = new AbortController();
    const settled = await Promise.allSettled(
      o.side.targets.map((h) =>
        this.archiveHost(h, key, o, at, cancel.signal).catch((err: unknown) => {
          if (!(err instanceof Cancelled)) cancel.abort();
          throw err;
        }),
      ),
    );
    const failures = settled.flatMap((s, i) =>
      s.status === 'rejected' && !(s.reason instanceof Cancelled)
        ? [
            {
              host: (o.side.targets[i] as V1HostTarget).name,
              error: stripHost(errorMessage(s.reason), (o.side.targets[i] as V1HostTarget).name),
            },
          ]
        : [],
    );
    const written = settled.flatMap((s) => (s.status === 'fulfilled' ? s.value : []));
    const cancelled = settled.filter((s) => s.status === 'rejected' && s.reason instanceof Cancelled).length;
    if (failures.length > 0) {
      await Promise.all(written.map((f) => rm(f, { force: true })));
      await syncDir(o.dir);
      const others =
        written.length > 0 || cancelled > 0 ? '; the other hosts were stopped or their archives of this run removed (all or nothing)' : '';
      throw new V1ArchiveError(
        `archiving the v1 data failed on ${failures.map((f) => `${f.host}: ${f.error}`).join('; ')}${others}`,
        failures,
      );
    }
    await syncDir(o.dir);
    return { files: written };
  }

  /** One host: resolves with [archive, manifest] once both are renamed into place; on failure leaves nothing. */
  private async archiveHost(
    h: V1HostTarget,
    privateKey: string,
    o: { cluster: string; paths: string[]; dir: string; recipients: string[] },
    at: Date,
    signal: AbortSignal,
  ): Promise<string[]> {
    const name = archiveFileName(o.cluster, h.name, at);
    const final = join(o.dir, name);
    const manifestPath = `${final}.manifest.json`;
    const tmp = join(o.dir, `.${name}.${randomBytes(6).toString('hex')}.tmp`);
    const max = this.opts.maxTarBytes ?? MAX_ARCHIVE_TAR_BYTES;
    const idleTimeoutMs = this.opts.idleTimeoutMs ?? Math.max(30_000, h.timeoutMs);
    const started = Date.now();
    let renamed = false;
    try {
      const { hash, tarBytes, warning } = await withSsh(h, privateKey, async (conn) => {
        if (signal.aborted) throw new Cancelled();
        const run = await conn.execStream(['tar', '-cf', '-', '--', ...o.paths], { idleTimeoutMs });
        const hasher = createHasher();
        const meter = new Transform({
          transform(chunk: Buffer, _e: BufferEncoding, cb: TransformCallback) {
            hasher.update(chunk);
            if (hasher.bytes > max) return cb(new Error(`the tar of ${o.paths.join(' ')} is larger than the ${max} bytes allowed`));
            cb(null, chunk);
          },
        });
        try {
          await pipeline(run.stdout, meter, new AgeEncryptStream(o.recipients), createWriteStream(tmp, { flags: 'wx', mode: 0o600 }), {
            signal,
          });
        } catch (err) {
          run.abort();
          if (signal.aborted) throw new Cancelled();
          // tar's own failure (exit 2 with its message) explains a cut stream better than the cut does.
          const r = await Promise.race([run.result, new Promise<undefined>((res) => setTimeout(res, 500, undefined).unref())]).catch(
            () => undefined,
          );
          if (r && r.code !== 0 && r.code !== null) throw new Error(`tar exited ${r.code}: ${oneLine(r.stderr)}`);
          throw err;
        }
        const r = await run.result;
        if (r.code === 1)
          return {
            hash: hasher.digestHex(),
            tarBytes: hasher.bytes,
            warning: `tar exited 1 (a file changed as it was read): ${oneLine(r.stderr)}`,
          };
        if (r.code !== 0) throw new Error(`tar exited ${r.code === null ? `on signal ${r.signal ?? '?'}` : r.code}: ${oneLine(r.stderr)}`);
        return { hash: hasher.digestHex(), tarBytes: hasher.bytes, warning: undefined };
      });
      if (signal.aborted) throw new Cancelled();
      await fsyncFile(tmp);
      const encryptedBytes = (await stat(tmp)).size;
      await rename(tmp, final);
      renamed = true;
      const manifest: V1ArchiveManifest = {
        format: ARCHIVE_MANIFEST_FORMAT,
        cluster: o.cluster,
        host: h.name,
        archive: basename(final),
        paths: [...o.paths],
        createdAt: at.toISOString(),
        tarBytes,
        blake3: hash,
        encryptedBytes,
        recipients: [...o.recipients],
        ...(warning ? { warning } : {}),
      };
      await writeFileAtomic(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
      if (warning) this.log.warn({ host: h.name, archive: final, warning }, 'v1 archive written with a tar warning');
      this.log.info({ host: h.name, archive: final, tarBytes, encryptedBytes, blake3: hash, ms: Date.now() - started }, 'v1 data archived');
      return [final, manifestPath];
    } catch (err) {
      await rm(tmp, { force: true });
      if (renamed) await rm(final, { force: true });
      await rm(manifestPath, { force: true });
      if (!(err instanceof Cancelled)) this.log.warn({ host: h.name, error: errorMessage(err) }, 'v1 archive failed');
      throw err;
    }
  }
}

/** Another host failed first: this one stopped (not a failure of its own). */
class Cancelled extends Error {
  constructor() {
    super('stopped: another host failed');
  }
}

async function fsyncFile(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r').catch(() => undefined);
  if (!fh) return;
  try {
    await fh.sync();
  } catch {
    // some file systems refuse fsync on a directory
  } finally {
    await fh.close();
  }
}

/** A temp file beside `path` (0600, fsynced), renamed over it. */
async function writeFileAtomic(path: string, content: string): Promise<void> {
  const tmp = join(path, '..', `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const fh = await open(tmp, 'wx', 0o600);
    try {
      await fh.writeFile(content, 'utf8');
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

function oneLine(s: string): string {
  const t = s
    .split('\n')
    .filter((l) => l.trim() && !/Removing leading `\/' from member names/.test(l))
    .join(' | ')
    .trim();
  return t.length > 500 ? `${t.slice(0, 500)}…` : t || '(no message)';
}

/** SshError messages start with the host's name (and address); the failure already names the host. */
function stripHost(message: string, host: string): string {
  const m = new RegExp(`^${host.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?: \\([^)]*\\))?: `).exec(message);
  return m ? message.slice(m[0].length) : message;
}
