// The analysis of a rollout, over the engine in src/analysis: the provider a spec names (its
// Prometheus, or the agents' own /metrics), the baselines measured before the rollout started,
// and each pass's due measurements recorded into the run the rollout record keeps.
import type { BzzzCluster } from '../spec/types.js';
import { DEFAULT_AGENT_PORTS } from '../spec/defaults.js';
import { parseDurationMs } from '../spec/units.js';
import type { StoredSpec } from '../store/cluster-store.js';
import type { RolloutState } from '../store/rollout-store.js';
import { dueRules, finishRun, recordMeasurement, startRun, verdict, type MeasurementInput, type RunState } from '../analysis/run.js';
import type { MetricsProvider } from '../analysis/providers/provider.js';
import { prometheusProvider } from '../analysis/providers/prometheus.js';
import { agentsProvider } from '../analysis/providers/agents.js';
import { errorMessage } from '../util/errors.js';
import type { RolloutAnalyzer } from './rollout-reconciler.js';

export interface RolloutAnalyzerOptions {
  /**
   * How the controller reaches the agents' health port: by service name on the cluster's network
   * (the controller runs in the swarm; default), or on the instances' published health ports on
   * this host (a controller run beside a single-node swarm, as in the tests).
   */
  agentsVia?: 'network' | 'published-ports';
  /** Told of every measurement (bzzz_operator_analysis_measurements_total). */
  onMeasurement?(cluster: string, rule: string, outcome: string): void;
  signal?: AbortSignal;
}

/** The agents' /metrics URLs of a cluster. */
export function agentMetricsTargets(cluster: BzzzCluster, via: RolloutAnalyzerOptions['agentsVia'] = 'network'): string[] {
  const port = cluster.spec.agent.agentPorts?.health ?? DEFAULT_AGENT_PORTS.health;
  return cluster.spec.agent.instances.flatMap((i) => {
    if (via === 'network') return [`http://agent-${i.name}:${port}/metrics`];
    return i.publish?.health ? [`http://127.0.0.1:${i.publish.health}/metrics`] : [];
  });
}

/** One agent's API base URL (the content import stores through it), as the analysis reaches /metrics. */
export function agentApiTarget(cluster: BzzzCluster, via: RolloutAnalyzerOptions['agentsVia'] = 'network'): string | undefined {
  const port = cluster.spec.agent.agentPorts?.api ?? DEFAULT_AGENT_PORTS.api;
  for (const i of cluster.spec.agent.instances) {
    if (via === 'network') return `http://agent-${i.name}:${port}`;
    if (i.publish?.api) return `http://127.0.0.1:${i.publish.api}`;
  }
  return undefined;
}

const baselineRule = (c: { aboveBaseline?: number; belowBaseline?: number }) =>
  c.aboveBaseline !== undefined || c.belowBaseline !== undefined;

export function createRolloutAnalyzer(opts: RolloutAnalyzerOptions = {}): RolloutAnalyzer {
  // One provider per cluster and source: the agents' provider keeps the scrape before for rate().
  const providers = new Map<string, MetricsProvider>();
  function provider(cluster: BzzzCluster): { p: MetricsProvider; past: boolean } {
    const prom = cluster.spec.upgrade?.analysis?.provider?.prometheus;
    const key = `${cluster.metadata.name}|${prom?.url ?? 'agents'}|${prom?.timeout ?? ''}`;
    let p = providers.get(key);
    if (!p) {
      p = prom
        ? prometheusProvider({
            url: prom.url,
            timeoutMs: prom.timeout ? parseDurationMs(prom.timeout, 'spec.upgrade.analysis.provider.prometheus.timeout') : undefined,
            signal: opts.signal,
          })
        : agentsProvider({ targets: agentMetricsTargets(cluster, opts.agentsVia), signal: opts.signal });
      for (const k of providers.keys()) if (k.startsWith(`${cluster.metadata.name}|`)) providers.delete(k);
      providers.set(key, p);
    }
    // Only a Prometheus can answer for a moment in the past.
    return { p, past: prom !== undefined };
  }

  async function measure(cluster: BzzzCluster, query: string, at: Date | undefined): Promise<MeasurementInput> {
    const t = Date.now();
    try {
      const m = await provider(cluster).p.measure(query, at);
      return 'value' in m ? { at: t, value: m.value } : { at: t, noData: true };
    } catch (err) {
      return { at: t, error: errorMessage(err) };
    }
  }

  return {
    async baselines(spec: StoredSpec, before: Date) {
      const rules = spec.cluster.spec.upgrade?.analysis?.rules ?? [];
      const { past } = provider(spec.cluster);
      const out: Record<string, number | null> = {};
      await Promise.all(
        rules
          .filter((r) => baselineRule(r.failWhen))
          .map(async (r) => {
            const m = await measure(spec.cluster, r.query, past ? before : undefined);
            out[r.name] = 'value' in m && Number.isFinite(m.value) ? m.value : null;
          }),
      );
      return out;
    },
    start(spec: StoredSpec, now: Date): RunState {
      return startRun(spec.cluster.spec.upgrade?.analysis?.rules ?? [], now.getTime());
    },
    async step(spec: StoredSpec, r: RolloutState, now: Date, finished: boolean) {
      const rules = spec.cluster.spec.upgrade?.analysis?.rules ?? [];
      let run = r.analysis ?? startRun(rules, now.getTime());
      const due = dueRules(run, now.getTime());
      const measured = await Promise.all(
        due.map(async (name) => ({ name, m: await measure(spec.cluster, rules.find((x) => x.name === name)?.query ?? '', undefined) })),
      );
      for (const { name, m } of measured) {
        run = recordMeasurement(run, name, m, r.baselines?.[name] ?? undefined);
        const last = run.rules.find((x) => x.rule.name === name)?.last.at(-1);
        opts.onMeasurement?.(spec.cluster.metadata.name, name, last?.outcome ?? 'error');
      }
      const running = run.rules.filter((x) => x.phase === 'Running').map((x) => x.nextAt);
      // A finished run keeps the phases its verdict judged, so status does not show rules still Running.
      return {
        analysis: finished ? finishRun(run) : run,
        verdict: verdict(run, { finished }),
        nextAt: running.length ? Math.min(...running) : undefined,
      };
    },
  };
}
