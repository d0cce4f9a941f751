import { describe, expect, it } from 'vitest';
import { type JudgedRule, judge } from '../../../src/analysis/conditions.js';

const above10: JudgedRule = { failWhen: { above: 10 } };
const below5: JudgedRule = { failWhen: { below: 5 } };
const twiceBaseline: JudgedRule = { failWhen: { aboveBaseline: 2 } };
const halfBaseline: JudgedRule = { failWhen: { belowBaseline: 0.5 } };

describe('judge', () => {
  it.each([
    ['above: over', above10, 12, undefined, 'failed', 10, '12 is above 10'],
    ['above: equal is not above', above10, 10, undefined, 'successful', 10, '10 is not above 10'],
    ['above: under', above10, 3, undefined, 'successful', 10, '3 is not above 10'],
    ['above: +Inf fails', above10, Number.POSITIVE_INFINITY, undefined, 'failed', 10, '+Inf is above 10'],
    ['below: under', below5, 4.5, undefined, 'failed', 5, '4.5 is below 5'],
    ['below: over', below5, 6, undefined, 'successful', 5, '6 is not below 5'],
    ['below: -Inf fails', below5, Number.NEGATIVE_INFINITY, undefined, 'failed', 5, '-Inf is below 5'],
    ['aboveBaseline: 200 % of 0.1 is 0.2', twiceBaseline, 0.25, 0.1, 'failed', 0.2, '0.25 is above 2 × baseline 0.1 = 0.2'],
    ['aboveBaseline: within', twiceBaseline, 0.15, 0.1, 'successful', 0.2, 'not above 2 × baseline'],
    ['belowBaseline: under half', halfBaseline, 40, 100, 'failed', 50, '40 is below 0.5 × baseline 100 = 50'],
    ['belowBaseline: within', halfBaseline, 60, 100, 'successful', 50, 'not below'],
    ['baseline of 0: anything above fails', twiceBaseline, 0.001, 0, 'failed', 0, 'above 2 × baseline 0'],
  ])('%s', (_, rule, value, baseline, outcome, threshold, message) => {
    const j = judge(value, rule, baseline);
    expect(j.outcome).toBe(outcome);
    expect(j.threshold).toBe(threshold);
    expect(j.message).toContain(message);
  });

  it.each([
    ['no data, default', { failWhen: { above: 1 } }, undefined, 'inconclusive', 'no data (noData: inconclusive, the default)'],
    ['no data, fail', { failWhen: { above: 1 }, noData: 'fail' }, undefined, 'failed', 'no data (noData: fail)'],
    ['no data, pass', { failWhen: { above: 1 }, noData: 'pass' }, undefined, 'successful', 'no data (noData: pass)'],
    [
      'no data, explicit inconclusive',
      { failWhen: { above: 1 }, noData: 'inconclusive' },
      undefined,
      'inconclusive',
      '(noData: inconclusive)',
    ],
    ['NaN, default', { failWhen: { above: 1 } }, Number.NaN, 'inconclusive', 'NaN (nan: inconclusive, the default)'],
    ['NaN, fail', { failWhen: { below: 1 }, nan: 'fail' }, Number.NaN, 'failed', 'NaN (nan: fail)'],
    ['NaN, pass', { failWhen: { above: 1 }, nan: 'pass' }, Number.NaN, 'successful', 'NaN (nan: pass)'],
    ['NaN does not follow the noData policy', { failWhen: { above: 1 }, noData: 'pass' }, Number.NaN, 'inconclusive', 'nan: inconclusive'],
    ['no data does not follow the nan policy', { failWhen: { above: 1 }, nan: 'pass' }, undefined, 'inconclusive', 'noData: inconclusive'],
  ] as const)('%s', (_, rule, value, outcome, message) => {
    const j = judge(value, rule);
    expect(j.outcome).toBe(outcome);
    expect(j.threshold).toBeUndefined();
    expect(j.message).toContain(message);
  });

  it.each([
    ['no baseline', undefined, 'none was measured'],
    ['NaN baseline', Number.NaN, 'it was NaN'],
    ['infinite baseline', Number.POSITIVE_INFINITY, 'it was +Inf'],
  ])('a baseline condition with %s is inconclusive and says the baseline is missing', (_, baseline, seen) => {
    for (const rule of [twiceBaseline, halfBaseline]) {
      const j = judge(5, rule, baseline);
      expect(j.outcome).toBe('inconclusive');
      expect(j.message).toContain('the baseline is missing');
      expect(j.message).toContain(seen);
    }
  });

  it.each([
    ['pass', 'successful'],
    ['fail', 'failed'],
    ['inconclusive', 'inconclusive'],
  ] as const)('a baseline condition with no baseline follows noData: %s', (noData, outcome) => {
    const j = judge(5, { ...twiceBaseline, noData }, undefined);
    expect(j.outcome).toBe(outcome);
    expect(j.message).toContain('the baseline is missing');
    expect(j.message).toContain(`noData: ${noData}`);
  });

  it('a baseline missing never hides a noData policy of fail', () => {
    expect(judge(undefined, { failWhen: { aboveBaseline: 2 }, noData: 'fail' }).outcome).toBe('failed');
  });

  it('an absolute condition ignores a baseline', () => {
    expect(judge(12, above10, 100).outcome).toBe('failed');
  });

  it('a rule without a condition is inconclusive, never successful', () => {
    const j = judge(1, { failWhen: {} });
    expect(j.outcome).toBe('inconclusive');
    expect(j.message).toContain('no failure condition');
  });
});
