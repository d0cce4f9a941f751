import { describe, expect, it } from 'vitest';
import {
  dueRules,
  finishRun,
  KEPT_MEASUREMENTS,
  type MeasurementInput,
  type RunState,
  recordMeasurement,
  startRun,
  verdict,
} from '../../../src/analysis/run.js';
import type { AnalysisRule } from '../../../src/spec/types.js';
import { InvalidInputError } from '../../../src/util/errors.js';

const T0 = 1_700_000_000_000;

function rule(over: Partial<AnalysisRule> = {}): AnalysisRule {
  return { name: 'errors', query: 'sum(bzzz_errors_total)', failWhen: { above: 10 }, interval: '10s', ...over };
}

/** One measurement a step: a number, 'none' (no data), 'NaN', or an error ('!text'). */
type Step = number | 'none' | 'NaN' | `!${string}`;

function input(step: Step, at: number): MeasurementInput {
  if (step === 'none') return { at, noData: true };
  if (step === 'NaN') return { at, value: Number.NaN };
  if (typeof step === 'string') return { at, error: step.slice(1) };
  return { at, value: step };
}

/** Records `steps` for one rule, 10 s apart, and returns the state. */
function play(r: AnalysisRule, steps: Step[], state = startRun([r], T0)): RunState {
  return steps.reduce((s, step, i) => recordMeasurement(s, r.name, input(step, T0 + i * 10_000)), state);
}

describe('run accounting, one rule', () => {
  it.each<[string, Partial<AnalysisRule>, Step[], boolean, string]>([
    ['one failure with failureLimit 0 fails', {}, [11], false, 'Failed'],
    ['successes keep it running while count is 0', {}, [1, 2, 3], false, 'Running'],
    ['count 0 passes when finished', {}, [1, 2, 3], true, 'Successful'],
    ['count 3 passes after 3 measurements', { count: 3 }, [1, 2, 3], false, 'Successful'],
    ['count 3 keeps running after 2', { count: 3 }, [1, 2], false, 'Running'],
    ['failures within failureLimit 2 pass with count 3', { count: 3, failureLimit: 2 }, [11, 1, 12], false, 'Successful'],
    ['failureLimit 2: a third failure fails', { failureLimit: 2 }, [11, 12, 1, 13], false, 'Failed'],
    ['a failure after count was reached is ignored', { count: 1 }, [1, 50], false, 'Successful'],
    ['no data is inconclusive by default', {}, ['none'], false, 'Inconclusive'],
    ['no data within inconclusiveLimit 1 keeps running', { inconclusiveLimit: 1 }, ['none', 1], false, 'Running'],
    ['no data counting as a failure', { noData: 'fail' }, ['none'], false, 'Failed'],
    ['no data counting as a pass', { noData: 'pass', count: 2 }, ['none', 'none'], false, 'Successful'],
    ['NaN is inconclusive by default', {}, ['NaN'], false, 'Inconclusive'],
    ['NaN counting as a failure', { nan: 'fail' }, ['NaN'], false, 'Failed'],
    ['4 errors in a row are tolerated (default consecutiveErrorLimit 4)', {}, ['!down', '!down', '!down', '!down'], false, 'Running'],
    ['5 errors in a row make it inconclusive', {}, ['!down', '!down', '!down', '!down', '!down'], false, 'Inconclusive'],
    ['a measurement between errors resets the run of errors', {}, ['!a', '!a', '!a', '!a', 1, '!a', '!a', '!a', '!a'], false, 'Running'],
    ['consecutiveErrorLimit 0: one error is inconclusive', { consecutiveErrorLimit: 0 }, ['!down'], false, 'Inconclusive'],
    ['errors do not count towards count', { count: 2 }, [1, '!down'], false, 'Running'],
    ['only errors, then finished: never successful', {}, ['!down', '!down'], true, 'Inconclusive'],
    ['nothing measured, then finished: never successful', {}, [], true, 'Inconclusive'],
    ['count 5 not reached when finished: passes on what it saw', { count: 5 }, [1, 2], true, 'Successful'],
  ])('%s', (_, over, steps, finished, phase) => {
    expect(verdict(play(rule(over), steps), { finished }).phase).toBe(phase);
  });

  it('failure beats inconclusive within one rule (Argo checks failureLimit first)', () => {
    const s = play(rule({ inconclusiveLimit: 0, failureLimit: 0 }), ['none']);
    expect(s.rules[0].phase).toBe('Inconclusive');
    const both = play(rule({ inconclusiveLimit: 1, failureLimit: 0 }), ['none', 11]);
    expect(verdict(both, { finished: false }).phase).toBe('Failed');
  });

  it('says which rule failed, with the value, the threshold and a rollback', () => {
    const v = verdict(play(rule({ failureLimit: 1 }), [11, 2, 14]), { finished: false });
    expect(v).toEqual({
      phase: 'Failed',
      failing: {
        rule: 'errors',
        value: 14,
        threshold: 10,
        action: 'rollback',
        message: expect.stringContaining('2 failed measurement(s), more than failureLimit 1'),
      },
    });
    expect(v.failing?.message).toContain('14 is above 10');
  });

  it('a rule set to pause fails with the pause action', () => {
    expect(verdict(play(rule({ onFailure: 'pause' }), [11]), { finished: false }).failing?.action).toBe('pause');
  });

  it('inconclusive pauses, and says why', () => {
    const v = verdict(play(rule(), ['!connection refused', '!x', '!x', '!x', '!connection refused']), { finished: false });
    expect(v.phase).toBe('Inconclusive');
    expect(v.failing?.action).toBe('pause');
    expect(v.failing?.message).toContain('5 measurement errors in a row, more than consecutiveErrorLimit 4');
    expect(v.failing?.message).toContain('connection refused');
    expect(v.failing?.value).toBeUndefined();
  });

  it('compares with the baseline passed in', () => {
    const r = rule({ failWhen: { aboveBaseline: 2 } });
    const s = recordMeasurement(startRun([r], T0), 'errors', { at: T0, value: 0.5 }, 0.2);
    expect(verdict(s, { finished: false }).failing).toMatchObject({ value: 0.5, threshold: 0.4 });
    const missing = recordMeasurement(startRun([r], T0), 'errors', { at: T0, value: 0.5 });
    expect(verdict(missing, { finished: false }).failing?.message).toContain('the baseline is missing');
  });
});

describe('run accounting, several rules', () => {
  const rules = [
    rule({ name: 'errors', interval: '10s' }),
    rule({ name: 'latency', interval: '30s', initialDelay: '1m', failWhen: { aboveBaseline: 2 }, onFailure: 'pause' }),
    rule({ name: 'memory', interval: '15s', dryRun: true, failWhen: { above: 0.9 } }),
  ];

  it('schedules by initialDelay and interval', () => {
    let s = startRun(rules, T0);
    expect(dueRules(s, T0)).toEqual(['errors', 'memory']);
    s = recordMeasurement(s, 'errors', { at: T0, value: 1 });
    s = recordMeasurement(s, 'memory', { at: T0, value: 0.5 });
    expect(dueRules(s, T0 + 9_999)).toEqual([]);
    expect(dueRules(s, T0 + 10_000)).toEqual(['errors']);
    expect(dueRules(s, T0 + 15_000)).toEqual(['errors', 'memory']);
    expect(dueRules(s, T0 + 60_000)).toEqual(['errors', 'latency', 'memory']);
  });

  it('a dryRun rule is measured and shown but never decides', () => {
    let s = startRun(rules, T0);
    s = recordMeasurement(s, 'memory', { at: T0, value: 0.99 });
    expect(s.rules[2].phase).toBe('Failed');
    expect(s.rules[2].last[0]).toMatchObject({ value: 0.99, outcome: 'failed', threshold: 0.9 });
    expect(verdict(s, { finished: false })).toEqual({ phase: 'Running' });
    expect(dueRules(s, T0 + 10_000)).toEqual(['errors']);
    s = recordMeasurement(s, 'errors', { at: T0, value: 1 });
    s = recordMeasurement(s, 'latency', { at: T0 + 60_000, value: 1 }, 1);
    expect(verdict(s, { finished: true })).toEqual({ phase: 'Successful' });
  });

  it('a finished run keeps the phases its verdict judged: no rule is left Running', () => {
    let s = startRun([rule(), rule({ name: 'never' }), rule({ name: 'failed' })], T0);
    s = recordMeasurement(s, 'errors', { at: T0, value: 1 });
    s = recordMeasurement(s, 'failed', { at: T0, value: 11 });
    const done = finishRun(s);
    expect(done.rules.map((r) => r.phase)).toEqual(['Successful', 'Inconclusive', 'Failed']);
    expect(done.rules[1].message).toMatch(/no measurement was taken/);
    expect(done.rules[2]).toBe(s.rules[2]);
    expect(verdict(done, { finished: true })).toEqual(verdict(s, { finished: true }));
    expect(dueRules(done, T0 + 600_000)).toEqual([]);
  });

  it('a dryRun rule that is inconclusive does not pause either', () => {
    const s = recordMeasurement(startRun(rules, T0), 'memory', { at: T0, noData: true });
    expect(verdict(s, { finished: false }).phase).toBe('Running');
  });

  it('a rolling-back failure outranks a pausing one, and a decided run measures nothing more', () => {
    let s = startRun(rules, T0);
    s = recordMeasurement(s, 'latency', { at: T0 + 60_000, value: 5 }, 1);
    expect(verdict(s, { finished: false }).failing).toMatchObject({ rule: 'latency', action: 'pause' });
    expect(dueRules(s, T0 + 600_000)).toEqual([]);
    s = recordMeasurement(s, 'errors', { at: T0 + 60_000, value: 50 });
    expect(verdict(s, { finished: false }).failing).toMatchObject({ rule: 'errors', action: 'rollback', value: 50 });
  });

  it('failed outranks inconclusive across rules', () => {
    let s = startRun(rules, T0);
    s = recordMeasurement(s, 'errors', { at: T0, noData: true });
    expect(verdict(s, { finished: false }).phase).toBe('Inconclusive');
    s = recordMeasurement(s, 'latency', { at: T0 + 60_000, value: 5 }, 1);
    expect(verdict(s, { finished: false })).toMatchObject({ phase: 'Failed', failing: { rule: 'latency' } });
  });

  it('is successful before the end only when every rule is done', () => {
    let s = startRun([rule({ name: 'a', count: 1 }), rule({ name: 'b', count: 2 })], T0);
    s = recordMeasurement(s, 'a', { at: T0, value: 1 });
    s = recordMeasurement(s, 'b', { at: T0, value: 1 });
    expect(verdict(s, { finished: false }).phase).toBe('Running');
    expect(dueRules(s, T0 + 10_000)).toEqual(['b']);
    s = recordMeasurement(s, 'b', { at: T0 + 10_000, value: 1 });
    expect(verdict(s, { finished: false }).phase).toBe('Successful');
  });
});

describe('run state', () => {
  it('survives JSON (it lives in a Docker label), NaN and infinities included', () => {
    let s = startRun([rule({ inconclusiveLimit: 10, failureLimit: 10 })], T0);
    for (const [i, step] of (['NaN', 1e308 * 10, -1e308 * 10, 'none', '!boom', 3] as Step[]).entries())
      s = recordMeasurement(s, 'errors', input(step, T0 + i));
    const copy = JSON.parse(JSON.stringify(s)) as RunState;
    expect(copy).toEqual(s);
    expect(copy.rules[0].last.map((m) => m.value ?? m.error ?? 'no data')).toEqual(['+Inf', '-Inf', 'no data', 'boom', 3]);
    expect(recordMeasurement(copy, 'errors', { at: T0 + 10, value: 50 })).toEqual(
      recordMeasurement(s, 'errors', { at: T0 + 10, value: 50 }),
    );
  });

  it(`keeps only the last ${KEPT_MEASUREMENTS} measurements and bounded error text, however long the run`, () => {
    const r = rule();
    const s = play(
      r,
      Array.from({ length: 500 }, (_, i) => (i % 2 ? `!${'x'.repeat(10_000)}` : 1) as Step),
    );
    expect(s.rules[0].last).toHaveLength(KEPT_MEASUREMENTS);
    expect(s.rules[0].counts).toMatchObject({ measured: 250, errors: 250, successful: 250 });
    expect(JSON.stringify(s).length).toBeLessThan(4_000);
  });

  it('does not change the state it was given', () => {
    const s = startRun([rule()], T0);
    const before = JSON.stringify(s);
    recordMeasurement(s, 'errors', { at: T0, value: 50 });
    expect(JSON.stringify(s)).toBe(before);
  });

  it('refuses bad durations and duplicate names, naming the field', () => {
    expect(() => startRun([rule({ interval: '10' })], T0)).toThrow(/rules\[0\]\.interval/);
    expect(() => startRun([rule({ interval: '0s' })], T0)).toThrow(InvalidInputError);
    expect(() => startRun([rule({ initialDelay: 'soon' })], T0)).toThrow(/rules\[0\]\.initialDelay/);
    expect(() => startRun([rule(), rule()], T0)).toThrow(/rules\[1\]\.name: "errors" is used by an earlier rule/);
  });

  it('refuses a measurement of a rule it does not have', () => {
    expect(() => recordMeasurement(startRun([rule()], T0), 'latency', { at: T0, value: 1 })).toThrow(/no rule "latency"/);
  });
});
