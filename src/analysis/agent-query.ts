// Evaluation of the agents' query language (src/spec/agent-query.ts): pure, over the samples of
// every agent (aggregated across all of them) and, for rate, the scrape before; counter resets are
// handled as Prometheus does.
import type { Sample } from './prom-text.js';
import type { Aggregation, AgentQuery, AgentTerm, Selector } from '../spec/agent-query.js';

/** One agent's samples at one moment (epoch ms). */
export interface AgentScrape {
  target: string;
  at: number;
  samples: readonly Sample[];
}

export type AgentQueryResult = { value: number } | { noData: true };

function matches(sample: Sample, sel: Selector): boolean {
  if (sample.name !== sel.metric) return false;
  // A missing label is the empty string, as in PromQL.
  return sel.matchers.every((m) => ((sample.labels[m.label] ?? '') === m.value) === (m.op === '='));
}

/** A series' identity across scrapes: the agent it came from, its name and its labels. */
function seriesKey(target: string, sample: Sample): string {
  const labels = Object.keys(sample.labels)
    .sort()
    .map((k) => `${k}=${JSON.stringify(sample.labels[k])}`);
  return JSON.stringify([target, sample.name, ...labels]);
}

function selectValues(scrapes: readonly AgentScrape[], sel: Selector): Map<string, { value: number; at: number }> {
  const out = new Map<string, { value: number; at: number }>();
  for (const s of scrapes)
    for (const sample of s.samples) if (matches(sample, sel)) out.set(seriesKey(s.target, sample), { value: sample.value, at: s.at });
  return out;
}

/** Per-second increase of each series present in both scrapes; a value that went down is a counter reset (it restarted from 0). */
function rates(current: readonly AgentScrape[], previous: readonly AgentScrape[], sel: Selector): number[] {
  const before = selectValues(previous, sel);
  const out: number[] = [];
  for (const [key, now] of selectValues(current, sel)) {
    const then = before.get(key);
    if (!then || now.at <= then.at) continue;
    const increase = now.value < then.value ? now.value : now.value - then.value;
    out.push(increase / ((now.at - then.at) / 1000));
  }
  return out;
}

function aggregate(agg: Aggregation, values: number[]): number {
  switch (agg) {
    case 'sum':
      return values.reduce((a, b) => a + b, 0);
    case 'avg':
      return values.reduce((a, b) => a + b, 0) / values.length;
    // PromQL's max and min skip NaN samples unless every sample is NaN (Math.max would return NaN).
    case 'max':
    case 'min': {
      const numbers = values.filter((v) => !Number.isNaN(v));
      if (numbers.length === 0) return Number.NaN;
      return agg === 'max' ? Math.max(...numbers) : Math.min(...numbers);
    }
  }
}

function evaluateTerm(t: AgentTerm, current: readonly AgentScrape[], previous: readonly AgentScrape[] | undefined): number | undefined {
  let values: number[];
  if (t.rate) {
    if (!previous) return undefined;
    values = rates(current, previous, t.selector);
  } else values = [...selectValues(current, t.selector).values()].map((v) => v.value);
  return values.length === 0 ? undefined : aggregate(t.agg, values);
}

/**
 * Evaluates a parsed query over every agent's current scrape (and the previous one, for rate). No data when
 * no series matches, or when a rate has no earlier scrape of a matching series. `A / B` divides as PromQL
 * does (x/0 is ±Inf, 0/0 NaN: the rule's nan policy judges that).
 */
export function evaluateAgentQuery(q: AgentQuery, current: readonly AgentScrape[], previous?: readonly AgentScrape[]): AgentQueryResult {
  const a = evaluateTerm(q.numerator, current, previous);
  if (a === undefined) return { noData: true };
  if (!q.denominator) return { value: a };
  const b = evaluateTerm(q.denominator, current, previous);
  return b === undefined ? { noData: true } : { value: a / b };
}
