// Judges one measurement against a rule's failure condition. Pure. A measurement the condition
// cannot judge (no sample, NaN, a baseline that was never measured) is never quietly a success:
// it follows the rule's explicit policy, inconclusive by default (issue 9).
import type { AnalysisCondition, AnalysisOutcomePolicy, AnalysisRule } from '../spec/types.js';

export type MeasurementOutcome = 'successful' | 'failed' | 'inconclusive';

export interface Judgement {
  outcome: MeasurementOutcome;
  /** The number the value was compared with (for a baseline condition: baseline × factor). */
  threshold?: number;
  /** For people: what was compared, or why nothing could be. */
  message: string;
}

/** What judging needs of a rule (the run state keeps only this, not the query). */
export type JudgedRule = Pick<AnalysisRule, 'failWhen' | 'noData' | 'nan'>;

const POLICY_OUTCOME: Record<AnalysisOutcomePolicy, MeasurementOutcome> = {
  fail: 'failed',
  inconclusive: 'inconclusive',
  pass: 'successful',
};

/** A number as Prometheus writes it (NaN, +Inf, -Inf), so messages read the same as the user's dashboards. */
export function formatNumber(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Number.POSITIVE_INFINITY) return '+Inf';
  if (n === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(n);
}

function byPolicy(policy: AnalysisOutcomePolicy | undefined, field: 'noData' | 'nan', what: string): Judgement {
  const chosen = policy ?? 'inconclusive';
  return { outcome: POLICY_OUTCOME[chosen], message: `${what} (${field}: ${chosen}${policy === undefined ? ', the default' : ''})` };
}

interface Comparison {
  threshold: number;
  fails: (value: number) => boolean;
  describe: string;
}

/** The condition's one comparison, or a reason it has none (missing baseline, no field set). */
function comparison(cond: AnalysisCondition, baseline: number | undefined): Comparison | string {
  if (cond.above !== undefined) return { threshold: cond.above, fails: (v) => v > cond.above!, describe: 'above' };
  if (cond.below !== undefined) return { threshold: cond.below, fails: (v) => v < cond.below!, describe: 'below' };
  const factor = cond.aboveBaseline ?? cond.belowBaseline;
  if (factor === undefined) return 'the rule has no failure condition (failWhen needs one of above, below, aboveBaseline, belowBaseline)';
  const key = cond.aboveBaseline !== undefined ? 'aboveBaseline' : 'belowBaseline';
  if (baseline === undefined || !Number.isFinite(baseline)) {
    const seen = baseline === undefined ? 'none was measured' : `it was ${formatNumber(baseline)}`;
    return `the baseline is missing (${key}: ${factor} needs a finite value measured before the rollout started; ${seen})`;
  }
  const threshold = baseline * factor;
  const above = key === 'aboveBaseline';
  return {
    threshold,
    fails: above ? (v) => v > threshold : (v) => v < threshold,
    describe: `${above ? 'above' : 'below'} ${factor} × baseline ${formatNumber(baseline)} =`,
  };
}

/**
 * Judges `value` (undefined: the query returned no sample) under `rule`. NaN and no data follow
 * `rule.nan` / `rule.noData`; a baseline condition without a finite baseline follows `rule.noData`.
 */
export function judge(value: number | undefined, rule: JudgedRule, baseline?: number): Judgement {
  if (value === undefined) return byPolicy(rule.noData, 'noData', 'the query returned no data');
  if (Number.isNaN(value)) return byPolicy(rule.nan, 'nan', 'the query returned NaN');
  const cmp = comparison(rule.failWhen, baseline);
  if (typeof cmp === 'string') {
    // Nothing measured before the rollout (no traffic, nothing scraped yet) is no data to compare
    // with: the rule's explicit noData policy decides, inconclusive by default.
    const relative = rule.failWhen.aboveBaseline !== undefined || rule.failWhen.belowBaseline !== undefined;
    return relative ? byPolicy(rule.noData, 'noData', cmp) : { outcome: 'inconclusive', message: cmp };
  }
  const failed = cmp.fails(value);
  return {
    outcome: failed ? 'failed' : 'successful',
    threshold: cmp.threshold,
    message: `${formatNumber(value)} is ${failed ? '' : 'not '}${cmp.describe} ${formatNumber(cmp.threshold)}`,
  };
}
