// The rollout reconciler's passes on the in-memory port, with an analyzer whose measurements the
// test decides: a pass that measured nothing writes nothing (its own write would come back as a
// Docker event, queue the cluster again and spin the rollout controller without end).
import { describe, expect, it } from 'vitest';
import { createRolloutReconciler, type RolloutAnalyzer } from '../../../src/reconcilers/rollout-reconciler.js';
import { recordMeasurement, startRun } from '../../../src/analysis/run.js';
import { RolloutStore } from '../../../src/store/rollout-store.js';
import type { AnalysisRule } from '../../../src/spec/types.js';
import { silentLogger } from '../../../src/util/log.js';
import { memoryCluster } from '../../support/memory-cluster.js';

const RULE: AnalysisRule = { name: 'errors', query: 'sum(bzzz_errors_total)', failWhen: { above: 5 }, interval: '30s' };

describe('the rollout reconciler', () => {
  it('GIVEN a pass with no measurement due THEN it writes nothing; a due one is recorded', async () => {
    const c = await memoryCluster('stacks/examples/dev.yaml');
    await c.apply((x) => {
      x.spec.upgrade = { analysis: { rules: [RULE] } };
    });
    let due = false;
    const analyzer: RolloutAnalyzer = {
      baselines: async () => ({}),
      start: (_spec, now) => startRun([RULE], now.getTime()),
      async step(_spec, r, now) {
        const run = r.analysis ?? startRun([RULE], now.getTime());
        const analysis = due ? recordMeasurement(run, RULE.name, { at: now.getTime(), value: 1 }, undefined) : run;
        return { analysis, verdict: { phase: 'Running' }, nextAt: now.getTime() + 30_000 };
      },
    };
    const reconciler = createRolloutReconciler({
      port: c.port,
      store: c.store,
      rollouts: new RolloutStore(c.port, c.store),
      analyzer,
      log: silentLogger(),
      now: () => new Date(c.now()),
    });
    const signal = new AbortController().signal;
    const writesOfAPass = async () => {
      c.port.clearWriteLog();
      await reconciler.reconcile(c.name, signal);
      return c.port.writeLog.length;
    };
    expect(await writesOfAPass()).toBe(1); // the rollout starts
    expect(await writesOfAPass()).toBe(0);
    expect(await writesOfAPass()).toBe(0);
    due = true;
    expect(await writesOfAPass()).toBe(1);
    const stored = await new RolloutStore(c.port, c.store).get(c.name);
    expect(stored?.analysis?.rules[0].counts.measured).toBe(1);
  });
});
