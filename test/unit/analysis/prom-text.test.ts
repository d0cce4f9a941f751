import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { ExpositionFormatError, parseExposition, parseSampleValue } from '../../../src/analysis/prom-text.js';

describe('parseExposition', () => {
  it('reads what prom-client serves: counters, gauges and histograms with labels', async () => {
    const registry = new Registry();
    const errors = new Counter({
      name: 'bzzz_errors_total',
      help: 'Errors.\nBy "component".',
      labelNames: ['component'],
      registers: [registry],
    });
    errors.inc({ component: 'p2p' }, 3);
    errors.inc({ component: 'c:\\a"s\nx' }, 1);
    new Gauge({ name: 'bzzz_system_health_score', help: 'Health', registers: [registry] }).set(0.75);
    const h = new Histogram({ name: 'bzzz_api_latency_seconds', help: 'Latency', buckets: [0.1, 1], registers: [registry] });
    h.observe(0.05);
    h.observe(0.5);
    const text = await registry.metrics();

    const e = parseExposition(text);
    expect(e.types.get('bzzz_errors_total')).toBe('counter');
    expect(e.types.get('bzzz_api_latency_seconds')).toBe('histogram');
    expect(e.help.get('bzzz_errors_total')).toBe('Errors.\nBy "component".');
    const find = (name: string, labels: Record<string, string> = {}) =>
      e.samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
    expect(find('bzzz_errors_total', { component: 'p2p' })).toBe(3);
    expect(find('bzzz_errors_total', { component: 'c:\\a"s\nx' })).toBe(1);
    expect(find('bzzz_system_health_score')).toBe(0.75);
    expect(find('bzzz_api_latency_seconds_bucket', { le: '0.1' })).toBe(1);
    expect(find('bzzz_api_latency_seconds_bucket', { le: '+Inf' })).toBe(2);
    expect(find('bzzz_api_latency_seconds_sum')).toBeCloseTo(0.55);
    expect(find('bzzz_api_latency_seconds_count')).toBe(2);
  });

  it('reads the format details: timestamps, special values, blanks, trailing commas, CRLF, other comments', () => {
    const e = parseExposition(
      [
        '# a comment that is not HELP or TYPE',
        '',
        'a 1 1700000000000',
        'b{x="1",} NaN',
        'c { x = "1" , y="" } +Inf',
        'd -Inf\r',
        '  e 1.5e3',
        'f{} -0.25',
        'g{__proto__="p"} 2',
      ].join('\n'),
    );
    expect(e.samples.map((s) => [s.name, s.value, s.timestampMs])).toEqual([
      ['a', 1, 1700000000000],
      ['b', Number.NaN, undefined],
      ['c', Number.POSITIVE_INFINITY, undefined],
      ['d', Number.NEGATIVE_INFINITY, undefined],
      ['e', 1500, undefined],
      ['f', -0.25, undefined],
      ['g', 2, undefined],
    ]);
    expect({ ...e.samples[2].labels }).toEqual({ x: '1', y: '' });
    expect(Object.entries(e.samples[6].labels)).toEqual([['__proto__', 'p']]);
  });

  it.each([
    ['metric{x="1" 2', 2, 14, '"," or "}" after the label value'],
    ['metric{x=1} 2', 2, 10, 'a double-quoted label value'],
    ['metric{x="1\\t"} 2', 2, 12, 'one of the escapes'],
    ['metric{x="1"', 2, 13, '"," or "}"'],
    ['metric{x="unterminated} 2', 2, 26, 'a closing double quote'],
    ['metric{x="1",x="2"} 2', 2, 14, 'a label other than "x" (it appears twice)'],
    ['metric{9x="1"} 2', 2, 8, 'a label name'],
    ['metric', 2, 7, 'a sample value'],
    ['metric twelve', 2, 8, 'a sample value'],
    ['metric 1 12.5', 2, 10, 'a timestamp'],
    ['metric 1 12 extra', 2, 13, 'the end of the line'],
    ['9metric 1', 2, 1, 'a metric name'],
    ['# TYPE metric countr', 2, 15, 'a type: counter, gauge'],
    ['# TYPE metric gauge\n# TYPE metric gauge', 3, 20, 'one # TYPE line'],
  ])('refuses %j with the line and column', (bad, line, column, what) => {
    let err: unknown;
    try {
      parseExposition(`ok 1\n${bad}`);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ExpositionFormatError);
    expect((err as Error).message).toContain(`line ${line}, column ${column}: expected ${what}`);
  });

  it('refuses an exposition larger than the limit, before reading it', () => {
    const big = 'm 1\n'.repeat(1000);
    expect(() => parseExposition(big, 3999)).toThrow(/larger than the 3999 bytes allowed/);
    expect(parseExposition(big, 4000).samples).toHaveLength(1000);
    // Counted in bytes, not characters.
    expect(() => parseExposition(`m{x="${'é'.repeat(600)}"} 1`, 1000)).toThrow(ExpositionFormatError);
  });
});

describe('parseSampleValue', () => {
  it.each([
    ['1', 1],
    ['-2.5e-3', -0.0025],
    ['.5', 0.5],
    ['NaN', Number.NaN],
    ['+Inf', Number.POSITIVE_INFINITY],
    ['-Inf', Number.NEGATIVE_INFINITY],
    ['Inf', Number.POSITIVE_INFINITY],
    ['0x10', undefined],
    ['', undefined],
    ['1_000', undefined],
    ['Infinity!', undefined],
  ])('%j is %d', (text, value) => {
    expect(parseSampleValue(text)).toBe(value);
  });
});
