import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/util/clock.js';
import { BootstrapDialer } from '../../../src/agent/p2p/bootstrap-dialer.js';
import { silentLogger } from '../../../src/util/log.js';

// A fake network: which addresses answer, and with which peer ID. Dials resolve on the next
// microtask, as real ones resolve later than they start.
function fakeNet() {
  const up = new Map<string, string>();
  const connected = new Set<string>();
  const dials: Array<{ at: number; address: string }> = [];
  return { up, connected, dials };
}

const flush = async () => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

// Moves the manual clock in 10 ms steps, letting each step's dials settle.
async function run(clock: ManualClock, ms: number): Promise<void> {
  for (let t = 0; t < ms; t += 10) {
    clock.advance(10);
    await flush();
  }
}

function setup(peers: Array<{ source: string; address: string; peerId?: string }>) {
  const clock = new ManualClock(0);
  const net = fakeNet();
  const dialer = new BootstrapDialer(
    {
      dial: async (address) => {
        net.dials.push({ at: clock.now(), address });
        const id = net.up.get(address);
        if (id === undefined) throw new Error(`connection error ${address}: ECONNREFUSED`);
        if (id === 'SELF') throw new Error('Can not dial self');
        net.connected.add(id);
        return id;
      },
      isConnected: (id) => net.connected.has(id),
      clock,
      log: silentLogger(),
      random: () => 0.5, // no jitter
    },
    { peers, selfPeerId: 'self', minBackoffMs: 100, maxBackoffMs: 1000, checkIntervalMs: 5000 },
  );
  return { clock, net, dialer };
}

describe('BootstrapDialer', () => {
  it('GIVEN a peer that starts late WHEN dials fail THEN it retries with doubling backoff up to the cap, then connects', async () => {
    const { clock, net, dialer } = setup([{ source: 'walnut:9101', address: '/dns4/walnut/tcp/9101' }]);
    dialer.start();
    clock.advance(0);
    await flush();
    await run(clock, 4000);
    const gaps = net.dials.slice(1).map((d, i) => d.at - net.dials[i].at);
    expect(gaps.slice(0, 5)).toEqual([100, 200, 400, 800, 1000]);
    expect(dialer.status()[0]).toMatchObject({ connected: false, self: false });
    expect(dialer.status()[0].failures).toBeGreaterThan(5);

    net.up.set('/dns4/walnut/tcp/9101', 'peerW');
    await run(clock, 1000);
    expect(dialer.status()[0]).toMatchObject({ source: 'walnut:9101', peerId: 'peerW', connected: true, failures: 0 });
    dialer.stop();
  });

  it('GIVEN a connected bootstrap peer WHEN it disconnects THEN it is dialled again at once', async () => {
    const { clock, net, dialer } = setup([{ source: 'a:1', address: '/dns4/a/tcp/1' }]);
    net.up.set('/dns4/a/tcp/1', 'peerA');
    dialer.start();
    clock.advance(0);
    await flush();
    expect(net.dials).toHaveLength(1);
    net.connected.delete('peerA');
    dialer.peerDisconnected('peerA');
    clock.advance(0);
    await flush();
    expect(net.dials).toHaveLength(2);
    expect(dialer.status()[0].connected).toBe(true);
    dialer.stop();
  });

  it('GIVEN its own address in the list WHEN dialled THEN the entry is marked self and never dialled again', async () => {
    const { clock, net, dialer } = setup([{ source: 'me:9000', address: '/dns4/me/tcp/9000' }]);
    net.up.set('/dns4/me/tcp/9000', 'SELF');
    dialer.start();
    clock.advance(0);
    await flush();
    clock.advance(60_000);
    await flush();
    expect(net.dials).toHaveLength(1);
    expect(dialer.status()[0].self).toBe(true);
    expect(clock.pending).toBe(0);
    dialer.stop();
  });

  it('GIVEN stop WHEN timers were pending THEN nothing is dialled afterwards', async () => {
    const { clock, net, dialer } = setup([{ source: 'x:1', address: '/dns4/x/tcp/1' }]);
    dialer.start();
    clock.advance(0);
    await flush();
    dialer.stop();
    clock.advance(10_000);
    await flush();
    expect(net.dials).toHaveLength(1);
    expect(clock.pending).toBe(0);
  });
});
