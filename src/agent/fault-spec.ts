// BZZZ_FAULT, parsed (no imports: config.ts reads it). Fault injection is a test and chaos aid:
// a "bad release" whose badness a setting switches
// (`--fault` / BZZZ_FAULT), so that rollbacks driven by health, error-rate and latency can be
// proven against real agents. Off by default; an agent running with a fault logs it at warn level.
//
//   BZZZ_FAULT=unhealthy            a critical health check "fault" fails: /health answers 503,
//                                   bzzz_health_status{status="unhealthy"} is 1
//   BZZZ_FAULT=errors               every API request (after authentication) answers 500 and counts
//                                   in bzzz_errors_total{component="http"}
//   BZZZ_FAULT=errors=10%           one API request in ten does (spread evenly, not at random)
//   BZZZ_FAULT=slow=300ms           every API request waits this long before it is handled
//                                   (ms or s, up to 10 min)
//   BZZZ_FAULT=unhealthy,slow=1s    several at once, comma-separated, each at most once
//   BZZZ_FAULT=errors,after=30s     the faults begin this long after the agent started (ms, s or
//                                   m, up to 1 h): a release that breaks later, inside a watch window
//
// Health, liveness and /metrics (port 8081) are never slowed or failed by `errors` or `slow`.
export interface FaultSpec {
  unhealthy: boolean;
  /** Share of API requests that fail, 0..1 (0: none). */
  errorRatio: number;
  /** Added to every API request, ms (0: none). */
  slowMs: number;
  /** The faults begin this long after the agent started, ms (0: at once). */
  afterMs: number;
}

export const NO_FAULT: FaultSpec = { unhealthy: false, errorRatio: 0, slowMs: 0, afterMs: 0 };

export const FAULT_SYNTAX =
  'unhealthy, errors, errors=PERCENT% (e.g. errors=10%), slow=DURATION (e.g. slow=300ms, slow=2s), after=DURATION (e.g. after=30s)';

const MAX_SLOW_MS = 10 * 60 * 1000;
const MAX_AFTER_MS = 60 * 60 * 1000;

/** Parses a BZZZ_FAULT value; throws Error with every problem, naming what to write instead. */
export function parseFault(text: string | undefined): FaultSpec {
  const spec = { ...NO_FAULT };
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const raw of (text ?? '').split(',')) {
    const item = raw.trim();
    if (item === '') continue;
    const [name, value, ...rest] = item.split('=');
    if (seen.has(name)) {
      problems.push(`${JSON.stringify(name)} is given twice: give each fault once`);
      continue;
    }
    seen.add(name);
    if (rest.length > 0) {
      problems.push(`${JSON.stringify(item)} has more than one "="`);
    } else if (name === 'unhealthy' && value === undefined) {
      spec.unhealthy = true;
    } else if (name === 'errors') {
      const m = value === undefined ? ['', '100'] : /^(\d{1,3}(?:\.\d+)?)%$/.exec(value);
      const pct = m === null ? NaN : Number(m[1]);
      if (!(pct > 0 && pct <= 100))
        problems.push(`${JSON.stringify(item)}: write errors (all requests) or errors=PERCENT% with 0 < PERCENT <= 100`);
      else spec.errorRatio = pct / 100;
    } else if (name === 'slow' && value !== undefined) {
      const m = /^(\d+(?:\.\d+)?)(ms|s)$/.exec(value);
      const ms = m === null ? NaN : Math.round(Number(m[1]) * (m[2] === 's' ? 1000 : 1));
      if (!(ms > 0 && ms <= MAX_SLOW_MS))
        problems.push(`${JSON.stringify(item)}: write slow=DURATION in ms or s, above 0 and at most 10 min (e.g. slow=300ms)`);
      else spec.slowMs = ms;
    } else if (name === 'after' && value !== undefined) {
      const m = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(value);
      const ms = m === null ? NaN : Math.round(Number(m[1]) * (m[2] === 'm' ? 60_000 : m[2] === 's' ? 1000 : 1));
      if (!(ms > 0 && ms <= MAX_AFTER_MS))
        problems.push(`${JSON.stringify(item)}: write after=DURATION in ms, s or m, above 0 and at most 1 h (e.g. after=30s)`);
      else spec.afterMs = ms;
    } else {
      problems.push(`${JSON.stringify(item)} is not a fault: use ${FAULT_SYNTAX}, comma-separated`);
    }
  }
  if (spec.afterMs > 0 && !faultActive(spec)) problems.push('"after" delays a fault: give one as well (e.g. errors,after=30s)');
  if (problems.length > 0) throw new Error(problems.join('; '));
  return spec;
}

export function faultActive(f: FaultSpec): boolean {
  return f.unhealthy || f.errorRatio > 0 || f.slowMs > 0;
}

/** The fault as BZZZ_FAULT would write it (logs, /health/checks). */
export function describeFault(f: FaultSpec): string {
  const parts: string[] = [];
  if (f.unhealthy) parts.push('unhealthy');
  if (f.errorRatio > 0) parts.push(f.errorRatio === 1 ? 'errors' : `errors=${Math.round(f.errorRatio * 10000) / 100}%`);
  if (f.slowMs > 0) parts.push(`slow=${f.slowMs}ms`);
  if (f.afterMs > 0) parts.push(`after=${f.afterMs}ms`);
  return parts.join(',');
}
