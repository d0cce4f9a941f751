// Runs the health checks (at most once per `cacheMs`, so a burst of probes and a scrape share one
// run), combines them into an overall score (weighted mean) and status, and keeps
// bzzz_system_health_score, bzzz_component_health_score{component} and bzzz_health_status{status}
// current, and counts failing check runs in bzzz_health_check_failures_total{check}.
import type { Logger } from '../../util/log.js';
import type { AgentMetrics } from '../metrics.js';
import type { CheckOutcome, CheckStatus, HealthCheck } from './checks.js';

export const OVERALL_STATUSES = ['healthy', 'degraded', 'unhealthy'] as const;
export type OverallStatus = (typeof OVERALL_STATUSES)[number];

export interface CheckReport extends CheckOutcome {
  name: string;
  critical: boolean;
  durationMs: number;
}

export interface HealthReport {
  status: OverallStatus;
  score: number;
  checkedAt: string;
  checks: CheckReport[];
}

export interface HealthMonitor {
  report(): Promise<HealthReport>;
}

export function createHealthMonitor(
  c: { metrics: AgentMetrics; log: Logger; now(): number },
  init: { checks: readonly HealthCheck[]; cacheMs?: number },
): HealthMonitor {
  const cacheMs = init.cacheMs ?? 1_000;
  let last: { at: number; report: Promise<HealthReport> } | undefined;
  let previous: OverallStatus | undefined;

  async function runAll(): Promise<HealthReport> {
    const checks = await Promise.all(
      init.checks.map(async (check): Promise<CheckReport> => {
        const started = performance.now();
        let outcome: CheckOutcome;
        try {
          outcome = await check.run();
        } catch (err) {
          outcome = { status: 'fail', score: 0, message: `check failed to run: ${(err as Error).message}` };
        }
        return { name: check.name, critical: check.critical, ...outcome, durationMs: Math.round((performance.now() - started) * 10) / 10 };
      }),
    );
    const weights = init.checks.reduce((s, ch) => s + ch.weight, 0);
    const score =
      weights === 0 ? 1 : Math.round((init.checks.reduce((s, ch, i) => s + ch.weight * checks[i].score, 0) / weights) * 1000) / 1000;
    const worst = (want: CheckStatus, critical?: boolean) =>
      checks.some((r) => r.status === want && (critical === undefined || r.critical === critical));
    const status: OverallStatus = worst('fail', true) ? 'unhealthy' : worst('fail') || worst('warn') ? 'degraded' : 'healthy';
    c.metrics.systemHealthScore.set(score);
    for (const r of checks) {
      c.metrics.componentHealthScore.set({ component: r.name }, r.score);
      if (r.status === 'fail') c.metrics.healthCheckFailuresTotal.inc({ check: r.name });
    }
    for (const s of OVERALL_STATUSES) c.metrics.healthStatus.set({ status: s }, s === status ? 1 : 0);
    if (previous !== undefined && previous !== status) {
      c.log.info(
        { status, previous, score, failing: checks.filter((r) => r.status !== 'pass').map((r) => `${r.name}: ${r.message}`) },
        'health changed',
      );
    }
    previous = status;
    return { status, score, checkedAt: new Date(c.now()).toISOString(), checks };
  }

  return {
    report() {
      const now = c.now();
      if (last === undefined || now - last.at >= cacheMs) last = { at: now, report: runAll() };
      return last.report;
    },
  };
}
