// The small query language of the agents' own /metrics, for clusters without a Prometheus:
//   QUERY    = TERM [ "/" TERM ]
//   TERM     = AGG "(" SELECTOR ")" | AGG "(" "rate" "(" SELECTOR ")" ")"      AGG = sum | avg | max | min
//   SELECTOR = metric_name [ "{" label ("=" | "!=") "value" { "," ... } [","] "}" ]
// Deliberately this and no more: every rule reads as the PromQL it would be with a Prometheus, and
// the spec's validation can tell a user exactly what is allowed, column by column. This is the
// language and its parser; src/analysis/agent-query.ts evaluates it over the agents' samples.
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
