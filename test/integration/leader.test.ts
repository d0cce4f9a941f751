// Leader election between two real `bzzzctl controller run` processes on the real swarm: only
// the lease holder reconciles, the other stands by (healthy, not ready); a holder that dies is
// replaced within about a lease TTL; a holder that was paused past its TTL finds its lease taken
// and exits 2 (failure) rather than reconcile beside the new one.
import { afterAll, describe, expect, it } from 'vitest';
import { readLease, leaseIsLive } from '../../src/store/lease.js';
import { port, spawnController, waitFor, type Controller } from './harness.js';

const TTL = ['--lease-ttl', '3s', '--no-probe-agents'];
const exitOf = (c: Controller) =>
  new Promise<number | null>((res) => {
    if (c.proc.exitCode !== null) res(c.proc.exitCode);
    else c.proc.on('exit', (code) => res(code));
  });

describe('controller leader election', () => {
  const started: Controller[] = [];
  const start = async () => {
    const c = await spawnController(TTL);
    started.push(c);
    return c;
  };
  afterAll(async () => {
    for (const c of started) {
      if (c.proc.exitCode === null && c.proc.signalCode === null) {
        c.proc.kill('SIGCONT');
        c.proc.kill('SIGTERM');
        await exitOf(c);
      }
    }
  });

  let a: Controller;
  let b: Controller;

  it('the first controller leads; a second one stands by, healthy but not ready', async () => {
    const lease = await readLease(port);
    if (leaseIsLive(lease, Date.now()))
      throw new Error(`another controller (${lease?.holder}) holds the lease; this test runs its own: stop that one first`);
    a = await start();
    expect(await a.metric('bzzz_operator_leader')).toBe(1);
    b = await start();
    expect(await b.metric('bzzz_operator_leader')).toBe(0);
    expect(b.logged('another controller holds the lease: standing by until it stops renewing it')).toBe(true);
    expect((await fetch(`http://127.0.0.1:${b.port}/healthz`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${b.port}/readyz`)).status).toBe(503);
    await waitFor('the leader ready', async () => (await fetch(`http://127.0.0.1:${a.port}/readyz`)).status === 200, 10_000, 100);
    expect((await readLease(port))?.holder).toMatch(new RegExp(`/${a.proc.pid}$`));
  });

  it('a leader paused past its TTL is replaced, and exits 2 (failure) when it wakes to a lease it lost', async () => {
    a.proc.kill('SIGSTOP');
    const t0 = Date.now();
    await waitFor('the standby takes over', async () => (await b.metric('bzzz_operator_leader')) === 1, 15_000, 200);
    // First sight of a's last renewal + a whole TTL (3 s), seen at the standby's next try (every 1 s).
    expect(Date.now() - t0).toBeLessThan(8_000);
    expect((await readLease(port))?.holder).toMatch(new RegExp(`/${b.proc.pid}$`));
    a.proc.kill('SIGCONT');
    expect(await Promise.race([exitOf(a), new Promise((r) => setTimeout(() => r('still running'), 10_000))])).toBe(2);
    expect(a.logged('lost the controller lease to another controller: stopping so that only one reconciles')).toBe(true);
    expect(await b.metric('bzzz_operator_leader')).toBe(1);
  });

  it('a standby takes over at once from a leader that stops cleanly (the lease is released)', async () => {
    const c = await start();
    expect(await c.metric('bzzz_operator_leader')).toBe(0);
    b.proc.kill('SIGTERM');
    expect(await exitOf(b)).toBe(0);
    const t0 = Date.now();
    await waitFor('the standby takes over', async () => (await c.metric('bzzz_operator_leader')) === 1, 10_000, 100);
    expect(Date.now() - t0).toBeLessThan(2_500); // its next try (every 1 s), not a TTL
    c.proc.kill('SIGTERM');
    expect(await exitOf(c)).toBe(0);
    expect((await readLease(port))?.holder ?? '').toBe('');
  });
});
