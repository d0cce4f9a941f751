// The accounting of one analysis run over many rules, with Argo Rollouts' AnalysisRun semantics
// (count, interval, initialDelay, failureLimit, inconclusiveLimit, consecutiveErrorLimit, dryRun).
// Pure: the caller measures and passes the clock in. The state is plain JSON (no NaN, no
// Infinity, no Date) because it is persisted in a Docker label, and it is bounded: each rule keeps
// only its counters and last few measurements, however long the run.
import { parseDurationMs } from '../spec/units.js';
import type { AnalysisRule } from '../spec/types.js';
import { InvalidInputError } from '../util/errors.js';
import { formatNumber, type JudgedRule, judge, type MeasurementOutcome } from './conditions.js';

/** Measurements kept per rule (the label that holds the state must stay small). */
export const KEPT_MEASUREMENTS = 5;
/** Longest provider error text kept in the state (a provider could answer with a whole page). */
const MAX_ERROR_CHARS = 300;

const DEFAULTS = { interval: '30s', initialDelay: '0s', count: 0, failureLimit: 0, inconclusiveLimit: 0, consecutiveErrorLimit: 4 };

export type FailureAction = 'rollback' | 'pause';
export type RulePhase = 'Running' | 'Successful' | 'Failed' | 'Inconclusive';
export type RunPhase = RulePhase;
/** A value as JSON can hold it: NaN and the infinities are written as Prometheus writes them. */
export type StoredValue = number | 'NaN' | '+Inf' | '-Inf';

/** A rule with its defaults applied and durations in ms: all the accounting needs, without the query. */
export interface RuleSettings extends JudgedRule {
  name: string;
  intervalMs: number;
  initialDelayMs: number;
  /** 0: measure until the run is finished. */
  count: number;
  failureLimit: number;
  inconclusiveLimit: number;
  consecutiveErrorLimit: number;
  dryRun: boolean;
  onFailure: FailureAction;
}

export interface MeasurementRecord {
  /** Epoch ms. */
  at: number;
  value?: StoredValue;
  noData?: true;
  error?: string;
  outcome: MeasurementOutcome | 'error';
  threshold?: number;
  message: string;
}

export interface RuleCounts {
  /** Measurements that gave a judgement (errors are not measurements, as in Argo). */
  measured: number;
  successful: number;
  failed: number;
  inconclusive: number;
  errors: number;
  consecutiveErrors: number;
}

export interface RuleState {
  rule: RuleSettings;
  phase: RulePhase;
  /** Epoch ms when the rule is next due. */
  nextAt: number;
  counts: RuleCounts;
  /** The last KEPT_MEASUREMENTS measurements, oldest first. */
  last: MeasurementRecord[];
  /** Why the rule left Running. */
  message?: string;
}

export interface RunState {
  version: 1;
  /** Epoch ms. */
  startedAt: number;
  rules: RuleState[];
}

export type MeasurementInput = { at: number } & ({ value: number } | { noData: true } | { error: string });

export interface Failing {
  rule: string;
  value?: StoredValue;
  threshold?: number;
  message: string;
  action: FailureAction;
}

export interface Verdict {
  phase: RunPhase;
  /** The rule that decided a Failed or Inconclusive run (a rolling-back rule before a pausing one). */
  failing?: Failing;
}

function settings(rule: AnalysisRule, index: number): RuleSettings {
  const field = (name: string) => `spec.upgrade.analysis.rules[${index}].${name}`;
  const intervalMs = parseDurationMs(rule.interval ?? DEFAULTS.interval, field('interval'));
  const count = rule.count ?? DEFAULTS.count;
  // A zero interval would measure in a busy loop; a single measurement needs none.
  if (intervalMs <= 0 && count !== 1) throw new InvalidInputError(`${field('interval')}: must be more than 0 (e.g. "30s")`);
  const out: RuleSettings = {
    name: rule.name,
    failWhen: { ...rule.failWhen },
    intervalMs,
    initialDelayMs: parseDurationMs(rule.initialDelay ?? DEFAULTS.initialDelay, field('initialDelay')),
    count,
    failureLimit: rule.failureLimit ?? DEFAULTS.failureLimit,
    inconclusiveLimit: rule.inconclusiveLimit ?? DEFAULTS.inconclusiveLimit,
    consecutiveErrorLimit: rule.consecutiveErrorLimit ?? DEFAULTS.consecutiveErrorLimit,
    dryRun: rule.dryRun ?? false,
    onFailure: rule.onFailure ?? 'rollback',
  };
  // Absent policies stay absent, so judgements can say "the default".
  if (rule.noData !== undefined) out.noData = rule.noData;
  if (rule.nan !== undefined) out.nan = rule.nan;
  return out;
}

/** A new run: every rule Running, first due after its initialDelay. Throws InvalidInputError for bad durations or duplicate names. */
export function startRun(rules: readonly AnalysisRule[], startedAt: number): RunState {
  const seen = new Set<string>();
  const states = rules.map((rule, i): RuleState => {
    if (seen.has(rule.name))
      throw new InvalidInputError(
        `spec.upgrade.analysis.rules[${i}].name: "${rule.name}" is used by an earlier rule; names must be unique`,
      );
    seen.add(rule.name);
    const s = settings(rule, i);
    return {
      rule: s,
      phase: 'Running',
      nextAt: startedAt + s.initialDelayMs,
      counts: { measured: 0, successful: 0, failed: 0, inconclusive: 0, errors: 0, consecutiveErrors: 0 },
      last: [],
    };
  });
  return { version: 1, startedAt, rules: states };
}

const deciding = (r: RuleState) => !r.rule.dryRun;
const decided = (r: RuleState) => r.phase === 'Failed' || r.phase === 'Inconclusive';

/** Names of the rules to measure now. None once a deciding rule has failed or is inconclusive: the run is decided. */
export function dueRules(state: RunState, now: number): string[] {
  if (state.rules.some((r) => deciding(r) && decided(r))) return [];
  return state.rules.filter((r) => r.phase === 'Running' && r.nextAt <= now).map((r) => r.rule.name);
}

function stored(value: number): StoredValue {
  return Number.isFinite(value) ? value : (formatNumber(value) as StoredValue);
}

function describeMeasurement(m: MeasurementInput, rule: RuleSettings, baseline: number | undefined): MeasurementRecord {
  if ('error' in m) {
    const error = m.error.length > MAX_ERROR_CHARS ? `${m.error.slice(0, MAX_ERROR_CHARS)}…` : m.error;
    return { at: m.at, error, outcome: 'error', message: `measurement error: ${error}` };
  }
  const value = 'value' in m ? m.value : undefined;
  const j = judge(value, rule, baseline);
  const rec: MeasurementRecord = { at: m.at, outcome: j.outcome, message: j.message };
  if (value === undefined) rec.noData = true;
  else rec.value = stored(value);
  if (j.threshold !== undefined && Number.isFinite(j.threshold)) rec.threshold = j.threshold;
  return rec;
}

function count(counts: RuleCounts, outcome: MeasurementRecord['outcome']): RuleCounts {
  if (outcome === 'error') return { ...counts, errors: counts.errors + 1, consecutiveErrors: counts.consecutiveErrors + 1 };
  return { ...counts, measured: counts.measured + 1, [outcome]: counts[outcome] + 1, consecutiveErrors: 0 };
}

/** Argo's assessMetricStatus: the limits first (failure before inconclusive before errors), then the count. */
function assess(rule: RuleSettings, c: RuleCounts, lastMessage: string): { phase: RulePhase; message?: string } {
  if (c.failed > rule.failureLimit)
    return {
      phase: 'Failed',
      message: `${c.failed} failed measurement(s), more than failureLimit ${rule.failureLimit}; last: ${lastMessage}`,
    };
  if (c.inconclusive > rule.inconclusiveLimit)
    return {
      phase: 'Inconclusive',
      message: `${c.inconclusive} inconclusive measurement(s), more than inconclusiveLimit ${rule.inconclusiveLimit}; last: ${lastMessage}`,
    };
  if (c.consecutiveErrors > rule.consecutiveErrorLimit)
    return {
      phase: 'Inconclusive',
      message: `${c.consecutiveErrors} measurement errors in a row, more than consecutiveErrorLimit ${rule.consecutiveErrorLimit}; last: ${lastMessage}`,
    };
  if (rule.count > 0 && c.measured >= rule.count) return { phase: 'Successful', message: `all ${rule.count} measurement(s) taken` };
  return { phase: 'Running' };
}

/**
 * The state after one measurement of `ruleName` (its value, no data, or a provider error). `baseline` is
 * the rule's value before the rollout, for the *Baseline conditions. A rule no longer Running ignores it.
 */
export function recordMeasurement(state: RunState, ruleName: string, m: MeasurementInput, baseline?: number): RunState {
  const index = state.rules.findIndex((r) => r.rule.name === ruleName);
  if (index < 0) throw new Error(`analysis run has no rule "${ruleName}" (rules: ${state.rules.map((r) => r.rule.name).join(', ')})`);
  const current = state.rules[index];
  if (current.phase !== 'Running') return state;
  const rec = describeMeasurement(m, current.rule, baseline);
  const counts = count(current.counts, rec.outcome);
  const { phase, message } = assess(current.rule, counts, rec.message);
  const next: RuleState = {
    ...current,
    phase,
    nextAt: m.at + current.rule.intervalMs,
    counts,
    last: [...current.last, rec].slice(-KEPT_MEASUREMENTS),
  };
  if (message !== undefined) next.message = message;
  const rules = state.rules.slice();
  rules[index] = next;
  return { ...state, rules };
}

/** The run once it is finished (the rollout and its watch window ended): each rule with its final phase, as the verdict judged it. */
export function finishRun(state: RunState): RunState {
  return {
    ...state,
    rules: state.rules.map((r) => {
      const { phase, message } = finalPhase(r);
      return phase === r.phase ? r : { ...r, phase, ...(message !== undefined ? { message } : {}) };
    }),
  };
}

/** A rule's phase once the run is finished: still Running means it measured until the end (Argo's terminating run). */
export function finalPhase(r: RuleState): { phase: RulePhase; message?: string } {
  if (r.phase !== 'Running') return { phase: r.phase, message: r.message };
  // Never successful on no evidence at all: a rule that was never judged cannot pass.
  if (r.counts.measured === 0) return { phase: 'Inconclusive', message: 'no measurement was taken before the analysis ended' };
  return { phase: 'Successful' };
}

function failingOf(r: RuleState, message: string | undefined, action: FailureAction): Failing {
  const last = r.last[r.last.length - 1];
  const out: Failing = { rule: r.rule.name, message: message ?? last?.message ?? '', action };
  if (last?.value !== undefined) out.value = last.value;
  if (last?.threshold !== undefined) out.threshold = last.threshold;
  return out;
}

/**
 * The run's outcome. Failed as soon as a deciding rule failed (its onFailure says rollback or pause),
 * Inconclusive (pause) as soon as one is inconclusive, Successful once every rule is done or the run is
 * `finished` (the rollout and its watch window ended), else Running. dryRun rules never decide.
 */
export function verdict(state: RunState, opts: { finished: boolean }): Verdict {
  const phases = state.rules.map((r) => ({ r, ...(opts.finished ? finalPhase(r) : { phase: r.phase, message: r.message }) }));
  const decidingPhases = phases.filter((p) => deciding(p.r));
  const failed = decidingPhases.filter((p) => p.phase === 'Failed');
  const worst = failed.find((p) => p.r.rule.onFailure === 'rollback') ?? failed[0];
  if (worst) return { phase: 'Failed', failing: failingOf(worst.r, worst.message, worst.r.rule.onFailure) };
  const inconclusive = decidingPhases.find((p) => p.phase === 'Inconclusive');
  if (inconclusive) return { phase: 'Inconclusive', failing: failingOf(inconclusive.r, inconclusive.message, 'pause') };
  return { phase: phases.every((p) => p.phase !== 'Running') ? 'Successful' : 'Running' };
}
