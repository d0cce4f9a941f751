// Running a command inside a service's running task container (docker exec over the Engine API):
// what backups need to read a database dump, a secret file or a content store from where it
// lives, and to put it back. stdout is a Readable with backpressure that ends only when the
// command exited 0 — a dump cut short by a failure errors instead of looking complete.
// Limits: a time limit and a stdout size limit per command; stderr keeps only its tail (for the
// error message). Docker has no API to kill an exec'd process: on timeout or abort the
// connection is closed, which ends commands that write to it (SIGPIPE) or read from it (EOF).
import type { Duplex, Readable } from 'node:stream';
import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';
import type { SwarmPort } from './port.js';
import { createDockerClient, DockerSwarmPort, translate } from './docker-port.js';
import { FrameParser } from './exec-frames.js';
import { BzzzError, NotFoundError } from '../util/errors.js';

export interface ExecOptions {
  /** The command and its arguments (no shell unless you run one: pass values as arguments, never spliced into a script). */
  cmd: string[];
  /** user[:group] inside the container; default the container's own. */
  user?: string;
  env?: string[];
  /** Fed to the command's stdin; its end closes the command's stdin. */
  stdin?: Readable;
  /** stdout beyond this fails the command (default 64 GiB). */
  maxStdoutBytes?: number;
  /** The whole command, default one hour. */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** For messages: what the command does (`pg_dump of bzzz_v2`). */
  what?: string;
}

export interface ExecResult {
  exitCode: number;
  /** The last few KiB of stderr. */
  stderr: string;
  stdoutBytes: number;
}

export interface ExecHandle {
  /** The command's stdout; ends only after a zero exit code, else errors with the reason. Read it (or drain it). */
  stdout: Readable;
  /** Settles once the command exited and stdout was delivered; rejects like stdout does. */
  done: Promise<ExecResult>;
}

export interface RunningTask {
  service: string;
  taskId: string;
  containerId: string;
  nodeId: string;
}

/** The door to exec that src/ops uses (an interface, so a caller can run it elsewhere). */
export interface ServiceExec {
  /** The service's running task on this engine's node; refuses clearly when there is none here. */
  runningTask(service: string): Promise<RunningTask>;
  execInService(service: string, opts: ExecOptions): Promise<ExecHandle>;
  execInContainer(containerId: string, opts: ExecOptions, label?: string): Promise<ExecHandle>;
}

/** The command exited non-zero (or was cut): names where, what, the exit code and stderr's tail. */
export class ExecFailedError extends BzzzError {
  constructor(
    readonly where: string,
    readonly what: string,
    /** The command's exit code (undefined: it did not get to exit — timeout, limit, cut). */
    readonly commandExitCode: number | undefined,
    readonly stderr: string,
    message?: string,
  ) {
    super(
      message ??
        `${what} in ${where} exited with code ${commandExitCode}${stderr.trim() ? `: ${stderr.trim().split('\n').slice(-5).join(' | ')}` : ''}`,
    );
  }
}

/** The service's running task is on another node: exec reaches only this engine's containers. */
export class TaskOnOtherNodeError extends BzzzError {}

const STDERR_TAIL = 4096;
const DEFAULT_MAX_STDOUT = 64 * 1024 ** 3;
const DEFAULT_TIMEOUT_MS = 60 * 60_000;

export class DockerExec implements ServiceExec {
  private readonly docker: Docker;
  /** `port` finds the tasks (any SwarmPort: the CLI's engine port, a counting one); `docker` runs the execs (default: the port's own client, or DOCKER_HOST's). */
  constructor(
    private readonly port: SwarmPort,
    docker?: Docker,
  ) {
    this.docker = docker ?? (port instanceof DockerSwarmPort ? port.docker : createDockerClient());
  }

  runningTask(service: string): Promise<RunningTask> {
    return findRunningTask(this.port, service);
  }

  async execInService(service: string, opts: ExecOptions): Promise<ExecHandle> {
    const task = await this.runningTask(service);
    return this.execInContainer(task.containerId, opts, `service ${service} (task ${task.taskId.slice(0, 12)})`);
  }

  async execInContainer(containerId: string, opts: ExecOptions, label = `container ${containerId.slice(0, 12)}`): Promise<ExecHandle> {
    const what = opts.what ?? opts.cmd[0];
    const container = this.docker.getContainer(containerId);
    let exec: Docker.Exec;
    let sock: Duplex;
    try {
      exec = await container.exec({
        Cmd: opts.cmd,
        AttachStdout: true,
        AttachStderr: true,
        AttachStdin: !!opts.stdin,
        Tty: false,
        ...(opts.user ? { User: opts.user } : {}),
        ...(opts.env ? { Env: opts.env } : {}),
      });
      sock = (await exec.start({ hijack: true, stdin: !!opts.stdin, Tty: false })) as unknown as Duplex;
    } catch (err) {
      throw translate(`exec ${what} in`, label, err);
    }
    return pump(exec, sock, opts, what, label);
  }
}

/**
 * The service's running task on this engine's node (exec reaches only its containers): refuses
 * with what to do when the service does not exist, runs no task, or runs it on another node.
 */
export async function findRunningTask(port: SwarmPort, service: string): Promise<RunningTask> {
  const [svc] = await port.listServices({ names: [service] });
  if (!svc) throw new NotFoundError(`service ${service} does not exist: is the cluster deployed (docker service ls)?`);
  const [tasks, info] = await Promise.all([port.listTasks({ services: [svc.ID] }), port.info()]);
  const running = tasks.filter(
    (t) => t.DesiredState === 'running' && t.Status.State === 'running' && t.Status.ContainerStatus?.ContainerID,
  );
  const here = running.find((t) => t.NodeID === info.nodeId);
  if (here) return { service, taskId: here.ID, containerId: here.Status.ContainerStatus!.ContainerID!, nodeId: info.nodeId };
  if (running.length === 0) {
    const last = [...tasks].sort((a, b) => b.UpdatedAt.localeCompare(a.UpdatedAt))[0];
    const why = last ? ` (newest task: ${last.Status.State}${last.Status.Err ? `: ${last.Status.Err}` : ''})` : '';
    throw new NotFoundError(`service ${service} has no running task${why}: wait for it to start (docker service ps ${service})`);
  }
  const nodes = await port.listNodes();
  const host = (id: string | undefined) => nodes.find((n) => n.ID === id)?.Description.Hostname ?? id ?? '?';
  throw new TaskOnOtherNodeError(
    `service ${service} runs on node ${host(running[0].NodeID)}, not on ${host(info.nodeId)} (the node this Docker engine is): ` +
      `run the command against that node's engine (DOCKER_HOST=ssh://${host(running[0].NodeID)}), or pin the service to this node`,
  );
}

/** Moves frames from the hijacked connection to stdout (with backpressure), stdin to it, and settles on exit. */
function pump(exec: Docker.Exec, sock: Duplex, opts: ExecOptions, what: string, label: string): ExecHandle {
  const stdout = new PassThrough();
  // `done` carries the failure to callers that only await it (stdout drained with resume()):
  // without a listener, stdout's error event would be an uncaught exception.
  stdout.on('error', () => undefined);
  const parser = new FrameParser();
  const maxStdout = opts.maxStdoutBytes ?? DEFAULT_MAX_STDOUT;
  let stdoutBytes = 0;
  let stderr = '';
  let failure: Error | undefined;
  const fail = (err: Error) => {
    failure ??= err;
    sock.destroy();
  };
  const timer = setTimeout(
    () =>
      fail(
        new ExecFailedError(
          label,
          what,
          undefined,
          stderr,
          `${what} in ${label} did not finish within ${opts.timeoutMs ?? DEFAULT_TIMEOUT_MS} ms`,
        ),
      ),
    opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
  );
  const onAbort = () => fail(opts.signal?.reason instanceof Error ? opts.signal.reason : new Error(`${what} in ${label}: aborted`));
  if (opts.signal?.aborted) onAbort();
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  stdout.on('drain', () => sock.resume());
  sock.on('data', (chunk: Buffer) => {
    let frames: ReturnType<FrameParser['push']>;
    try {
      frames = parser.push(chunk);
    } catch (err) {
      fail(err as Error);
      return;
    }
    for (const f of frames) {
      if (f.stream === 'stderr') {
        stderr = (stderr + f.payload.toString('utf8')).slice(-STDERR_TAIL);
      } else if (f.stream === 'stdout') {
        stdoutBytes += f.payload.length;
        if (stdoutBytes > maxStdout) {
          fail(
            new ExecFailedError(label, what, undefined, '', `${what} in ${label} wrote more than ${maxStdout} bytes to stdout: refused`),
          );
          return;
        }
        if (!stdout.write(f.payload)) sock.pause();
      }
    }
  });
  if (opts.stdin) {
    const input = opts.stdin;
    input.on('error', (err) => fail(new Error(`${what} in ${label}: its input failed: ${err.message}`, { cause: err })));
    input.pipe(sock, { end: false });
    // The end of the input half-closes the connection: the engine closes the command's stdin.
    input.on('end', () => sock.end());
  }
  const ended = new Promise<void>((resolve) => {
    sock.on('close', () => resolve());
    sock.on('end', () => resolve());
    sock.on('error', (err) => {
      failure ??= new Error(`${what} in ${label}: the exec connection failed: ${err.message}`, { cause: err });
      resolve();
    });
  });
  const done = (async (): Promise<ExecResult> => {
    try {
      await ended;
      clearTimeout(timer);
      if (failure) throw failure;
      if (parser.buffered > 0)
        throw new ExecFailedError(label, what, undefined, stderr, `${what} in ${label}: the output stream was cut mid-frame`);
      const exitCode = await exitCodeOf(exec, label, what);
      if (exitCode !== 0) throw new ExecFailedError(label, what, exitCode, stderr);
      stdout.end();
      return { exitCode, stderr, stdoutBytes };
    } catch (err) {
      stdout.destroy(err as Error);
      throw err;
    } finally {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
    }
  })();
  // The caller may watch only stdout; the rejection is delivered there too.
  done.catch(() => undefined);
  return { stdout, done };
}

/** The exit code, once the engine has recorded it (its inspect can lag the stream's end briefly). */
async function exitCodeOf(exec: Docker.Exec, label: string, what: string): Promise<number> {
  for (let i = 0; i < 50; i++) {
    let state: Docker.ExecInspectInfo;
    try {
      state = await exec.inspect();
    } catch (err) {
      throw translate(`inspect exec of ${what} in`, label, err);
    }
    if (!state.Running && state.ExitCode !== null) return state.ExitCode;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new ExecFailedError(
    label,
    what,
    undefined,
    '',
    `${what} in ${label}: its output ended but the engine still reports it running after 5 s`,
  );
}

/** Runs a command and returns its whole stdout as text (for small outputs: a file, a query result). */
export async function execText(exec: ServiceExec, service: string, opts: ExecOptions & { maxStdoutBytes: number }): Promise<string> {
  const h = await exec.execInService(service, opts);
  const chunks: Buffer[] = [];
  for await (const c of h.stdout) chunks.push(c as Buffer);
  await h.done;
  return Buffer.concat(chunks).toString('utf8');
}
