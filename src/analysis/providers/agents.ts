// Measurements without a Prometheus: every agent's health-port /metrics is scraped directly and the
// agents' query language (../agent-query.ts) aggregates across all of them. rate() needs the scrape
// before, which this provider keeps per query (only the series the query reads); for the first
// measurement of a rate it scrapes twice, rateWindowMs apart, rather than answer "no data" and
// count an inconclusive measurement against a rollout that did nothing wrong.
// An agent that does not answer is left out of that measurement (agents restart one by one during
// a rolling update; health has rules of its own); when none answers the measurement is an error.
import { setTimeout as sleep } from 'node:timers/promises';
import { type AgentScrape, evaluateAgentQuery } from '../agent-query.js';
import { type AgentQuery, parseAgentQuery } from '../../spec/agent-query.js';
import { DEFAULT_MAX_EXPOSITION_BYTES, parseExposition } from '../prom-text.js';
import { boundedFetch, redactUrl } from './http.js';
import { type Measurement, MeasurementError, type MetricsProvider } from './provider.js';

export interface AgentsProviderOptions {
  /** The agents' /metrics URLs (http://<task>:8081/metrics), or a function giving the current ones. */
  targets: readonly string[] | (() => readonly string[] | Promise<readonly string[]>);
  /** Per scrape. Default 5 s. */
  timeoutMs?: number;
  /** Per exposition. Default 4 MiB. */
  maxBytes?: number;
  /** Gap between the two scrapes of a rate's first measurement. Default 10 s. */
  rateWindowMs?: number;
  /** A previous scrape older than this is not used for rate (it would average over a stale window). Default 10 min. */
  maxPreviousAgeMs?: number;
  /** Wall clock, epoch ms. */
  now?: () => number;
  signal?: AbortSignal;
}

/** How far in the past `at` may be: the agents tell only the present. */
const PRESENT_TOLERANCE_MS = 5_000;
/** Queries whose previous scrape is kept (rules are few; this only bounds a misuse). */
const MAX_REMEMBERED_QUERIES = 100;
const SHOWN_FAILURES = 3;

function metricsOf(q: AgentQuery): Set<string> {
  return new Set([q.numerator.selector.metric, ...(q.denominator ? [q.denominator.selector.metric] : [])]);
}

const usesRate = (q: AgentQuery) => q.numerator.rate || q.denominator?.rate === true;

/** A provider that scrapes the agents directly. Throws MeasurementError for a bad query, a past `at`, or no agent answering. */
export function agentsProvider(opts: AgentsProviderOptions): MetricsProvider {
  const timeoutMs = opts.timeoutMs ?? 5_000;
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_EXPOSITION_BYTES;
  const rateWindowMs = opts.rateWindowMs ?? 10_000;
  const maxPreviousAgeMs = opts.maxPreviousAgeMs ?? 600_000;
  const now = opts.now ?? Date.now;
  const previous = new Map<string, AgentScrape[]>();

  async function scrapeOne(target: string, wanted: Set<string>): Promise<AgentScrape> {
    const url = new URL(target);
    const res = await boundedFetch(url, { timeoutMs, maxBytes, signal: opts.signal, headers: { accept: 'text/plain' } });
    if (res.status !== 200) throw new MeasurementError(`${redactUrl(url)}: HTTP ${res.status}`);
    const at = now();
    try {
      // Keep only what the query reads: the previous scrape is held between measurements.
      const samples = parseExposition(res.text, maxBytes).samples.filter((s) => wanted.has(s.name));
      return { target, at, samples };
    } catch (err) {
      throw new MeasurementError(`${redactUrl(url)}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  }

  async function scrapeAll(wanted: Set<string>): Promise<AgentScrape[]> {
    const targets = typeof opts.targets === 'function' ? await opts.targets() : opts.targets;
    if (targets.length === 0) throw new MeasurementError('no agent /metrics URL to scrape (no agent task is running)');
    const settled = await Promise.allSettled(targets.map((t) => scrapeOne(t, wanted)));
    const answered = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    if (answered.length > 0) return answered;
    const reasons = settled.flatMap((s) =>
      s.status === 'rejected' ? [s.reason instanceof Error ? s.reason.message : String(s.reason)] : [],
    );
    throw new MeasurementError(
      `none of the ${targets.length} agents' /metrics answered: ${reasons.slice(0, SHOWN_FAILURES).join('; ')}${reasons.length > SHOWN_FAILURES ? '; …' : ''}`,
    );
  }

  function remember(query: string, scrape: AgentScrape[]): void {
    previous.delete(query);
    previous.set(query, scrape);
    if (previous.size > MAX_REMEMBERED_QUERIES) previous.delete(previous.keys().next().value as string);
  }

  return {
    async measure(query: string, at?: Date): Promise<Measurement> {
      const parsed = parseAgentQuery(query);
      if (!parsed.ok) throw new MeasurementError(`query ${JSON.stringify(query)}: ${parsed.error}`);
      if (at !== undefined && now() - at.getTime() > PRESENT_TOLERANCE_MS) {
        throw new MeasurementError(
          `the agents' /metrics tell only the present, not ${at.toISOString()}: measure the baseline before the rollout starts, or configure a Prometheus`,
        );
      }
      const wanted = metricsOf(parsed.query);
      let before = previous.get(query);
      if (before?.every((s) => now() - s.at > maxPreviousAgeMs)) before = undefined;
      if (usesRate(parsed.query) && !before) {
        before = await scrapeAll(wanted);
        await sleep(rateWindowMs, undefined, { signal: opts.signal });
      }
      const current = await scrapeAll(wanted);
      remember(query, current);
      return evaluateAgentQuery(parsed.query, current, before);
    },
  };
}
