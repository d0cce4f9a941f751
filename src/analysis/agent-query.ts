// The small query language of the agents' own /metrics, for clusters without a Prometheus:
//   QUERY    = TERM [ "/" TERM ]
//   TERM     = AGG "(" SELECTOR ")" | AGG "(" "rate" "(" SELECTOR ")" ")"      AGG = sum | avg | max | min
//   SELECTOR = metric_name [ "{" label ("=" | "!=") "value" { "," ... } [","] "}" ]
// Deliberately this and no more: every rule reads as the PromQL it would be with a Prometheus, and
// the spec's validation can tell a user exactly what is allowed, column by column. Evaluation is
// pure: it takes the samples of every agent (aggregated across all of them) and, for rate, the
// scrape before; counter resets are handled as Prometheus does.
import type { Sample } from './prom-text.js';

export type Aggregation = 'sum' | 'avg' | 'max' | 'min';

export interface LabelMatcher {
  label: string;
  op: '=' | '!=';
  value: string;
}

export interface Selector {
  metric: string;
  matchers: LabelMatcher[];
}

export interface AgentTerm {
  agg: Aggregation;
  rate: boolean;
  selector: Selector;
}

export interface AgentQuery {
  numerator: AgentTerm;
  /** Present for `A / B`. */
  denominator?: AgentTerm;
}

export type AgentQueryParse = { ok: true; query: AgentQuery } | { ok: false; error: string };

/** One agent's samples at one moment (epoch ms). */
export interface AgentScrape {
  target: string;
  at: number;
  samples: readonly Sample[];
}

export type AgentQueryResult = { value: number } | { noData: true };

/** Queries longer than this are refused (they are one line in a spec). */
export const MAX_AGENT_QUERY_CHARS = 1024;

const AGGREGATIONS: readonly Aggregation[] = ['sum', 'avg', 'max', 'min'];
const METRIC_NAME = /[a-zA-Z_:][a-zA-Z0-9_:]*/y;
const LABEL_NAME = /[a-zA-Z_][a-zA-Z0-9_]*/y;
const SHAPE =
  'the agents\' query language allows AGG(metric{label="v",label!="v"}), AGG(rate(metric{...})) and TERM / TERM, with AGG one of sum, avg, max, min';

class ParseError extends Error {}

class Cursor {
  pos = 0;
  constructor(readonly text: string) {}

  fail(what: string): never {
    this.skipBlanks();
    const found = this.pos < this.text.length ? `"${this.text.slice(this.pos, this.pos + 16)}"` : 'the end of the query';
    throw new ParseError(`column ${this.pos + 1}: expected ${what}, found ${found} (${SHAPE})`);
  }

  skipBlanks(): void {
    while (/\s/.test(this.text[this.pos] ?? '')) this.pos++;
  }

  peek(re: RegExp): string | undefined {
    this.skipBlanks();
    re.lastIndex = this.pos;
    return re.exec(this.text)?.[0];
  }

  take(re: RegExp, what: string): string {
    const word = this.peek(re);
    if (word === undefined) this.fail(what);
    this.pos += word.length;
    return word;
  }

  eat(token: string): boolean {
    this.skipBlanks();
    if (!this.text.startsWith(token, this.pos)) return false;
    this.pos += token.length;
    return true;
  }

  expect(token: string, what = `"${token}"`): void {
    if (!this.eat(token)) this.fail(what);
  }

  string(): string {
    this.skipBlanks();
    if (this.text[this.pos] !== '"') this.fail('a double-quoted label value');
    let out = '';
    for (let i = this.pos + 1; i < this.text.length; i++) {
      const ch = this.text[i];
      if (ch === '"') {
        this.pos = i + 1;
        return out;
      }
      if (ch === '\\') {
        const esc = this.text[++i];
        if (esc === '\\' || esc === '"') out += esc;
        else if (esc === 'n') out += '\n';
        else {
          this.pos = i - 1;
          this.fail('one of the escapes \\\\, \\" or \\n');
        }
      } else out += ch;
    }
    this.pos = this.text.length;
    return this.fail('a closing double quote');
  }
}

function selector(c: Cursor): Selector {
  const metric = c.take(METRIC_NAME, 'a metric name');
  if (metric === 'rate' || (AGGREGATIONS as readonly string[]).includes(metric)) {
    c.pos -= metric.length;
    c.fail(`a metric name (${metric}( cannot be nested here)`);
  }
  const matchers: LabelMatcher[] = [];
  if (!c.eat('{')) return { metric, matchers };
  while (!c.eat('}')) {
    const label = c.take(LABEL_NAME, 'a label name or "}"');
    const op = c.eat('!=') ? '!=' : c.eat('=') ? '=' : c.fail('"=" or "!=" after the label name');
    matchers.push({ label, op, value: c.string() });
    if (!c.eat(',')) {
      c.expect('}', '"," or "}" after the label value');
      break;
    }
  }
  return { metric, matchers };
}

function term(c: Cursor): AgentTerm {
  const agg = c.peek(/[a-zA-Z_:][a-zA-Z0-9_:]*/y);
  if (!agg || !(AGGREGATIONS as readonly string[]).includes(agg)) c.fail('an aggregation: sum, avg, max or min');
  c.pos += agg.length;
  c.expect('(', `"(" after ${agg}`);
  const rate = c.peek(/rate\s*\(/y) !== undefined;
  if (rate) c.take(/rate\s*\(/y, '"rate("');
  const sel = selector(c);
  if (rate) c.expect(')', '")" closing rate(');
  c.expect(')', `")" closing ${agg}(`);
  return { agg: agg as Aggregation, rate, selector: sel };
}

/** Parses an agents' query once (rules and spec validation both use it). Errors give the column and what is allowed. */
export function parseAgentQuery(q: string): AgentQueryParse {
  if (typeof q !== 'string') return { ok: false, error: `expected a query string, found ${typeof q}` };
  if (q.length > MAX_AGENT_QUERY_CHARS)
    return { ok: false, error: `the query is ${q.length} characters long; at most ${MAX_AGENT_QUERY_CHARS} are allowed` };
  const c = new Cursor(q);
  try {
    const query: AgentQuery = { numerator: term(c) };
    if (c.eat('/')) query.denominator = term(c);
    c.skipBlanks();
    if (c.pos < q.length) c.fail(query.denominator ? 'the end of the query (only one "/" is allowed)' : '"/" or the end of the query');
    return { ok: true, query };
  } catch (err) {
    if (err instanceof ParseError) return { ok: false, error: err.message };
    throw err;
  }
}

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
