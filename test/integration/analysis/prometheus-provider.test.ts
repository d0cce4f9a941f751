// The Prometheus provider against a real Prometheus (Debian's package, scripts/install-tools.sh)
// scraping a local server whose metrics the test sets, and against crafted answers for the limits.
import { Gauge, Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MeasurementError, type Measurement, type MetricsProvider } from '../../../src/analysis/providers/provider.js';
import { prometheusProvider } from '../../../src/analysis/providers/prometheus.js';
import { poll } from '../../../src/util/poll.js';
import { serveHttp, serveRegistry, type TestServer } from '../../support/http-server.js';
import { freePort } from '../../support/ports.js';
import { rejectionOf } from '../../support/rejection.js';
import { type PrometheusProcess, startPrometheus } from '../../support/prometheus.js';

/** Measures until the value is `want` (Prometheus scrapes every 250 ms). */
async function measuredAs(provider: MetricsProvider, query: string, want: number): Promise<Measurement> {
  const r = await poll(() => provider.measure(query), {
    until: (m) => 'value' in m && m.value === want,
    deadline: Date.now() + 20_000,
    everyMs: 100,
  });
  return r.value;
}

describe('prometheusProvider against a real Prometheus', () => {
  const registry = new Registry();
  const value = new Gauge({ name: 'analysis_test_value', help: 'set by the test', registers: [registry] });
  const multi = new Gauge({ name: 'analysis_test_multi', help: 'two series', labelNames: ['agent'], registers: [registry] });
  let metrics: TestServer;
  let prometheus: PrometheusProcess;
  let provider: MetricsProvider;

  beforeAll(async () => {
    value.set(5);
    multi.set({ agent: 'a' }, 1);
    multi.set({ agent: 'b' }, 2);
    metrics = await serveRegistry(registry);
    prometheus = await startPrometheus({ targets: [metrics.hostPort], scrapeIntervalMs: 250 });
    provider = prometheusProvider({ url: prometheus.url, timeoutMs: 5_000 });
    expect(await measuredAs(provider, 'analysis_test_value', 5)).toEqual({ value: 5 });
  });

  afterAll(async () => {
    await prometheus?.stop();
    await metrics?.close();
  });

  it('measures the value now, and the baseline as it was before a change', async () => {
    const before = new Date();
    value.set(20);
    expect(await measuredAs(provider, 'analysis_test_value', 20)).toEqual({ value: 20 });
    expect(await provider.measure('analysis_test_value', before)).toEqual({ value: 5 });
    expect(await provider.measure('analysis_test_value', new Date())).toEqual({ value: 20 });
  });

  it('takes a scalar, an aggregated vector, and NaN', async () => {
    expect(await provider.measure('sum(analysis_test_multi)')).toEqual({ value: 3 });
    expect(await provider.measure('scalar(max(analysis_test_multi))')).toEqual({ value: 2 });
    expect(await provider.measure('1 + 1')).toEqual({ value: 2 });
    expect(await provider.measure('sum(analysis_test_multi) * 0 / 0')).toEqual({ value: Number.NaN });
  });

  it('answers no data for a query that matches nothing', async () => {
    expect(await provider.measure('analysis_test_missing')).toEqual({ noData: true });
    expect(await provider.measure('analysis_test_value', new Date(Date.now() - 3_600_000))).toEqual({ noData: true });
  });

  it('refuses several series, telling the user to aggregate', async () => {
    const err = await rejectionOf(provider.measure('analysis_test_multi'));
    expect(err).toBeInstanceOf(MeasurementError);
    expect(err.message).toContain('returned 2 series');
    expect(err.message).toContain('agent="a"');
    expect(err.message).toContain('aggregate them, e.g. sum(...)');
  });

  it("passes on Prometheus' own refusal of a bad query, and refuses a range vector", async () => {
    const bad = await rejectionOf(provider.measure('sum(analysis_test_value'));
    expect(bad).toBeInstanceOf(MeasurementError);
    expect(bad.message).toMatch(/refused query "sum\(analysis_test_value": bad_data: .*parse error/);
    const range = await rejectionOf(provider.measure('analysis_test_value[1m]'));
    expect(range.message).toContain('returned a matrix; an analysis query must return one number');
  });
});

describe('prometheusProvider limits, against crafted answers', () => {
  const servers: TestServer[] = [];
  afterAll(async () => {
    for (const s of servers) await s.close();
  });
  async function answering(body: string, status = 200, contentType = 'application/json'): Promise<string> {
    const s = await serveHttp((_req, res) => res.writeHead(status, { 'content-type': contentType }).end(body));
    servers.push(s);
    return s.url;
  }

  it('gives up at the timeout', async () => {
    const s = await serveHttp(() => {});
    servers.push(s);
    const err = await rejectionOf(prometheusProvider({ url: s.url, timeoutMs: 300 }).measure('up'));
    expect(err).toBeInstanceOf(MeasurementError);
    expect(err.message).toContain('no complete answer within 300 ms');
  });

  it('refuses an answer larger than the limit, declared or streamed', async () => {
    const big = JSON.stringify({ status: 'success', data: { resultType: 'vector', result: [], pad: 'x'.repeat(100_000) } });
    const declared = await rejectionOf(prometheusProvider({ url: await answering(big), maxBytes: 1024 }).measure('up'));
    expect(declared.message).toMatch(/more than the 1024 bytes allowed/);
    const s = await serveHttp((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(big); // chunked: no content-length
      res.end();
    });
    servers.push(s);
    const streamed = await rejectionOf(prometheusProvider({ url: s.url, maxBytes: 1024 }).measure('up'));
    expect(streamed.message).toContain('more than the 1024 bytes allowed');
  });

  it.each([
    ['not JSON', '<html>proxy error</html>', 502, 'text/html', 'HTTP 502, not a successful API answer'],
    ['JSON that is not an API answer', '{"hello":1}', 200, 'application/json', 'HTTP 200, not a successful API answer'],
    ['broken JSON', '{"status":', 200, 'application/json', 'the answer is not JSON'],
    ['no data object', '{"status":"success"}', 200, 'application/json', 'no "data" object'],
    [
      'a number instead of a value string',
      '{"status":"success","data":{"resultType":"scalar","result":[1,2]}}',
      200,
      'application/json',
      'expected a sample [time, "value"]',
    ],
    [
      'a value that is not a number',
      '{"status":"success","data":{"resultType":"scalar","result":[1,"many"]}}',
      200,
      'application/json',
      '"many" is not a number',
    ],
    [
      'a string result',
      '{"status":"success","data":{"resultType":"string","result":[1,"x"]}}',
      200,
      'application/json',
      'returned a string',
    ],
    [
      'a vector sample that is not an object',
      '{"status":"success","data":{"resultType":"vector","result":[7]}}',
      200,
      'application/json',
      'not an object',
    ],
  ])('refuses %s', async (_, body, status, type, message) => {
    const err = await rejectionOf(prometheusProvider({ url: await answering(body, status, type) }).measure('up'));
    expect(err).toBeInstanceOf(MeasurementError);
    expect(err.message).toContain(message);
  });

  it('sends credentials in the URL as basic auth and never shows them', async () => {
    let auth: string | undefined;
    const s = await serveHttp((req, res) => {
      auth = req.headers.authorization;
      res.writeHead(503, { 'content-type': 'text/plain' }).end('down');
    });
    servers.push(s);
    const err = await rejectionOf(prometheusProvider({ url: s.url.replace('http://', 'http://ops:s3cret@') }).measure('up'));
    expect(auth).toBe(`Basic ${Buffer.from('ops:s3cret').toString('base64')}`);
    expect(err.message).toContain('HTTP 503');
    expect(err.message).not.toContain('s3cret');
    const refused = await rejectionOf(prometheusProvider({ url: `http://ops:s3cret@127.0.0.1:${await freePort()}` }).measure('up'));
    expect(refused).toBeInstanceOf(MeasurementError);
    expect(refused.message).not.toContain('s3cret');
  });

  it('keeps a path prefix and refuses a URL that is not http(s)', async () => {
    let path: string | undefined;
    const s = await serveHttp((req, res) => {
      path = req.url;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"success","data":{"resultType":"vector","result":[]}}');
    });
    servers.push(s);
    expect(await prometheusProvider({ url: `${s.url}/prometheus/` }).measure('up')).toEqual({ noData: true });
    expect(path).toBe('/prometheus/api/v1/query');
    expect(() => prometheusProvider({ url: 'file:///etc/passwd' })).toThrow(/expected an http:\/\/ or https:\/\/ URL/);
  });
});
