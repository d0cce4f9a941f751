// The rollout state machine (src/reconcilers/rollout-decide.ts), by value: from the generation, the
// rollout record, the status the cluster reconciler wrote and the analysis verdict, the next
// record, the events announced and the revision outcomes recorded; then the verbs
// (`bzzzctl rollout pause|resume|abort`, an alert's rollback) with their refusals and idempotence.
import { describe, expect, it } from 'vitest';
import {
  decideRollout,
  pauseRollout,
  resumeRollout,
  rollBackRollout,
  RolloutVerbError,
  type AnalysisVerdict,
  type RolloutInput,
  type RolloutStep,
} from '../../../src/reconcilers/rollout-decide.js';
import type { ClusterStatus, GenerationFailure } from '../../../src/spec/status.js';
import type { RolloutCause, RolloutPhase } from '../../../src/spec/rollout.js';
import type { RolloutState } from '../../../src/store/rollout-store.js';
import { ROLLOUT_STARTED, rolloutOf5 } from '../../support/rollouts.js';

const NOW = new Date('2026-12-01T12:00:00Z');
const AT = NOW.toISOString();
const STARTED = ROLLOUT_STARTED;
const WATCH_MS = 10 * 60_000;
const CONVERGED = new Date(NOW.getTime() - WATCH_MS).toISOString(); // the watch window ends right now
const CONVERGED_LATE = new Date(NOW.getTime() - WATCH_MS + 1).toISOString(); // one millisecond to go

const rollout = rolloutOf5;

interface StatusShape {
  ready?: boolean;
  progressing?: boolean;
  /** The rollout phase the status was computed with (status.rollout). */
  rollout?: RolloutPhase;
  failure?: Pick<GenerationFailure, 'reason' | 'message'> & { generation?: number };
  /** A service whose swarm update paused, with the swarm's message. */
  paused?: [string, string?];
}

/** A status as the cluster reconciler writes it (only what the state machine reads). */
function status(observedGeneration: number, s: StatusShape = {}): ClusterStatus {
  const c = (type: 'Ready' | 'Progressing', on: boolean) => ({
    type,
    status: on ? ('True' as const) : ('False' as const),
    reason: 'X',
    message: '',
    lastTransitionTime: STARTED,
  });
  return {
    observedGeneration,
    ...(s.rollout ? { rollout: { generation: observedGeneration, phase: s.rollout, stable: 4 } } : {}),
    ...(s.failure ? { failure: { generation: observedGeneration, object: 'service c_agent-a', at: STARTED, ...s.failure } } : {}),
    conditions: [c('Ready', s.ready ?? false), c('Progressing', s.progressing ?? !s.ready)],
    components: [
      {
        service: 'c_agent-a',
        component: 'agent',
        image: 'img:2',
        desired: 1,
        running: 1,
        ...(s.paused ? { update: 'paused', ...(s.paused[1] ? { updateMessage: s.paused[1] } : {}) } : {}),
      },
    ],
  };
}

const decide = (i: Partial<RolloutInput>): RolloutStep => decideRollout({ generation: 5, watchMs: WATCH_MS, now: NOW, ...i });
const failing = (action: 'rollback' | 'pause', phase: AnalysisVerdict['phase'] = 'Failed'): AnalysisVerdict => ({
  phase,
  failing: { rule: 'error-rate', value: 0.09, threshold: 0.05, message: 'error rate 9 % above 5 %', action },
});
const analysisCause = (message = 'error rate 9 % above 5 %'): RolloutCause => ({
  kind: 'analysis',
  rule: 'error-rate',
  value: 0.09,
  threshold: 0.05,
  message,
  at: AT,
});
const NOTHING: RolloutStep = { events: [], revisions: [] };
/** The verb is refused with a RolloutVerbError (exit code 1) saying this. */
const refused = (verb: () => unknown, message: string) => {
  expect(verb).toThrow(RolloutVerbError);
  expect(verb).toThrow(message);
};

describe('decideRollout: a new generation starts a rollout', () => {
  it.each<[string, Partial<RolloutInput>, number | undefined]>([
    ['no rollout yet and revision 3 recorded good', { lastGood: 3 }, 3],
    ['no rollout yet, no good revision, and generation 4 seen Ready', { status: status(4, { ready: true }) }, 4],
    ['no rollout yet and both a good revision 3 and generation 4 seen Ready', { lastGood: 3, status: status(4, { ready: true }) }, 3],
    ['no rollout yet and generation 4 seen not Ready', { status: status(4) }, undefined],
    // A status of the new generation itself (a first deploy converged before any rollout) is not a stable revision.
    ['no rollout yet and only generation 5 itself seen Ready', { status: status(5, { ready: true }) }, undefined],
    ['no rollout and no status (a first deploy)', {}, undefined],
    ['the rollout of generation 4 succeeded', { rollout: rollout('Succeeded', { generation: 4, stable: 2 }), lastGood: 3 }, 4],
    ['the rollout of generation 4 was rolled back to 2', { rollout: rollout('RolledBack', { generation: 4, stable: 2 }) }, 2],
    ['the rollout of generation 4 was aborted back to 2', { rollout: rollout('Aborted', { generation: 4, stable: 2 }) }, 2],
  ])(
    'GIVEN generation 5 applied, %s WHEN decided THEN it is Progressing with stable %s, announced, and no revision is marked',
    (_, input, stable) => {
      const step = decide(input);
      expect(step.next).toEqual({ generation: 5, ...(stable === undefined ? {} : { stable }), phase: 'Progressing', startedAt: AT });
      expect(step.events).toEqual([{ kind: 'started', generation: 5, stable }]);
      expect(step.revisions).toEqual([]);
    },
  );

  it.each<[RolloutPhase]>([['Progressing'], ['Watching'], ['Paused'], ['RollingBack']])(
    'GIVEN the rollout of generation 4 unfinished (%s) WHEN generation 5 is decided THEN 4 is marked Superseded and 5 keeps its stable revision',
    (phase) => {
      const step = decide({ rollout: rollout(phase, { generation: 4, stable: 2 }), lastGood: 3 });
      expect(step.next).toEqual({ generation: 5, stable: 2, phase: 'Progressing', startedAt: AT });
      expect(step.revisions).toEqual([
        { generation: 4, record: { outcome: 'Superseded', at: AT, reason: 'generation 5 was applied during its rollout' } },
      ]);
    },
  );

  it('GIVEN a rollout record of a newer generation than the one decided WHEN decided THEN nothing changes', () => {
    expect(decide({ rollout: rollout('Progressing', { generation: 6 }) })).toEqual(NOTHING);
  });
});

describe('decideRollout: Progressing and Watching', () => {
  it.each<[string, Partial<RolloutInput>]>([
    ['status of generation 5 Ready', { status: status(5, { ready: true }) }],
    ['status Ready and the analysis still running', { status: status(5, { ready: true }), verdict: { phase: 'Running' } }],
    ['status Ready and the analysis successful so far', { status: status(5, { ready: true }), verdict: { phase: 'Successful' } }],
  ])('GIVEN a Progressing rollout and %s WHEN decided THEN it is Watching from now, silently', (_, input) => {
    expect(decide({ rollout: rollout('Progressing'), ...input })).toEqual({
      next: rollout('Watching', { convergedAt: AT }),
      events: [],
      revisions: [],
    });
  });

  it.each<[string, Partial<RolloutInput>]>([
    ['status of generation 5 not Ready yet', { status: status(5) }],
    ['only the previous generation seen Ready', { status: status(4, { ready: true }) }],
    ['no status', {}],
  ])('GIVEN a Progressing rollout and %s WHEN decided THEN nothing changes', (_, input) => {
    expect(decide({ rollout: rollout('Progressing'), ...input })).toEqual(NOTHING);
  });

  it.each<[string, string, AnalysisVerdict | undefined]>([
    ['no analysis', CONVERGED, undefined],
    ['a Successful analysis', CONVERGED, { phase: 'Successful' }],
  ])(
    'GIVEN a Watching rollout whose window has just ended with %s WHEN decided THEN it Succeeded and the revision is marked so',
    (_, convergedAt, verdict) => {
      const step = decide({ rollout: rollout('Watching', { convergedAt }), status: status(5, { ready: true }), verdict });
      expect(step).toEqual({
        next: rollout('Watching', { convergedAt, phase: 'Succeeded', finishedAt: AT }),
        events: [{ kind: 'succeeded', generation: 5, stable: 4 }],
        revisions: [{ generation: 5, record: { outcome: 'Succeeded', at: AT } }],
      });
    },
  );

  it.each<[string, string, AnalysisVerdict | undefined]>([
    ['the window not over yet (1 ms to go)', CONVERGED_LATE, { phase: 'Successful' }],
    ['the window over but the analysis still Running', CONVERGED, { phase: 'Running' }],
    ['the window over but no convergence time recorded', '', undefined],
  ])('GIVEN a Watching rollout with %s WHEN decided THEN it goes on watching', (_, convergedAt, verdict) => {
    const r = rollout('Watching', convergedAt ? { convergedAt } : {});
    expect(decide({ rollout: r, status: status(5, { ready: true }), verdict })).toEqual(NOTHING);
  });
});

describe('decideRollout: what stops a rollout', () => {
  const rollingBack = (cause: RolloutCause): RolloutStep => ({
    next: rollout('Progressing', { phase: 'RollingBack', cause }),
    events: [{ kind: 'rolling-back', generation: 5, stable: 4, cause }],
    revisions: [],
  });

  it.each<[string, Partial<RolloutInput>, RolloutCause]>([
    ['the analysis Failed on a rollback rule', { verdict: failing('rollback'), status: status(5, { ready: true }) }, analysisCause()],
    [
      'the engine refused generation 5',
      { status: status(5, { failure: { reason: 'EngineRefused', message: 'no such image' } }) },
      { kind: 'engine', message: 'service c_agent-a: no such image', at: AT },
    ],
    [
      'the swarm rolled an update of generation 5 back',
      { status: status(5, { failure: { reason: 'UpdateRolledBack', message: 'update rolled back due to failure' } }) },
      { kind: 'swarm', message: 'service c_agent-a: update rolled back due to failure', at: AT },
    ],
    [
      'the swarm paused an update, with its message',
      { status: status(5, { paused: ['c_agent-a', 'update paused due to failure'] }) },
      { kind: 'swarm', message: 'the swarm paused the update of c_agent-a (update paused due to failure)', at: AT },
    ],
    [
      'the swarm paused an update, with no message',
      { status: status(5, { paused: ['c_agent-a'] }) },
      { kind: 'swarm', message: 'the swarm paused the update of c_agent-a', at: AT },
    ],
    // The engine's refusal decides before a verdict that says otherwise.
    [
      'the engine refused it while the analysis says Successful',
      { status: status(5, { failure: { reason: 'EngineRefused', message: 'bad mount' } }), verdict: { phase: 'Successful' } },
      { kind: 'engine', message: 'service c_agent-a: bad mount', at: AT },
    ],
  ])('GIVEN a Progressing rollout and %s WHEN decided THEN the stack rolls back to 4 with that cause', (_, input, cause) => {
    expect(decide({ rollout: rollout('Progressing'), ...input })).toEqual(rollingBack(cause));
  });

  it('GIVEN a Watching rollout whose analysis fails inside the window WHEN decided THEN it rolls back (a release that breaks later is caught)', () => {
    const r = rollout('Watching', { convergedAt: CONVERGED_LATE });
    const step = decide({ rollout: r, status: status(5, { ready: true }), verdict: failing('rollback') });
    expect(step.next).toEqual({ ...r, phase: 'RollingBack', cause: analysisCause() });
  });

  it('GIVEN a failure recorded for an older generation in a status of another generation WHEN decided THEN it does not stop this rollout', () => {
    const s = status(4, { failure: { reason: 'EngineRefused', message: 'old', generation: 4 } });
    expect(decide({ rollout: rollout('Progressing'), status: s })).toEqual(NOTHING);
  });

  it.each<[string, 'Progressing' | 'Watching', AnalysisVerdict, RolloutCause]>([
    ['a failed rule set to pause', 'Progressing', failing('pause'), analysisCause()],
    ['a failed rule set to pause', 'Watching', failing('pause'), analysisCause()],
    [
      'an inconclusive rule',
      'Progressing',
      failing('rollback', 'Inconclusive'),
      analysisCause('analysis inconclusive: error rate 9 % above 5 %; resume to go on or abort to roll back'),
    ],
    [
      'an inconclusive analysis naming no rule',
      'Watching',
      { phase: 'Inconclusive' },
      { kind: 'analysis', message: 'analysis inconclusive; resume to go on or abort to roll back', at: AT },
    ],
  ])('GIVEN %s in a %s rollout WHEN decided THEN it is Paused from there with the cause, and announced', (_, from, verdict, cause) => {
    const r = rollout(from, from === 'Watching' ? { convergedAt: CONVERGED_LATE } : {});
    expect(decide({ rollout: r, status: status(5, { ready: true }), verdict })).toEqual({
      next: { ...r, phase: 'Paused', pausedFrom: from, cause },
      events: [{ kind: 'paused', generation: 5, stable: 4, cause }],
      revisions: [],
    });
  });

  it.each<[string, Partial<RolloutInput>, string]>([
    ['the analysis failed', { verdict: failing('rollback') }, 'error rate 9 % above 5 %'],
    [
      'the swarm rolled an update back',
      { status: status(5, { failure: { reason: 'UpdateRolledBack', message: 'rolled back' } }) },
      'service c_agent-a: rolled back',
    ],
  ])(
    'GIVEN a first rollout (no stable revision) and %s WHEN decided THEN it is Paused and says there is nothing to roll back to',
    (_, input, message) => {
      const step = decide({ rollout: rollout('Progressing', { stable: undefined }), ...input });
      expect(step.next).toMatchObject({ phase: 'Paused', pausedFrom: 'Progressing' });
      expect(step.next?.cause?.message).toBe(`${message}; no earlier good revision to roll back to: fix the spec and apply again`);
      expect(step.events.map((e) => e.kind)).toEqual(['paused']);
    },
  );

  it.each<[RolloutPhase]>([['Paused'], ['Succeeded'], ['RolledBack'], ['Aborted']])(
    'GIVEN a %s rollout WHEN the analysis fails and the engine refuses THEN the state machine changes nothing',
    (phase) => {
      const s = status(5, { failure: { reason: 'EngineRefused', message: 'x' } });
      expect(decide({ rollout: rollout(phase), status: s, verdict: failing('rollback') })).toEqual(NOTHING);
    },
  );
});

describe('decideRollout: RollingBack ends when the stable revision runs', () => {
  const back = (phase: 'RolledBack' | 'Aborted', cause: RolloutCause): RolloutStep => ({
    next: rollout('RollingBack', { cause, phase, finishedAt: AT }),
    events: [{ kind: phase === 'RolledBack' ? 'rolled-back' : 'aborted', generation: 5, stable: 4, cause }],
    revisions: [{ generation: 5, record: { outcome: phase, at: AT, reason: cause.message } }],
  });

  it.each<[string, RolloutCause, 'RolledBack' | 'Aborted']>([
    ['the analysis', analysisCause(), 'RolledBack'],
    ['an alert', { kind: 'alert', trigger: 'errors', alert: 'BzzzErrorRate', message: 'alert BzzzErrorRate', at: STARTED }, 'RolledBack'],
    ['the swarm', { kind: 'swarm', message: 'rolled back', at: STARTED }, 'RolledBack'],
    ['a person (rollout abort)', { kind: 'manual', by: 'ops@host', message: 'aborted by ops@host', at: STARTED }, 'Aborted'],
  ])(
    'GIVEN a rollback caused by %s and a status computed while rolling back with nothing progressing WHEN decided THEN it is %s',
    (_, cause, phase) => {
      const step = decide({
        rollout: rollout('RollingBack', { cause }),
        status: status(5, { ready: false, progressing: false, rollout: 'RollingBack' }),
      });
      expect(step).toEqual(back(phase, cause));
    },
  );

  it.each<[string, ClusterStatus | undefined]>([
    ['services still progressing', status(5, { progressing: true, rollout: 'RollingBack' })],
    // Written by the pass before the rollback was recorded: it says nothing of the stable revision.
    ['a status computed before the rollback (rollout still Progressing)', status(5, { progressing: false, rollout: 'Progressing' })],
    ['a status computed with no rollout', status(5, { progressing: false })],
    ['a status of an older generation', status(4, { progressing: false, rollout: 'RollingBack' })],
    ['no status', undefined],
  ])('GIVEN a RollingBack rollout and %s WHEN decided THEN it is still rolling back', (_, s) => {
    expect(decide({ rollout: rollout('RollingBack', { cause: analysisCause() }), status: s })).toEqual(NOTHING);
  });
});

describe('the rollout verbs', () => {
  const manual: RolloutCause = { kind: 'manual', by: 'ops@walnut', message: 'by ops@walnut', at: AT };
  const alert: RolloutCause = { kind: 'alert', trigger: 'errors', alert: 'BzzzErrorRate', message: 'alert BzzzErrorRate fired', at: AT };

  describe('pause', () => {
    it.each<['Progressing' | 'Watching']>([['Progressing'], ['Watching']])(
      'GIVEN a %s rollout WHEN paused THEN it is Paused from there, with the cause, announced',
      (from) => {
        expect(pauseRollout(rollout(from), manual)).toEqual({
          next: rollout(from, { phase: 'Paused', pausedFrom: from, cause: manual }),
          events: [{ kind: 'paused', generation: 5, stable: 4, cause: manual }],
          revisions: [],
        });
      },
    );

    it('GIVEN a Paused rollout WHEN paused again (a retried alert) THEN nothing changes and the first cause stays', () => {
      expect(pauseRollout(rollout('Paused', { cause: analysisCause() }), manual)).toEqual(NOTHING);
    });

    it.each<[string, RolloutState | undefined, string]>([
      ['no rollout', undefined, 'no rollout in progress: nothing to pause'],
      ['a Succeeded rollout', rollout('Succeeded'), 'no rollout in progress (generation 5 is Succeeded): nothing to pause'],
      ['a RollingBack rollout', rollout('RollingBack'), 'no rollout in progress (generation 5 is RollingBack): nothing to pause'],
      ['a RolledBack rollout', rollout('RolledBack'), 'no rollout in progress (generation 5 is RolledBack): nothing to pause'],
    ])('GIVEN %s WHEN paused THEN it is refused, saying why', (_, r, message) => {
      refused(() => pauseRollout(r, manual), message);
    });
  });

  describe('resume', () => {
    it('GIVEN a rollout paused while Watching WHEN resumed THEN it watches again from now, with no cause and no old analysis', () => {
      const r = rollout('Paused', {
        pausedFrom: 'Watching',
        convergedAt: STARTED,
        cause: analysisCause(),
        analysis: { version: 1, startedAt: 0, rules: [] },
      });
      expect(resumeRollout(r, 'ops@walnut', NOW)).toEqual({
        next: { generation: 5, stable: 4, phase: 'Watching', startedAt: STARTED, convergedAt: AT },
        events: [
          {
            kind: 'resumed',
            generation: 5,
            stable: 4,
            cause: { kind: 'manual', by: 'ops@walnut', message: 'resumed by ops@walnut', at: AT },
          },
        ],
        revisions: [],
      });
    });

    it.each<[string, Partial<RolloutState>]>([
      ['paused while Progressing', { pausedFrom: 'Progressing' }],
      ['paused with no phase recorded', {}],
    ])('GIVEN a rollout %s WHEN resumed THEN it is Progressing again', (_, extra) => {
      const step = resumeRollout(rollout('Paused', { ...extra, cause: analysisCause() }), 'ops@walnut', NOW);
      expect(step.next).toEqual({ generation: 5, stable: 4, phase: 'Progressing', startedAt: STARTED });
    });

    it.each<[string, RolloutState | undefined, string]>([
      ['no rollout', undefined, 'no paused rollout: nothing to resume'],
      ['a Progressing rollout', rollout('Progressing'), 'no paused rollout (generation 5 is Progressing): nothing to resume'],
      ['a RolledBack rollout', rollout('RolledBack'), 'no paused rollout (generation 5 is RolledBack): nothing to resume'],
    ])('GIVEN %s WHEN resumed THEN it is refused, saying why', (_, r, message) => {
      refused(() => resumeRollout(r, 'ops@walnut', NOW), message);
    });
  });

  describe('abort and an alert rollback', () => {
    it.each<[string, RolloutState, RolloutCause]>([
      ['a Progressing rollout aborted', rollout('Progressing'), manual],
      ['a Watching rollout aborted', rollout('Watching', { convergedAt: STARTED }), manual],
      ['a Paused rollout aborted', rollout('Paused', { pausedFrom: 'Progressing', cause: analysisCause() }), manual],
      ['a Progressing rollout rolled back by an alert', rollout('Progressing'), alert],
    ])('GIVEN %s THEN it is RollingBack to 4 with that cause, and no revision is marked yet', (_, r, cause) => {
      expect(rollBackRollout(r, cause)).toEqual({
        next: { ...r, phase: 'RollingBack', cause },
        events: [{ kind: 'rolling-back', generation: 5, stable: 4, cause }],
        revisions: [],
      });
    });

    it('GIVEN a Succeeded rollout WHEN an alert rolls it back (it broke later) THEN it is RollingBack and its revision is no longer good', () => {
      const step = rollBackRollout(rollout('Succeeded', { finishedAt: STARTED }), alert);
      expect(step.next).toMatchObject({ phase: 'RollingBack', cause: alert, stable: 4 });
      expect(step.revisions).toEqual([{ generation: 5, record: { outcome: 'RolledBack', at: AT, reason: 'alert BzzzErrorRate fired' } }]);
    });

    it('GIVEN an aborted rollout rolled back WHEN the status shows nothing progressing THEN it ends Aborted, not RolledBack', () => {
      const next = rollBackRollout(rollout('Progressing'), manual).next!;
      const step = decide({ rollout: next, status: status(5, { progressing: false, rollout: 'RollingBack' }) });
      expect([step.next?.phase, step.events.map((e) => e.kind), step.revisions[0]?.record.outcome]).toEqual([
        'Aborted',
        ['aborted'],
        'Aborted',
      ]);
    });

    it.each<[RolloutPhase]>([['RollingBack'], ['RolledBack'], ['Aborted']])(
      'GIVEN a %s rollout WHEN aborted or rolled back again (a retried alert) THEN nothing changes',
      (phase) => {
        expect(rollBackRollout(rollout(phase, { cause: analysisCause() }), manual)).toEqual(NOTHING);
        expect(rollBackRollout(rollout(phase, { cause: analysisCause() }), alert)).toEqual(NOTHING);
      },
    );

    it.each<[string, RolloutState | undefined, RolloutCause, string]>([
      ['no rollout', undefined, alert, 'no rollout to roll back; bzzzctl rollout undo brings back an earlier revision'],
      [
        'a Succeeded rollout aborted by a person',
        rollout('Succeeded'),
        manual,
        'no rollout to roll back (generation 5 is Succeeded); bzzzctl rollout undo brings back an earlier revision',
      ],
      [
        'a first rollout (no stable revision)',
        rollout('Progressing', { stable: undefined }),
        manual,
        'generation 5 has no earlier good revision to roll back to; apply a fixed spec instead',
      ],
    ])('GIVEN %s WHEN rolled back THEN it is refused, saying why', (_, r, cause, message) => {
      refused(() => rollBackRollout(r, cause), message);
    });
  });
});
