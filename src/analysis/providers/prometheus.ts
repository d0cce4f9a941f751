// Measurements from a Prometheus, over its HTTP API's instant query (/api/v1/query). The answer
// must be one number: a scalar, or a vector of exactly one sample. An empty vector is "no data"
// (the rule's noData policy judges it); several series are an error telling the user to aggregate,
// since picking one of them would judge an arbitrary agent. The answer is bounded in time and
// size and its shape is checked: a Prometheus is a network peer like any other.
import { parseSampleValue } from '../prom-text.js';
import { boundedFetch, redactUrl } from './http.js';
import { type Measurement, MeasurementError, type MetricsProvider } from './provider.js';

export interface PrometheusProviderOptions {
  /** Prometheus' base URL, e.g. http://prometheus:9090 (a path prefix such as /prometheus is kept). user:password in it become basic auth. */
  url: string;
  /** Whole exchange, answer included. Default 10 s. */
  timeoutMs?: number;
  /** Largest answer read. Default 1 MiB (one number needs a few hundred bytes; this leaves room for an error's text). */
  maxBytes?: number;
  /** Stops a measurement in flight (the controller shutting down). */
  signal?: AbortSignal;
}

const SHOWN_SERIES = 3;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const isObject = (v: Json | undefined): v is { [key: string]: Json } => typeof v === 'object' && v !== null && !Array.isArray(v);

/** `[unixSeconds, "value"]`, as the API writes a sample. */
function sampleValue(pair: Json | undefined, where: string): number {
  if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== 'number' || typeof pair[1] !== 'string') {
    throw new MeasurementError(`${where}: expected a sample [time, "value"], found ${JSON.stringify(pair)?.slice(0, 100)}`);
  }
  const value = parseSampleValue(pair[1]);
  if (value === undefined) throw new MeasurementError(`${where}: the sample value "${pair[1].slice(0, 40)}" is not a number`);
  return value;
}

function seriesName(metric: Json | undefined): string {
  if (!isObject(metric)) return '{}';
  return `{${Object.entries(metric)
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(', ')}}`;
}

/** The one number in a successful answer's `data`. */
function oneNumber(data: Json | undefined, query: string, where: string): Measurement {
  if (!isObject(data)) throw new MeasurementError(`${where}: the answer has no "data" object`);
  const { resultType, result } = data;
  if (resultType === 'scalar') return { value: sampleValue(result, where) };
  if (resultType !== 'vector') {
    throw new MeasurementError(
      `${where}: query ${JSON.stringify(query)} returned a ${String(resultType)}; an analysis query must return one number (a scalar or a single-sample vector)`,
    );
  }
  if (!Array.isArray(result)) throw new MeasurementError(`${where}: a vector answer without a result list`);
  if (result.length === 0) return { noData: true };
  if (result.length > 1) {
    const shown = result.slice(0, SHOWN_SERIES).map((s) => seriesName(isObject(s) ? s.metric : undefined));
    throw new MeasurementError(
      `query ${JSON.stringify(query)} returned ${result.length} series (${shown.join(', ')}${result.length > SHOWN_SERIES ? ', …' : ''}); ` +
        'an analysis rule needs one number: aggregate them, e.g. sum(...), max(...) or avg(...)',
    );
  }
  const sample = result[0];
  if (!isObject(sample)) throw new MeasurementError(`${where}: a vector sample that is not an object`);
  return { value: sampleValue(sample.value, where) };
}

function parseJson(text: string, where: string): Json {
  try {
    return JSON.parse(text) as Json;
  } catch {
    throw new MeasurementError(`${where}: the answer is not JSON (starts ${JSON.stringify(text.slice(0, 60))})`);
  }
}

/** A provider over Prometheus' instant query API. `at` queries the past (a baseline before the rollout). */
export function prometheusProvider(opts: PrometheusProviderOptions): MetricsProvider {
  const base = new URL(opts.url);
  if (base.protocol !== 'http:' && base.protocol !== 'https:') {
    throw new MeasurementError(`Prometheus URL ${redactUrl(base)}: expected an http:// or https:// URL`);
  }
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
  // fetch refuses URLs with credentials: send them as basic auth instead.
  if (base.username || base.password) {
    headers.authorization = `Basic ${Buffer.from(`${decodeURIComponent(base.username)}:${decodeURIComponent(base.password)}`).toString('base64')}`;
    base.username = '';
    base.password = '';
  }
  const endpoint = new URL(`${base.pathname.replace(/\/+$/, '')}/api/v1/query`, base);
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const maxBytes = opts.maxBytes ?? 1024 * 1024;

  return {
    async measure(query: string, at?: Date): Promise<Measurement> {
      const form = new URLSearchParams({ query });
      if (at !== undefined) form.set('time', (at.getTime() / 1000).toFixed(3));
      // POST: a long query does not hit URL length limits (the API accepts both).
      const res = await boundedFetch(endpoint, {
        method: 'POST',
        body: form.toString(),
        headers,
        timeoutMs,
        maxBytes,
        signal: opts.signal,
      });
      const where = `Prometheus ${redactUrl(endpoint)}`;
      const body = res.contentType.includes('json') ? parseJson(res.text, where) : undefined;
      if (isObject(body) && body.status === 'error') {
        throw new MeasurementError(
          `${where} refused query ${JSON.stringify(query)}: ${String(body.errorType)}: ${String(body.error).slice(0, 300)}`,
        );
      }
      if (res.status !== 200 || !isObject(body) || body.status !== 'success') {
        throw new MeasurementError(
          `${where}: HTTP ${res.status}, not a successful API answer (starts ${JSON.stringify(res.text.slice(0, 60))})`,
        );
      }
      return oneNumber(body.data, query, where);
    },
  };
}
