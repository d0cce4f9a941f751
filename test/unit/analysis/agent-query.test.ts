import { describe, expect, it } from 'vitest';
import { type AgentScrape, evaluateAgentQuery } from '../../../src/analysis/agent-query.js';
import { type AgentQuery, parseAgentQuery } from '../../../src/spec/agent-query.js';
import { parseExposition } from '../../../src/analysis/prom-text.js';

function parsed(q: string): AgentQuery {
  const r = parseAgentQuery(q);
  if (!r.ok) throw new Error(r.error);
  return r.query;
}

describe('parseAgentQuery', () => {
  it.each<[string, AgentQuery]>([
    ['sum(bzzz_errors_total)', { numerator: { agg: 'sum', rate: false, selector: { metric: 'bzzz_errors_total', matchers: [] } } }],
    [
      ' max ( rate ( bzzz_errors_total { component = "p2p" , kind != "x\\"y" , } ) ) ',
      {
        numerator: {
          agg: 'max',
          rate: true,
          selector: {
            metric: 'bzzz_errors_total',
            matchers: [
              { label: 'component', op: '=', value: 'p2p' },
              { label: 'kind', op: '!=', value: 'x"y' },
            ],
          },
        },
      },
    ],
    [
      'sum(rate(http_requests_total{code="500"}))/sum(rate(http_requests_total))',
      {
        numerator: {
          agg: 'sum',
          rate: true,
          selector: { metric: 'http_requests_total', matchers: [{ label: 'code', op: '=', value: '500' }] },
        },
        denominator: { agg: 'sum', rate: true, selector: { metric: 'http_requests_total', matchers: [] } },
      },
    ],
    ['min(m{})', { numerator: { agg: 'min', rate: false, selector: { metric: 'm', matchers: [] } } }],
  ])('parses %j', (q, query) => {
    expect(parseAgentQuery(q)).toEqual({ ok: true, query });
  });

  it.each([
    ['count(m)', 1, 'an aggregation: sum, avg, max or min, found "count(m)"'],
    ['m', 1, 'an aggregation'],
    ['rate(m)', 1, 'an aggregation'],
    ['sum m', 5, '"(" after sum'],
    ['sum(rate(m)', 12, '")" closing sum('],
    ['sum(rate(m', 11, '")" closing rate('],
    ['sum(m{a="1"} )x', 15, '"/" or the end of the query'],
    ['sum(m) / sum(n) / sum(o)', 17, 'the end of the query (only one "/" is allowed)'],
    ['sum(m) /', 9, 'an aggregation'],
    ['sum(m{a=~"x"})', 9, 'a double-quoted label value'],
    ['sum(m{a="x})', 13, 'a closing double quote'],
    ['sum(m{a="\\d"})', 10, 'one of the escapes'],
    ['sum(m{1a="x"})', 7, 'a label name or "}"'],
    ['sum(m{a})', 8, '"=" or "!=" after the label name'],
    ['sum(m{a="1" b="2"})', 13, '"," or "}" after the label value'],
    ['sum(sum(m))', 5, 'a metric name (sum( cannot be nested here)'],
    ['sum(rate(rate(m)))', 10, 'a metric name (rate( cannot be nested here)'],
    ['sum(m) + sum(n)', 8, '"/" or the end of the query'],
    ['sum(m[5m])', 6, '")" closing sum('],
    ['', 1, 'an aggregation'],
  ])('refuses %j at column %d, saying what is allowed', (q, column, what) => {
    const r = parseAgentQuery(q);
    expect(r.ok).toBe(false);
    const error = r.ok ? '' : r.error;
    expect(error).toContain(`column ${column}: expected ${what}`);
    expect(error).toContain('AGG(metric{label="v",label!="v"}), AGG(rate(metric{...})) and TERM / TERM');
  });

  it('refuses an overlong query and a non-string', () => {
    expect(parseAgentQuery(`sum(${'m'.repeat(2000)})`)).toEqual({ ok: false, error: expect.stringContaining('at most 1024') });
    expect(parseAgentQuery(42 as unknown as string)).toEqual({ ok: false, error: 'expected a query string, found number' });
  });
});

/** Scrapes of several agents from exposition text. */
function scrape(at: number, byAgent: Record<string, string>): AgentScrape[] {
  return Object.entries(byAgent).map(([target, text]) => ({ target, at, samples: parseExposition(text).samples }));
}

describe('evaluateAgentQuery', () => {
  const now = scrape(10_000, {
    a: 'bzzz_system_health_score 0.9\nerr{component="p2p"} 10\nerr{component="cas"} 4\nreq 100',
    b: 'bzzz_system_health_score 0.5\nerr{component="p2p"} 6\nreq 300',
    c: 'bzzz_system_health_score NaN\n',
  });

  it.each([
    ['sum(err)', 20],
    ['sum(err{component="p2p"})', 16],
    ['sum(err{component!="p2p"})', 4],
    ['sum(err{missing=""})', 20],
    ['max(err)', 10],
    ['min(err)', 4],
    ['avg(err)', 20 / 3],
    ['max(bzzz_system_health_score)', 0.9],
    ['min(bzzz_system_health_score)', 0.5],
    ['sum(err) / sum(req)', 0.05],
    ['sum(err{component="cas"}) / sum(err{component="x"})', undefined],
    ['sum(nothing)', undefined],
  ])('%s over three agents is %d', (q, value) => {
    expect(evaluateAgentQuery(parsed(q), now)).toEqual(value === undefined ? { noData: true } : { value });
  });

  it('divides as PromQL does: x/0 is +Inf, 0/0 is NaN', () => {
    const s = scrape(0, { a: 'x 1\nzero 0' });
    expect(evaluateAgentQuery(parsed('sum(x) / sum(zero)'), s)).toEqual({ value: Number.POSITIVE_INFINITY });
    expect(evaluateAgentQuery(parsed('sum(zero) / sum(zero)'), s)).toEqual({ value: Number.NaN });
  });

  it('avg and sum carry a NaN sample through', () => {
    expect(evaluateAgentQuery(parsed('avg(bzzz_system_health_score)'), now)).toEqual({ value: Number.NaN });
  });

  describe('rate', () => {
    const before = scrape(0, { a: 'err{component="p2p"} 4\nreq 0', b: 'err{component="p2p"} 100\nreq 0' });

    it('is no data without a previous scrape', () => {
      expect(evaluateAgentQuery(parsed('sum(rate(err))'), now)).toEqual({ noData: true });
      expect(evaluateAgentQuery(parsed('sum(rate(err)) / sum(req)'), now)).toEqual({ noData: true });
    });

    it('is per second per series, summed across agents; a counter that went down restarted from 0 (a reset)', () => {
      // a: 4 → 10 over 10 s = 0.6/s; b: 100 → 6 is a reset: 6 over 10 s = 0.6/s; a's cas series is new: left out.
      expect(evaluateAgentQuery(parsed('sum(rate(err))'), now, before)).toEqual({ value: 1.2 });
      expect(evaluateAgentQuery(parsed('max(rate(err{component="p2p"}))'), now, before)).toEqual({ value: 0.6 });
      // 1.2 errors/s over 40 requests/s.
      expect(evaluateAgentQuery(parsed('sum(rate(err)) / sum(rate(req))'), now, before)).toEqual({ value: 0.03 });
    });

    it('keeps agents apart: the same series on two agents are two series', () => {
      const prev = scrape(0, { a: 'c 10', b: 'c 0' });
      const cur = scrape(1_000, { a: 'c 11', b: 'c 5' });
      expect(evaluateAgentQuery(parsed('sum(rate(c))'), cur, prev)).toEqual({ value: 6 });
    });

    it('is no data when no series was in the previous scrape (an agent that was not there)', () => {
      const prev = scrape(0, { a: 'other 1' });
      expect(evaluateAgentQuery(parsed('sum(rate(err))'), now, prev)).toEqual({ noData: true });
    });

    it('ignores a previous scrape that is not earlier', () => {
      expect(evaluateAgentQuery(parsed('sum(rate(err))'), now, now)).toEqual({ noData: true });
    });
  });
});
