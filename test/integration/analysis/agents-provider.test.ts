// The agents provider against real HTTP servers serving prom-client registries, as the agents'
// health ports do: aggregation across agents, rate with a restarted agent, and the limits.
import { Counter, Gauge, Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentsProvider } from '../../../src/analysis/providers/agents.js';
import { MeasurementError } from '../../../src/analysis/providers/provider.js';
import { serveHttp, serveRegistry, type TestServer } from '../../support/http-server.js';
import { freePort } from '../../support/ports.js';
import { rejectionOf } from '../../support/rejection.js';

function agent() {
  const registry = new Registry();
  return {
    registry,
    errors: new Counter({ name: 'bzzz_errors_total', help: 'errors', labelNames: ['component'], registers: [registry] }),
    health: new Gauge({ name: 'bzzz_system_health_score', help: 'health', registers: [registry] }),
  };
}

describe('agentsProvider against agents serving prom-client metrics', () => {
  const a = agent();
  const b = agent();
  const servers: TestServer[] = [];
  let targets: string[];

  beforeAll(async () => {
    a.errors.inc({ component: 'p2p' }, 4);
    a.errors.inc({ component: 'cas' }, 1);
    b.errors.inc({ component: 'p2p' }, 100);
    a.health.set(0.9);
    b.health.set(0.4);
    for (const x of [a, b]) servers.push(await serveRegistry(x.registry));
    targets = servers.map((s) => `${s.url}/metrics`);
  });

  afterAll(async () => {
    for (const s of servers) await s.close();
  });

  it('aggregates across every agent', async () => {
    const p = agentsProvider({ targets });
    expect(await p.measure('sum(bzzz_errors_total)')).toEqual({ value: 105 });
    expect(await p.measure('sum(bzzz_errors_total{component!="p2p"})')).toEqual({ value: 1 });
    expect(await p.measure('min(bzzz_system_health_score)')).toEqual({ value: 0.4 });
    expect(await p.measure('sum(bzzz_errors_total{component="cas"}) / sum(bzzz_errors_total)')).toEqual({ value: 1 / 105 });
    expect(await p.measure('max(bzzz_missing)')).toEqual({ noData: true });
  });

  it('measures a rate from the scrape before, counting a restarted agent from 0', async () => {
    const p = agentsProvider({ targets: () => targets, rateWindowMs: 200 });
    const start1 = Date.now();
    // First measurement: two scrapes 200 ms apart, nothing changed in between.
    expect(await p.measure('sum(rate(bzzz_errors_total))')).toEqual({ value: 0 });
    const end1 = Date.now();
    a.errors.inc({ component: 'p2p' }, 10);
    b.errors.reset(); // b restarted: its counter went from 100 back to 0, then 3
    b.errors.inc({ component: 'p2p' }, 3);
    await new Promise((r) => setTimeout(r, 500));
    const start2 = Date.now();
    const m = await p.measure('sum(rate(bzzz_errors_total))');
    const end2 = Date.now();
    // 13 new errors over the time between the two scrapes.
    expect('value' in m && m.value).toBeGreaterThanOrEqual(13 / ((end2 - start1) / 1000));
    expect('value' in m && m.value).toBeLessThanOrEqual(13 / ((start2 - end1) / 1000));
  });

  it('leaves out an agent that does not answer, and fails when none does', async () => {
    const down = `http://127.0.0.1:${await freePort()}/metrics`;
    expect(await agentsProvider({ targets: [targets[0], down] }).measure('sum(bzzz_errors_total)')).toEqual({ value: 15 });
    const err = await rejectionOf(agentsProvider({ targets: [down, down] }).measure('sum(bzzz_errors_total)'));
    expect(err).toBeInstanceOf(MeasurementError);
    expect(err.message).toContain("none of the 2 agents' /metrics answered");
    const none = await rejectionOf(agentsProvider({ targets: [] }).measure('sum(bzzz_errors_total)'));
    expect(none.message).toContain('no agent /metrics URL to scrape');
  });

  it('refuses malformed, oversized, slow and failing expositions', async () => {
    const serve = async (body: string, status = 200) => {
      const s = await serveHttp((_req, res) => res.writeHead(status, { 'content-type': 'text/plain' }).end(body));
      servers.push(s);
      return `${s.url}/metrics`;
    };
    const malformed = await rejectionOf(
      agentsProvider({ targets: [await serve('ok 1\nbzzz_errors_total{component="p2p" 1\n')] }).measure('sum(bzzz_errors_total)'),
    );
    expect(malformed.message).toContain('line 2, column 35: expected "," or "}" after the label value');
    const big = await rejectionOf(agentsProvider({ targets: [await serve('m 1\n'.repeat(1000))], maxBytes: 1000 }).measure('sum(m)'));
    expect(big.message).toContain('more than the 1000 bytes allowed');
    const status = await rejectionOf(agentsProvider({ targets: [await serve('', 500)] }).measure('sum(m)'));
    expect(status.message).toContain('HTTP 500');
    const silent = await serveHttp(() => {});
    servers.push(silent);
    const slow = await rejectionOf(agentsProvider({ targets: [`${silent.url}/metrics`], timeoutMs: 200 }).measure('sum(m)'));
    expect(slow.message).toContain('no complete answer within 200 ms');
  });

  it('refuses a bad query with its column, and a baseline from the past', async () => {
    const p = agentsProvider({ targets });
    const bad = await rejectionOf(p.measure('rate(bzzz_errors_total)'));
    expect(bad).toBeInstanceOf(MeasurementError);
    expect(bad.message).toContain('column 1: expected an aggregation: sum, avg, max or min');
    const past = await rejectionOf(p.measure('sum(bzzz_errors_total)', new Date(Date.now() - 600_000)));
    expect(past.message).toContain("the agents' /metrics tell only the present");
    expect(await p.measure('sum(bzzz_errors_total)', new Date())).toEqual({ value: expect.any(Number) });
  });
});
