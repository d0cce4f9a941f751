// Rollout analysis and rollback triggers: what the schema cannot say. Rule and trigger names are
// unique (status, history and notifications name them); without a Prometheus a rule's query must
// be in the agents' query language; matchers must parse as Alertmanager's; the webhook's token
// comes from a file or env secret, whose hash apply stores (a generated value is never seen).
import type { ProblemReporter } from '../report.js';
import type { BzzzCluster } from '../types.js';
import { parseAgentQuery } from '../agent-query.js';
import { parseMatcher } from '../matchers.js';
import { errorMessage } from '../../util/errors.js';

function duplicates<T extends { name: string }>(items: readonly T[], each: (i: number, firstAt: number) => void): void {
  const seen = new Map<string, number>();
  items.forEach((x, i) => {
    const first = seen.get(x.name);
    if (first !== undefined) each(i, first);
    else seen.set(x.name, i);
  });
}

export function checkAnalysis(cluster: BzzzCluster, report: ProblemReporter): void {
  const analysis = cluster.spec.upgrade?.analysis;
  if (!analysis) return;
  const rules = analysis.rules;
  duplicates(rules, (i, first) =>
    report.add(
      ['spec', 'upgrade', 'analysis', 'rules', i, 'name'],
      `rule ${rules[i].name} again`,
      'a unique rule name',
      `analysis rule \`${rules[i].name}\` is declared twice (first at spec.upgrade.analysis.rules[${first}]); rename one`,
    ),
  );
  if (analysis.provider?.prometheus) return; // PromQL: Prometheus itself judges it, at the first measurement
  rules.forEach((r, i) => {
    const parsed = parseAgentQuery(r.query);
    if (!parsed.ok) {
      report.add(
        ['spec', 'upgrade', 'analysis', 'rules', i, 'query'],
        JSON.stringify(r.query),
        "a query in the agents' query language (no Prometheus is configured)",
        `analysis rule \`${r.name}\`: ${parsed.error}; or set spec.upgrade.analysis.provider.prometheus.url to use PromQL`,
      );
    }
  });
}

export function checkRollbackTriggers(cluster: BzzzCluster, report: ProblemReporter): void {
  const rollback = cluster.spec.rollback;
  if (!rollback) return;
  const triggers = rollback.triggers ?? [];
  const token = rollback.webhook?.tokenSecret;
  if (token !== undefined) {
    const s = cluster.spec.secrets?.[token];
    if (!s) {
      report.add(
        ['spec', 'rollback', 'webhook', 'tokenSecret'],
        `secret ${token}`,
        'a secret of spec.secrets',
        `the webhook's token secret \`${token}\` is not declared in spec.secrets: add it with a file or env source (Alertmanager sends the same token)`,
      );
    } else if (s.file === undefined && s.env === undefined) {
      report.add(
        ['spec', 'rollback', 'webhook', 'tokenSecret'],
        `secret ${token}`,
        'a secret whose source is file or env',
        `the webhook's token secret \`${token}\` must come from a file or an environment variable (bzzzctl apply stores its hash for the controller; a generated or external value is never seen by anyone)`,
      );
    }
  } else if (triggers.length) {
    report.add(
      ['spec', 'rollback', 'webhook'],
      'no webhook',
      'spec.rollback.webhook.tokenSecret',
      'spec.rollback.triggers act on alerts the controller receives on its webhook, which refuses every request without a token: set spec.rollback.webhook.tokenSecret',
    );
  }
  duplicates(triggers, (i, first) =>
    report.add(
      ['spec', 'rollback', 'triggers', i, 'name'],
      `trigger ${triggers[i].name} again`,
      'a unique trigger name',
      `rollback trigger \`${triggers[i].name}\` is declared twice (first at spec.rollback.triggers[${first}]); rename one`,
    ),
  );
  triggers.forEach((t, i) =>
    t.matchers.forEach((m, j) => {
      try {
        parseMatcher(m, `trigger ${t.name}`);
      } catch (err) {
        report.add(
          ['spec', 'rollback', 'triggers', i, 'matchers', j],
          JSON.stringify(m),
          'an Alertmanager matcher: label, =, !=, =~ or !~, and a quoted value, e.g. alertname="BzzzErrorRateHigh"',
          errorMessage(err),
        );
      }
    }),
  );
}
