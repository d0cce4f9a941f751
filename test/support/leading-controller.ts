// A `bzzzctl controller run` of the test's own that holds the swarm's one controller lease. On an
// engine shared with other work (another test's controller, `bzzzctl up`'s service) a controller
// started while the lease is live only stands by: this waits until the lease is free, starts the
// controller, and if another one took the lease first, stops it and waits again.
import { readLease, leaseIsLive } from '../../src/store/lease.js';
import { port, spawnController, waitFor, type Controller } from '../integration/harness.js';

export async function spawnLeadingController(args: string[], deadlineMs = 600_000): Promise<Controller> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const left = () => Math.max(1000, deadline - Date.now());
    await waitFor(
      'the controller lease to be free (another controller runs on this swarm)',
      async () => !leaseIsLive(await readLease(port), Date.now()),
      left(),
      1000,
    ).catch(async (err: Error) => {
      throw new Error(`${err.message}; lease: ${JSON.stringify(await readLease(port))}`);
    });
    const c = await spawnController(args);
    const leading = await waitFor('the lease taken', async () => (await c.metric('bzzz_operator_leader')) === 1, 10_000, 200).then(
      () => true,
      () => false,
    );
    if (leading) return c;
    c.proc.kill('SIGTERM');
    await new Promise((r) => c.proc.once('exit', r));
    if (Date.now() > deadline) throw new Error(`another controller kept the lease: ${JSON.stringify(await readLease(port))}`);
  }
}
