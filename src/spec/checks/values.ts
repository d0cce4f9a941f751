// Semantic checks: values that must parse or make sense together — durations, memory sizes,
// resources, health checks, rollback policies, election timing, the reserved sections.
import type { PathSegment } from '../problems.js';
import { formatPath } from '../problems.js';
import type { ProblemReporter } from '../report.js';
import { enabledComponents, type ComponentRef } from '../components.js';
import { parseDurationNs, parseMemoryBytes } from '../units.js';
import type { BzzzCluster, ResourceAmounts, UpdatePolicy } from '../types.js';
import { errorMessage } from '../../util/errors.js';

/** Docker refuses a container memory limit under 6 MiB. */
const MIN_MEMORY_LIMIT = 6 * 1024 * 1024;

// ---- values that must parse ----

export function checkDurationsAndSizes(cluster: BzzzCluster, report: ProblemReporter): void {
  const duration = (value: string | undefined, path: PathSegment[]) => {
    if (value === undefined || report.isDefault(path)) return;
    try {
      parseDurationNs(value, formatPath(path));
    } catch (err) {
      report.add(path, JSON.stringify(value), 'a duration such as "10s" or "1m30s"', errorMessage(err));
    }
  };
  const policy = (p: UpdatePolicy | undefined, path: PathSegment[]) => {
    duration(p?.delay, [...path, 'delay']);
    duration(p?.monitor, [...path, 'monitor']);
  };
  policy(cluster.spec.updatePolicy, ['spec', 'updatePolicy']);
  policy(cluster.spec.rollbackPolicy, ['spec', 'rollbackPolicy']);
  for (const c of enabledComponents(cluster)) {
    policy(c.spec.update, [...c.path, 'update']);
    policy(c.spec.rollback, [...c.path, 'rollback']);
    duration(c.spec.stopGracePeriod, [...c.path, 'stopGracePeriod']);
    const hc = c.spec.healthcheck;
    if (hc) {
      for (const key of ['interval', 'timeout', 'startPeriod'] as const) duration(hc[key], [...c.path, 'healthcheck', key]);
      checkHealthcheckTest(hc.test, [...c.path, 'healthcheck', 'test'], report);
    }
    checkResources(c, report);
  }
}

function checkHealthcheckTest(test: string[], path: PathSegment[], report: ProblemReporter): void {
  const kind = test[0];
  if (kind !== 'CMD' && kind !== 'CMD-SHELL' && kind !== 'NONE') {
    report.add(
      [...path, 0],
      JSON.stringify(kind),
      'CMD, CMD-SHELL or NONE',
      `a health check test starts with CMD (then the program and its arguments), CMD-SHELL (then one shell command) or NONE; e.g. ["CMD", ${JSON.stringify(kind)}, ...]`,
    );
  } else if (kind !== 'NONE' && test.length < 2) {
    report.add(
      path,
      `${kind} alone`,
      `${kind} followed by the command`,
      `the health check test has no command after ${kind}; add it, e.g. ["${kind}", "wget", "-qO-", "http://localhost:8081/health/live"]`,
    );
  }
}

function checkResources(c: ComponentRef, report: ProblemReporter): void {
  const base = [...c.path, 'resources'];
  const read = (amounts: ResourceAmounts | undefined, which: 'limits' | 'reservations') => {
    const path = [...base, which, 'memory'];
    if (amounts?.memory === undefined) return { memory: undefined, cpus: amounts?.cpus };
    try {
      return { memory: parseMemoryBytes(amounts.memory, formatPath(path)), cpus: amounts.cpus };
    } catch (err) {
      report.add(path, JSON.stringify(amounts.memory), 'a memory size such as "512M"', errorMessage(err));
      return { memory: undefined, cpus: amounts.cpus };
    }
  };
  const limits = read(c.spec.resources?.limits, 'limits');
  const reservations = read(c.spec.resources?.reservations, 'reservations');
  if (limits.memory !== undefined && limits.memory < MIN_MEMORY_LIMIT) {
    report.add(
      [...base, 'limits', 'memory'],
      `${limits.memory} bytes`,
      'at least 6M',
      `a memory limit under 6 MiB is refused by Docker for ${c.key}; raise it (BZZZ services want at least 64M)`,
    );
  }
  if (limits.memory !== undefined && reservations.memory !== undefined && reservations.memory > limits.memory) {
    report.add(
      [...base, 'reservations', 'memory'],
      'a reservation above the limit',
      'reservations.memory ≤ limits.memory',
      `${c.key} reserves more memory than its limit allows; lower the reservation or raise the limit`,
    );
  }
  if (limits.cpus !== undefined && reservations.cpus !== undefined && reservations.cpus > limits.cpus) {
    report.add(
      [...base, 'reservations', 'cpus'],
      `${reservations.cpus} CPUs reserved, ${limits.cpus} allowed`,
      'reservations.cpus ≤ limits.cpus',
      `${c.key} reserves more CPUs than its limit allows; lower the reservation or raise the limit`,
    );
  }
}

// ---- policies ----

export function checkPolicies(cluster: BzzzCluster, report: ProblemReporter): void {
  const rollbackPolicy = (p: UpdatePolicy | undefined, path: PathSegment[]) => {
    if (p?.failureAction === 'rollback' && !report.isDefault([...path, 'failureAction'])) {
      report.add(
        [...path, 'failureAction'],
        'failureAction rollback in a rollback policy',
        'pause or continue',
        'a failed rollback cannot itself be rolled back; use pause (stop and wait for you) or continue',
      );
    }
  };
  rollbackPolicy(cluster.spec.rollbackPolicy, ['spec', 'rollbackPolicy']);
  for (const c of enabledComponents(cluster)) rollbackPolicy(c.spec.rollback, [...c.path, 'rollback']);
}

// ---- reserved sections ----

export function checkReserved(cluster: BzzzCluster, report: ProblemReporter): void {
  const shamir = cluster.spec.keys?.shamir;
  if (shamir?.threshold !== undefined && shamir.shares !== undefined && shamir.threshold > shamir.shares) {
    report.add(
      ['spec', 'keys', 'shamir', 'threshold'],
      `threshold ${shamir.threshold} of ${shamir.shares} shares`,
      'threshold ≤ shares',
      `the admin key could never be rebuilt: ${shamir.threshold} shares needed but only ${shamir.shares} made; lower threshold or raise shares`,
    );
  }
  const roles = cluster.spec.keys?.rotation?.roles ?? [];
  roles.forEach((r, i) => {
    if (roles.indexOf(r) !== i)
      report.add(
        ['spec', 'keys', 'rotation', 'roles', i],
        `role ${r} again`,
        'each role once',
        `role \`${r}\` is listed twice; remove one`,
      );
  });
  (cluster.spec.agent.bootstrap ?? []).forEach((b, i) => {
    const port = /:(\d+)$/.exec(b)?.[1];
    if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) {
      report.add(
        ['spec', 'agent', 'bootstrap', i],
        JSON.stringify(b),
        'host:port with a port from 1 to 65535',
        `bootstrap peer ${b} has port ${port}, out of range; fix the port`,
      );
    }
  });
}

export function checkElection(cluster: BzzzCluster, report: ProblemReporter): void {
  const agent = cluster.spec.agent;
  const { heartbeatMs, timeoutMs } = agent.election ?? {};
  if (heartbeatMs !== undefined && timeoutMs !== undefined && timeoutMs <= heartbeatMs) {
    report.add(
      ['spec', 'agent', 'election', 'timeoutMs'],
      `timeoutMs ${timeoutMs}${report.defaultNote(['spec', 'agent', 'election', 'timeoutMs'])} with heartbeatMs ${heartbeatMs}`,
      'timeoutMs greater than heartbeatMs (BZZZ uses 3×)',
      `the election timeout must exceed the heartbeat interval, or every heartbeat gap starts an election; set timeoutMs to about 3 × heartbeatMs (${heartbeatMs * 3})`,
    );
  }
}
