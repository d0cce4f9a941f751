// Exec in a service's running task through the Engine API: output, stdin, exit codes, limits,
// backpressure, and the refusals a user sees. One busybox service for the file.
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docker, port, uniqueName, waitFor } from '../harness.js';
import { DockerExec, ExecFailedError, execText } from '../../../src/swarm/exec.js';

const service = uniqueName('bkb-exec');
const ex = new DockerExec(port);

beforeAll(async () => {
  await docker('service', 'create', '-d', '--name', service, 'bzzz-test/busybox:1');
  await waitFor('task running', () => ex.runningTask(service).catch(() => undefined), 60_000);
});
afterAll(async () => {
  await docker('service', 'rm', service).catch(() => undefined);
});

describe('exec in a service task', () => {
  it('returns stdout, and keeps stderr apart', async () => {
    expect(await execText(ex, service, { cmd: ['sh', '-c', 'echo hi; echo err >&2'], maxStdoutBytes: 100 })).toBe('hi\n');
  });

  it('feeds stdin and closes it at the end of the input', async () => {
    const h = await ex.execInService(service, {
      cmd: ['sh', '-c', 'cat > /tmp/x; wc -c < /tmp/x'],
      stdin: Readable.from([Buffer.alloc(3_000_000, 97), Buffer.alloc(17, 98)]),
    });
    let out = '';
    for await (const c of h.stdout) out += c;
    expect(out.trim()).toBe('3000017');
    expect((await h.done).exitCode).toBe(0);
  });

  it('a non-zero exit errors the output stream with the stderr tail, instead of ending it', async () => {
    const h = await ex.execInService(service, { cmd: ['sh', '-c', 'echo partial; echo boom >&2; exit 3'] });
    const read = (async () => {
      let out = '';
      for await (const c of h.stdout) out += c;
      return out;
    })();
    await expect(read).rejects.toThrow(/exited with code 3: boom/);
    const err = await h.done.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ExecFailedError);
    expect((err as ExecFailedError).commandExitCode).toBe(3);
  });

  it('streams large output to a slow reader without losing bytes', async () => {
    const h = await ex.execInService(service, { cmd: ['sh', '-c', 'head -c 50000000 /dev/zero'] });
    let n = 0;
    for await (const c of h.stdout) {
      n += (c as Buffer).length;
      if (n % 10 === 0) await new Promise((r) => setTimeout(r, 0));
    }
    expect(n).toBe(50_000_000);
    expect((await h.done).stdoutBytes).toBe(50_000_000);
  });

  it('enforces the stdout and time limits', async () => {
    await expect(execText(ex, service, { cmd: ['sh', '-c', 'head -c 5000 /dev/zero'], maxStdoutBytes: 100 })).rejects.toThrow(
      /more than 100 bytes/,
    );
    const t0 = Date.now();
    await expect(execText(ex, service, { cmd: ['sh', '-c', 'sleep 10'], maxStdoutBytes: 100, timeoutMs: 500 })).rejects.toThrow(
      /within 500 ms/,
    );
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it('stops at an abort with its reason', async () => {
    const ac = new AbortController();
    const h = await ex.execInService(service, { cmd: ['sh', '-c', 'while true; do echo tick; sleep 0.1; done'], signal: ac.signal });
    setTimeout(() => ac.abort(new Error('backup cancelled')), 300);
    const read = (async () => {
      for await (const _ of h.stdout);
    })();
    await expect(read).rejects.toThrow('backup cancelled');
    await expect(h.done).rejects.toThrow('backup cancelled');
  });

  it('names the service that does not exist', async () => {
    await expect(execText(ex, `${service}-nope`, { cmd: ['true'], maxStdoutBytes: 1 })).rejects.toThrow(
      new RegExp(`service ${service}-nope does not exist`),
    );
  });
});
