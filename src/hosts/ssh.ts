// A small SSH client for the v1 side (ssh2): one connection per host and operation, the host key
// pinned by its SHA-256 fingerprint, a timeout for connecting and for each command, commands built
// from an argv (every argument one single-quoted word: no input can add a command), output
// bounded, HAProxy's stats socket reached through the connection (streamlocal), files written
// atomically over SFTP. The private key is never logged and never put in an error.
import { createHash, randomBytes } from 'node:crypto';
import { type Duplex, type Readable, Transform, type TransformCallback, pipeline } from 'node:stream';
import ssh2 from 'ssh2';
import type { ClientChannel, ConnectConfig, SFTPWrapper } from 'ssh2';
import { BzzzError, InvalidInputError, errorMessage } from '../util/errors.js';
import type { SshTarget } from './types.js';

const { Client, utils } = ssh2;

/** Connecting or talking to a host over SSH failed; the message names the host. */
export class SshError extends BzzzError {
  constructor(
    readonly host: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The host presented another key than the pinned one: nothing was sent to it. */
export class HostKeyMismatchError extends SshError {
  constructor(
    host: string,
    message: string,
    readonly presented: string,
    readonly expected: string,
  ) {
    super(host, message);
  }
}

/** Output kept per stream of a command; more is dropped and `truncated` says so. */
export const MAX_OUTPUT_BYTES = 64 * 1024;

export interface ExecResult {
  /** Exit code, or null when the command was ended by a signal (then `signal` names it). */
  code: number | null;
  signal?: string;
  stdout: string;
  stderr: string;
  /** stdout or stderr went over the limit and was cut (the text ends with a note saying so). */
  truncated: boolean;
}

export interface ExecOptions {
  /** Overrides the target's timeout for this command. */
  timeoutMs?: number;
  maxOutputBytes?: number;
  /** Written to the command's stdin, which is then closed. */
  stdin?: string;
}

export interface ExecStreamOptions {
  /** The command is ended when its stdout stays silent this long while the reader waits for it. Default the target's timeout. */
  idleTimeoutMs?: number;
  /** stderr kept (more is dropped, `truncated` says so). Default MAX_OUTPUT_BYTES. */
  maxStderrBytes?: number;
}

/** A command whose stdout is a stream: read it (pipeline) and await `result`. */
export interface ExecStream {
  /** The command's stdout, unbounded: a reader that stops reading holds the command back (SSH window). */
  stdout: Readable;
  /** Exit code, signal and bounded stderr once the command ended (stdout is ''); rejects on the idle timeout or a channel error. */
  result: Promise<ExecResult>;
  /** Kills the command (when sshd allows signals) and closes the channel. */
  abort(): void;
}

/** `SHA256:` and the unpadded base64 of the SHA-256 of the key blob: what `ssh-keygen -lf` prints. */
export function sshFingerprint(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

/** Compares fingerprints the way people copy them: with or without the trailing `=`. */
export function sameFingerprint(a: string, b: string): boolean {
  return a.replace(/=+$/, '') === b.replace(/=+$/, '');
}

/** The key type a public key blob starts with (ssh-ed25519, ecdsa-sha2-nistp256, ssh-rsa). */
export function keyType(keyBlob: Buffer): string {
  if (keyBlob.length < 4) return 'unknown';
  const len = keyBlob.readUInt32BE(0);
  if (len > 64 || 4 + len > keyBlob.length) return 'unknown';
  return keyBlob.subarray(4, 4 + len).toString('latin1');
}

/** One POSIX shell word: single-quoted, `'` written as `'\''`. NUL and line breaks are refused. */
export function quoteArg(arg: string): string {
  if (/[\0\n\r]/.test(arg)) throw new InvalidInputError(`refusing a command argument with a NUL or line break: ${JSON.stringify(arg)}`);
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}

/** The command line sent over SSH: each argument quoted on its own, so none is ever parsed by the remote shell. */
export function buildCommand(argv: readonly string[]): string {
  if (argv.length === 0) throw new InvalidInputError('refusing an empty command');
  return argv.map(quoteArg).join(' ');
}

/** `10s`, `1.5s`, `250ms`: how durations read in messages. */
export function formatMs(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  const s = ms / 1000;
  return `${Number.isInteger(s) ? s : s.toFixed(1)}s`;
}

/** Checks the private key parses (OpenSSH or PEM, not encrypted) without ever showing it. */
export function checkPrivateKey(privateKey: string, what = 'the SSH private key'): void {
  const parsed = utils.parseKey(privateKey);
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (key instanceof Error || !key) {
    const why =
      key instanceof Error && /encrypted|passphrase/i.test(key.message)
        ? 'it is encrypted (use a key without passphrase)'
        : 'it is not an OpenSSH or PEM private key';
    throw new InvalidInputError(
      `${what} cannot be used: ${why}; put the private key (the file ssh-keygen wrote, not the .pub) in the secret spec.v1.ssh.privateKeySecret names`,
    );
  }
  if (!key.isPrivateKey())
    throw new InvalidInputError(`${what} is a public key: put the private key in the secret spec.v1.ssh.privateKeySecret names`);
}

function where(t: SshTarget): string {
  return `${t.name} (${t.user}@${t.address}:${t.port})`;
}

/** One SSH connection to one host, open for one operation. */
export class SshConnection {
  private sftpSession?: Promise<SFTPWrapper>;
  private closed = false;

  private constructor(
    readonly target: SshTarget,
    private readonly client: InstanceType<typeof Client>,
  ) {
    client.on('close', () => {
      this.closed = true;
    });
    // Errors after the handshake surface through the pending call; an unhandled 'error' event must not crash the process.
    client.on('error', () => undefined);
  }

  /** Connects and authenticates; refuses any host key but the pinned one. */
  static connect(target: SshTarget, privateKey: string): Promise<SshConnection> {
    checkPrivateKey(privateKey);
    const client = new Client();
    let presented: { fingerprint: string; type: string } | undefined;
    const config: ConnectConfig = {
      host: target.address,
      port: target.port,
      username: target.user,
      privateKey,
      readyTimeout: target.timeoutMs,
      keepaliveInterval: Math.min(5000, target.timeoutMs),
      keepaliveCountMax: 3,
      hostVerifier: (key: Buffer) => {
        presented = { fingerprint: sshFingerprint(key), type: keyType(key) };
        return sameFingerprint(presented.fingerprint, target.hostKey);
      },
    };
    return new Promise((resolve, reject) => {
      let settled = false;
      // readyTimeout covers the SSH handshake; this covers a TCP connect the kernel keeps trying.
      const guard = setTimeout(
        () => fail(new SshError(target.name, `${where(target)}: connect timeout after ${formatMs(target.timeoutMs)}`)),
        target.timeoutMs + 1000,
      );
      const fail = (err: SshError) => {
        if (settled) return;
        settled = true;
        clearTimeout(guard);
        client.removeAllListeners('ready');
        client.on('error', () => undefined);
        client.end();
        client.destroy();
        reject(err);
      };
      client.once('ready', () => {
        if (settled) return;
        settled = true;
        clearTimeout(guard);
        client.removeAllListeners('error');
        resolve(new SshConnection(target, client));
      });
      client.once('error', (err: Error & { level?: string; code?: string }) => {
        if (presented && !sameFingerprint(presented.fingerprint, target.hostKey)) {
          fail(
            new HostKeyMismatchError(
              target.name,
              `${where(target)}: host key refused: the host presented the ${presented.type} key ${presented.fingerprint}, but the spec pins ${target.hostKey}. ` +
                `Nothing was sent to it. If the host was reinstalled or its key was rotated, check the new key on the host itself ` +
                `(ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub) and update the hostKey of ${target.name} in spec.v1; otherwise something else answers at this address.`,
              presented.fingerprint,
              target.hostKey,
            ),
          );
          return;
        }
        fail(new SshError(target.name, `${where(target)}: ${describeConnectError(err, target)}`, { cause: scrub(err) }));
      });
      try {
        client.connect(config);
      } catch (err) {
        fail(new SshError(target.name, `${where(target)}: ${errorMessage(err)}`));
      }
    });
  }

  /** Runs argv on the host (each argument quoted); resolves with its exit code and bounded output, also when it fails. */
  exec(argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
    const command = buildCommand(argv);
    const timeoutMs = opts.timeoutMs ?? this.target.timeoutMs;
    const max = opts.maxOutputBytes ?? MAX_OUTPUT_BYTES;
    const shown = argv.join(' ');
    return new Promise((resolve, reject) => {
      let channel: ClientChannel | undefined;
      let done = false;
      const timer = setTimeout(() => {
        finish(new SshError(this.target.name, `${this.target.name}: \`${shown}\` did not finish within ${formatMs(timeoutMs)}`));
        channel?.signal('KILL');
        channel?.close();
      }, timeoutMs);
      const out = new Bounded(max);
      const err = new Bounded(max);
      let code: number | null = null;
      let signal: string | undefined;
      const finish = (error?: Error) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        if (error) return reject(error);
        resolve({
          code,
          ...(signal ? { signal } : {}),
          stdout: out.text('stdout'),
          stderr: err.text('stderr'),
          truncated: out.truncated || err.truncated,
        });
      };
      if (this.closed) return finish(new SshError(this.target.name, `${this.target.name}: the SSH connection is closed`));
      this.client.exec(command, (e, ch) => {
        if (e) return finish(new SshError(this.target.name, `${this.target.name}: could not run \`${shown}\`: ${e.message}`));
        channel = ch;
        if (done) return void ch.close();
        ch.on('data', (b: Buffer) => out.push(b));
        ch.stderr.on('data', (b: Buffer) => err.push(b));
        ch.on('exit', (c: number | null, sig?: string) => {
          code = typeof c === 'number' ? c : null;
          if (sig) signal = sig;
        });
        ch.on('close', () => finish());
        ch.on('error', (ce: Error) => finish(new SshError(this.target.name, `${this.target.name}: \`${shown}\`: ${ce.message}`)));
        if (opts.stdin !== undefined) ch.end(opts.stdin);
        else ch.end();
      });
    });
  }

  /**
   * Runs argv on the host (each argument quoted) with its stdout as a stream, not collected: for
   * large output (a tar of a data directory). Nothing bounds the stdout here; the reader counts.
   */
  execStream(argv: readonly string[], opts: ExecStreamOptions = {}): Promise<ExecStream> {
    const command = buildCommand(argv);
    const idleMs = opts.idleTimeoutMs ?? this.target.timeoutMs;
    const shown = argv.length > 6 ? `${argv.slice(0, 6).join(' ')} …` : argv.join(' ');
    const name = this.target.name;
    return new Promise((resolveStream, rejectStream) => {
      if (this.closed) return rejectStream(new SshError(name, `${name}: the SSH connection is closed`));
      this.client.exec(command, (e, ch) => {
        if (e) return rejectStream(new SshError(name, `${name}: could not run \`${shown}\`: ${e.message}`));
        const err = new Bounded(opts.maxStderrBytes ?? MAX_OUTPUT_BYTES);
        let code: number | null = null;
        let signal: string | undefined;
        let lastData = Date.now();
        let settle: { resolve: (r: ExecResult) => void; reject: (e: Error) => void } | undefined;
        let outcome: { ok: ExecResult } | { error: Error } | undefined;
        const finish = (o: { ok: ExecResult } | { error: Error }) => {
          if (outcome) return;
          outcome = o;
          clearInterval(idle);
          if (settle) 'ok' in o ? settle.resolve(o.ok) : settle.reject(o.error);
        };
        const result = new Promise<ExecResult>((resolve, reject) => {
          settle = { resolve, reject };
        });
        result.catch(() => undefined); // handled by the caller; never an unhandled rejection
        const abort = () => {
          try {
            ch.signal('KILL');
          } catch {
            // sshd may refuse signals; closing the channel ends the session (and tar gets SIGPIPE)
          }
          ch.close();
        };
        // stdout goes through a pass-through that notes when bytes arrive (a 'data' listener on the
        // channel would start the flow before the caller reads, and lose bytes).
        const stdout = new Transform({
          transform(chunk: Buffer, _e: BufferEncoding, cb: TransformCallback) {
            lastData = Date.now();
            cb(null, chunk);
          },
        });
        pipeline(ch, stdout, () => undefined);
        // Silence counts only while the reader waits (nothing buffered): a slow reader is backpressure, not a hang.
        const idle = setInterval(
          () => {
            if (ch.readableLength > 0 || stdout.readableLength > 0 || stdout.writableLength > 0) lastData = Date.now();
            else if (Date.now() - lastData > idleMs) {
              const error = new SshError(name, `${name}: \`${shown}\` sent nothing for ${formatMs(idleMs)}`);
              finish({ error });
              stdout.destroy(error);
              abort();
            }
          },
          Math.max(50, Math.min(1000, Math.floor(idleMs / 4))),
        );
        ch.stderr.on('data', (b: Buffer) => err.push(b));
        ch.on('exit', (c: number | null, sig?: string) => {
          code = typeof c === 'number' ? c : null;
          if (sig) signal = sig;
        });
        ch.on('close', () =>
          finish({
            ok: { code, ...(signal ? { signal } : {}), stdout: '', stderr: err.text('stderr'), truncated: err.truncated },
          }),
        );
        ch.on('error', (ce: Error) => finish({ error: new SshError(name, `${name}: \`${shown}\`: ${ce.message}`) }));
        ch.end(); // no stdin
        resolveStream({ stdout, result, abort });
      });
    });
  }

  /** A stream to a UNIX socket on the host (OpenSSH's direct-streamlocal; sshd's AllowStreamLocalForwarding must allow it). */
  openUnixSocket(path: string): Promise<Duplex> {
    checkRemotePath(path, 'socket');
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new SshError(this.target.name, `${this.target.name}: opening ${path} did not finish within ${formatMs(this.target.timeoutMs)}`),
          ),
        this.target.timeoutMs,
      );
      this.client.openssh_forwardOutStreamLocal(path, (e, ch) => {
        clearTimeout(timer);
        if (e)
          return reject(
            new SshError(
              this.target.name,
              `${this.target.name}: sshd refused to open the socket ${path} (${e.message}): check the socket exists and the SSH user may open it, and that sshd allows AllowStreamLocalForwarding`,
            ),
          );
        resolve(ch);
      });
    });
  }

  private sftp(): Promise<SFTPWrapper> {
    this.sftpSession ??= new Promise((resolve, reject) => {
      this.client.sftp((e, s) =>
        e ? reject(new SshError(this.target.name, `${this.target.name}: SFTP refused: ${e.message}`)) : resolve(s),
      );
    });
    return this.sftpSession;
  }

  /** Writes the file atomically: a temp file beside it (mode set, fsynced), then renamed over it (posix-rename). */
  async writeFile(path: string, content: string | Buffer, mode = 0o644): Promise<void> {
    checkRemotePath(path, 'file');
    const sftp = await this.sftp();
    const slash = path.lastIndexOf('/');
    const tmp = `${path.slice(0, slash + 1)}.${path.slice(slash + 1)}.bzzz-${randomBytes(6).toString('hex')}.tmp`;
    const data = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
    const name = this.target.name;
    const step = <T>(what: string, fn: (cb: (e: Error | null | undefined, v?: T) => void) => void): Promise<T> =>
      this.timed(
        `writing ${path}`,
        new Promise<T>((resolve, reject) =>
          fn((e, v) => (e ? reject(new SshError(name, `${name}: writing ${path} failed (${what}): ${e.message}`)) : resolve(v as T))),
        ),
      );
    const handle = await step<Buffer>('create a temp file beside it', (cb) => sftp.open(tmp, 'w', { mode }, (e, h) => cb(e, h)));
    try {
      for (let off = 0; off < data.length; off += 32 * 1024) {
        const len = Math.min(32 * 1024, data.length - off);
        await step('write', (cb) => sftp.write(handle, data, off, len, off, (e) => cb(e)));
      }
      await step('chmod', (cb) => sftp.fchmod(handle, mode, (e) => cb(e)));
      await step('fsync', (cb) => sftp.ext_openssh_fsync(handle, (e) => cb(e))).catch(() => undefined);
    } finally {
      await step('close', (cb) => sftp.close(handle, (e) => cb(e))).catch(() => undefined);
    }
    try {
      await step('rename over it', (cb) => sftp.ext_openssh_rename(tmp, path, (e) => cb(e)));
    } catch (err) {
      await step('remove the temp file', (cb) => sftp.unlink(tmp, (e) => cb(e))).catch(() => undefined);
      throw err;
    }
  }

  /** Reads a file of at most `maxBytes` (a larger one is refused). Resolves undefined when it does not exist. */
  async readFile(path: string, maxBytes = 1024 * 1024): Promise<string | undefined> {
    checkRemotePath(path, 'file');
    const sftp = await this.sftp();
    const name = this.target.name;
    const handle = await this.timed(
      `reading ${path}`,
      new Promise<Buffer | undefined>((resolve, reject) =>
        sftp.open(path, 'r', (e, h) => {
          if (!e) return resolve(h);
          if ((e as Error & { code?: number }).code === 2) return resolve(undefined);
          reject(new SshError(name, `${name}: reading ${path} failed: ${e.message}`));
        }),
      ),
    );
    if (!handle) return undefined;
    try {
      const buf = Buffer.alloc(maxBytes + 1);
      let filled = 0;
      while (filled <= maxBytes) {
        const n = await this.timed(
          `reading ${path}`,
          new Promise<number>((resolve, reject) =>
            sftp.read(handle, buf, filled, Math.min(32 * 1024, maxBytes + 1 - filled), filled, (e, bytes) => {
              if (e && (e as Error & { code?: number }).code === 1) return resolve(0); // EOF
              if (e) return reject(new SshError(name, `${name}: reading ${path} failed: ${e.message}`));
              resolve(bytes);
            }),
          ),
        );
        if (n === 0) break;
        filled += n;
      }
      if (filled > maxBytes) throw new SshError(name, `${name}: ${path} is larger than the ${maxBytes} bytes allowed`);
      return buf.subarray(0, filled).toString('utf8');
    } finally {
      sftp.close(handle, () => undefined);
    }
  }

  /**
   * Streams a file over SFTP (no shell, no output cap): one read of `chunkBytes` in flight at a
   * time, the next asked for only when the consumer takes the last one (backpressure). More than
   * `maxBytes` is an error naming the host, never a silent cut; each read must answer within the
   * target's timeout; `signal` aborts. The file handle is closed however it ends.
   */
  async *readFileStream(
    path: string,
    opts: { maxBytes: number; signal?: AbortSignal; chunkBytes?: number; what?: string },
  ): AsyncGenerator<Buffer> {
    checkRemotePath(path, 'file');
    const name = this.target.name;
    const what = opts.what ?? path;
    const chunk = opts.chunkBytes ?? 256 * 1024;
    const signal = opts.signal;
    const aborted = () => new SshError(name, `${name}: reading ${what} was aborted`);
    if (signal?.aborted) throw aborted();
    // Many small request/answer round trips: Nagle's algorithm would hold each one ~40 ms.
    this.client.setNoDelay(true);
    const sftp = await this.sftp();
    const call = <T>(fn: (cb: (e: (Error & { code?: number }) | null | undefined, v?: T) => void) => void): Promise<T> =>
      this.timed(
        `reading ${what}`,
        new Promise<T>((resolve, reject) => {
          const onAbort = () => reject(aborted());
          signal?.addEventListener('abort', onAbort, { once: true });
          fn((e, v) => {
            signal?.removeEventListener('abort', onAbort);
            if (e) reject(e);
            else resolve(v as T);
          });
        }),
      );
    let handle: Buffer;
    try {
      handle = await call<Buffer>((cb) => sftp.open(path, 'r', (e, h) => cb(e, h)));
    } catch (err) {
      if (err instanceof SshError) throw err;
      const e = err as Error & { code?: number };
      if (e.code === 2) throw new SshError(name, `${name}: ${what} does not exist`);
      throw new SshError(name, `${name}: reading ${what} failed: ${e.message}`);
    }
    try {
      const st = await call<{ size?: number }>((cb) => sftp.fstat(handle, (e, a) => cb(e, a))).catch(() => undefined);
      const tooLarge = (n: number) =>
        new SshError(
          name,
          `${name}: ${what} is larger than the ${opts.maxBytes} bytes allowed (${n}${n > opts.maxBytes ? '' : '+'} bytes)`,
        );
      if (st?.size !== undefined && st.size > opts.maxBytes) throw tooLarge(st.size);
      let position = 0;
      for (;;) {
        if (signal?.aborted) throw aborted();
        const buf = Buffer.allocUnsafe(chunk);
        const n = await call<number>((cb) =>
          sftp.read(handle, buf, 0, chunk, position, (e, bytes) => {
            if (e && (e as Error & { code?: number }).code === 1) return cb(undefined, 0); // EOF
            if (e) return cb(new SshError(name, `${name}: reading ${what} failed: ${e.message}`));
            cb(undefined, bytes);
          }),
        );
        if (n === 0) return;
        position += n;
        if (position > opts.maxBytes) throw tooLarge(position);
        yield n === chunk ? buf : buf.subarray(0, n);
      }
    } finally {
      sftp.close(handle, () => undefined);
    }
  }

  private timed<T>(what: string, p: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(new SshError(this.target.name, `${this.target.name}: ${what} did not finish within ${formatMs(this.target.timeoutMs)}`)),
        this.target.timeoutMs,
      );
    });
    return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.client.end();
  }
}

/** Connects, runs `fn` on the connection, closes it whatever happens: the connection of one operation. */
export async function withSsh<T>(target: SshTarget, privateKey: string, fn: (conn: SshConnection) => Promise<T>): Promise<T> {
  const conn = await SshConnection.connect(target, privateKey);
  try {
    return await fn(conn);
  } finally {
    conn.close();
  }
}

/** A path on the remote host: absolute, no NUL or line break, no `..` segment. */
export function checkRemotePath(path: string, what: string): void {
  if (!path.startsWith('/') || /[\0\n\r]/.test(path) || path.split('/').includes('..') || path.length > 4096)
    throw new InvalidInputError(`the ${what} path ${JSON.stringify(path)} is not an absolute path without '..', NUL or line breaks`);
}

function describeConnectError(err: Error & { level?: string; code?: string }, t: SshTarget): string {
  if (err.level === 'client-timeout' || /timed out/i.test(err.message)) return `connect timeout after ${formatMs(t.timeoutMs)}`;
  if (err.level === 'client-authentication')
    return `authentication as ${t.user} refused: add the operator's public key to ~${t.user}/.ssh/authorized_keys on ${t.name}`;
  if (err.code === 'ECONNREFUSED') return `connection refused on port ${t.port}: is sshd running there?`;
  if (err.code === 'EHOSTUNREACH' || err.code === 'ENETUNREACH') return `host unreachable (${err.code})`;
  if (err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN') return `address ${t.address} does not resolve (${err.code})`;
  if (err.code === 'ECONNRESET') return 'the connection was reset during the SSH handshake';
  return err.message;
}

/** An error copy without anything but its message and code (no config, so no key, travels as cause). */
function scrub(err: Error & { code?: string; level?: string }): Error {
  const copy = new Error(err.message) as Error & { code?: string; level?: string };
  if (err.code) copy.code = err.code;
  if (err.level) copy.level = err.level;
  return copy;
}

/** Collects a stream's bytes up to a limit. */
class Bounded {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  truncated = false;
  constructor(private readonly max: number) {}
  push(b: Buffer): void {
    if (this.size >= this.max) {
      this.truncated = true;
      return;
    }
    const room = this.max - this.size;
    if (b.length > room) this.truncated = true;
    const part = b.length > room ? b.subarray(0, room) : b;
    this.chunks.push(part);
    this.size += part.length;
  }
  text(what: string): string {
    const s = Buffer.concat(this.chunks).toString('utf8');
    return this.truncated ? `${s}\n[${what} truncated after ${this.max} bytes]` : s;
  }
}
