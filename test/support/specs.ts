// Specs and stored-spec documents the tests share: a cluster of busybox agents only (no
// companions), for tests of the operator's own behaviour (store, leases, ownership).
import { validateSpecText } from '../../src/spec/index.js';
import type { BzzzCluster } from '../../src/spec/types.js';
import type { ClusterStatus } from '../../src/spec/status.js';

/** `spec.services` with every companion service turned off (YAML at the spec's indentation). */
export const COMPANIONS_OFF = `  services:
    mcpServer: { enabled: false }
    openaiProxy: { enabled: false }
    contentResolver: { enabled: false }
    postgres: { enabled: false }
    redis: { enabled: false }
`;

/**
 * A spec of only busybox agents (no companions): what tests of the operator's own behaviour
 * (leases, ownership) need. `agents` names the instances; `config` adds one mounted config.
 */
export function agentsOnlySpec(name: string, opts: { agents?: string[]; config?: string } = {}): string {
  const agents = opts.agents ?? ['a1'];
  return `apiVersion: bzzz.io/v2
kind: BzzzCluster
metadata:
  name: ${name}
spec:
  version: "2.0.0"
${opts.config === undefined ? '' : `  configs:\n    settings:\n      content: "${opts.config}"\n`}  agent:
    image: bzzz-test/busybox:1
    instances:
${agents.map((a) => `      - name: ${a}\n`).join('')}${opts.config === undefined ? '' : '    configs:\n      - source: settings\n        target: /etc/bzzz/settings\n'}    stopGracePeriod: 2s
${COMPANIONS_OFF}`;
}

/** What the store tests store: the parsed agents-only cluster, generation documents and statuses. */
export function storeFixtures(name: string): {
  cluster: BzzzCluster;
  doc(n: number): {
    cluster: BzzzCluster;
    secretVersions: Record<string, string>;
    configContents: Record<string, string>;
    specHash: string;
  };
  status(generation: number, reason: string): ClusterStatus;
} {
  const parsed = validateSpecText(agentsOnlySpec(name), 'state.yaml');
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  const cluster = parsed.cluster;
  return {
    cluster,
    doc: (n) => ({ cluster, secretVersions: {}, configContents: { n: String(n) }, specHash: `hash-${n}` }),
    status: (g, reason) => ({
      observedGeneration: g,
      conditions: [{ type: 'Ready', status: 'False', reason, message: '', lastTransitionTime: new Date(0).toISOString() }],
      components: [],
    }),
  };
}
