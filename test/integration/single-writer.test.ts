// One writer: an in-process `bzzzctl apply` holds the controller lease for as long as its passes
// run, so a controller started meanwhile stands by and writes nothing; the lease is given back
// when apply ends and the controller takes over at once.
import { spawn } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { agentsOnlySpec } from '../support/specs.js';
import { leaseIsLive, readLease } from '../../src/store/lease.js';
import { BIN, cleanup, port, ROOT, spawnController, specDir, uniqueName, waitFor, writeSpec, type Controller } from './harness.js';

describe('an in-process apply and a controller never write at once', () => {
  const name = uniqueName('it-writer');
  let controller: Controller | undefined;
  afterAll(async () => {
    controller?.proc.kill('SIGTERM');
    await cleanup(name);
  });

  it('apply holds the lease while it reconciles; a controller started meanwhile stands by, then takes over when apply ends', async () => {
    const lease = await readLease(port);
    if (leaseIsLive(lease, Date.now())) throw new Error(`a controller (${lease?.holder}) holds the lease; this test needs none running`);
    const file = writeSpec(specDir(), agentsOnlySpec(name, { agents: ['a1', 'a2', 'a3'] }));
    const apply = spawn(process.execPath, [BIN, 'apply', '-f', file, '--timeout', '120s'], { cwd: ROOT });
    let out = '';
    apply.stderr.on('data', (d) => {
      out += d;
    });
    const exited = new Promise<number | null>((res) => apply.on('exit', (code) => res(code)));

    const held = await waitFor('apply holds the lease', async () => (await readLease(port))?.holder.match(/^bzzzctl apply@/), 20_000, 50);
    expect(held).toBeTruthy();
    controller = await spawnController(['--lease-ttl', '3s', '--no-probe-agents', '--clusters', name]);
    // While apply runs (three agents starting), the controller is a standby that writes nothing.
    let sawStandby = false;
    while (apply.exitCode === null) {
      const holder = (await readLease(port))?.holder ?? '';
      if (holder.startsWith('bzzzctl apply@')) {
        expect(await controller.metric('bzzz_operator_leader')).toBe(0);
        sawStandby = true;
      }
      expect(await controller.metric('bzzz_operator_engine_writes_total')).toBe(0);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(await exited, out).toBe(0);
    expect(out).toContain('reconciling in-process');
    expect(sawStandby).toBe(true);
    expect(controller.logged('another controller holds the lease: standing by until it stops renewing it')).toBe(true);

    // Released at the end: the controller leads within a renewal period (1 s), well before a TTL.
    await waitFor('the controller takes over', async () => (await controller!.metric('bzzz_operator_leader')) === 1, 5_000, 100);
    expect((await readLease(port))?.holder).toMatch(new RegExp(`/${controller.proc.pid}$`));
    // The cluster apply converged: the controller's first pass has nothing to write.
    await new Promise((r) => setTimeout(r, 1500));
    expect(await controller.metric('bzzz_operator_engine_writes_total')).toBe(0);
    // Stopped cleanly, it gives the lease back (the next test runs with no controller).
    const stopped = new Promise((r) => controller?.proc.on('exit', r));
    controller.proc.kill('SIGTERM');
    await stopped;
    controller = undefined;
  });

  it('two in-process applies of different clusters at once both reconcile: the second waits for the first to give the lease back', async () => {
    const other = uniqueName('it-writer2');
    const files = [writeSpec(specDir(), agentsOnlySpec(`${name}b`)), writeSpec(specDir(), agentsOnlySpec(other))];
    try {
      const run = (file: string) =>
        new Promise<{ code: number | null; out: string }>((resolve) => {
          const p = spawn(process.execPath, [BIN, 'apply', '-f', file, '--timeout', '120s'], { cwd: ROOT });
          let out = '';
          p.stderr.on('data', (d) => {
            out += d;
          });
          p.on('exit', (code) => resolve({ code, out }));
        });
      const first = run(files[0]);
      await waitFor(
        'the first apply holds the lease',
        async () => (await readLease(port))?.holder.startsWith('bzzzctl apply@'),
        20_000,
        50,
      );
      const second = await run(files[1]);
      const done = await first;
      expect(done.code, done.out).toBe(0);
      expect(second.code, second.out).toBe(0);
      expect(second.out).toContain('reconciling in-process');
    } finally {
      await cleanup(`${name}b`);
      await cleanup(other);
    }
  });
});
