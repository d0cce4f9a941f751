// GIVEN a spec with one mistake WHEN it is validated THEN it is refused with the mistake's path,
// the line it is on (marked `# <--` below) and a message that says what to do.
import { describe, expect, it } from 'vitest';
import { validateSpecText, formatProblems, type SpecProblem } from '../../../src/spec/index.js';

/** A valid single-node spec; `extra` lines are inserted under `spec:` (indented by the caller). */
function spec(body: string): string {
  return `apiVersion: bzzz.io/v2
kind: BzzzCluster
metadata:
  name: lab
spec:
  version: "1.0.0"
${body}`;
}

const AGENT = `  agent:
    instances:
      - name: a
`;
const COMPANIONS_OFF = `  services:
    mcpServer: { enabled: false }
    openaiProxy: { enabled: false }
    contentResolver: { enabled: false }
    postgres: { enabled: false }
    redis: { enabled: false }
`;

function problemsOf(text: string): SpecProblem[] {
  const result = validateSpecText(text, 'bad.yaml');
  if (result.ok) throw new Error(`expected the spec to be refused:\n${text}`);
  return result.problems;
}

function markedLine(text: string): number {
  const idx = text.split('\n').findIndex((l) => l.includes('# <--'));
  if (idx < 0) throw new Error('no # <-- marker');
  return idx + 1;
}

interface Case {
  name: string;
  text: string;
  path: string;
  message: RegExp;
}

const cases: Case[] = [
  {
    name: 'an API caller whose token secret is generated (nobody could ever present it)',
    text: spec(`  secrets:
    ci_token:
      generate: { length: 32 }
  agent:
    instances:
      - name: a
    api:
      callers:
        - name: ci
          role: backend_developer
          token: ci_token # <--
${COMPANIONS_OFF}`),
    path: 'spec.agent.api.callers[0].token',
    message: /token secret `ci_token` must come from a file or an environment variable/,
  },
  {
    name: 'an API caller named like a built-in one',
    text: spec(`  secrets:
    t:
      env: CI_TOKEN
  agent:
    instances:
      - name: a
    api:
      callers:
        - name: bzzz-operator # <--
          role: admin
          token: t
${COMPANIONS_OFF}`),
    path: 'spec.agent.api.callers[0].name',
    message: /reserved for the built-in callers/,
  },
  {
    name: 'host-mode port on a component attached only to internal networks',
    text: spec(
      `${AGENT}${COMPANIONS_OFF.replace(
        'redis: { enabled: false }',
        `redis:
      networks: [internal] # <--
      ports: [{ target: 6379, published: 6379, mode: host }]`,
      )}`,
    ),
    path: 'spec.services.redis.networks',
    message: /publishes ports in host mode but is attached only to internal networks.*add `external`/,
  },
  {
    name: 'unknown key, with a suggestion',
    text: spec(`${AGENT}  services:
    redis:
      replica: 2 # <--
`),
    path: 'spec.services.redis.replica',
    message: /unknown key `replica`.*did you mean `replicas`\?/,
  },
  {
    name: 'wrong type (a quoted number)',
    text: spec(`${AGENT}${COMPANIONS_OFF.replace('redis: { enabled: false }', 'redis: { replicas: "2" } # <--')}`),
    path: 'spec.services.redis.replicas',
    message: /an integer is needed here; remove the quotes/,
  },
  {
    name: 'version written as a number',
    text: spec('').replace('version: "1.0.0"', 'version: 2.0 # <--') + AGENT + COMPANIONS_OFF,
    path: 'spec.version',
    message: /a string is needed here; quote it: "2\.0"/,
  },
  {
    name: 'port out of range',
    text: spec(`  agent:
    instances:
      - name: a
        publish: { p2p: 70000 } # <--
${COMPANIONS_OFF}`),
    path: 'spec.agent.instances[0].publish.p2p',
    message: /70000 is out of range; use a value from 1 to 65535/,
  },
  {
    name: 'port collision in ingress mode across services',
    text: spec(`${AGENT}  services:
    openaiProxy: { enabled: false }
    contentResolver: { enabled: false }
    postgres: { enabled: false }
    mcpServer:
      ports: [{ target: 3001, published: 6379 }]
    redis:
      ports:
        - { target: 6379, published: 6379 } # <--
`),
    path: 'spec.services.redis.ports[0].published',
    message: /port 6379\/tcp is published twice: by redis here and by mcpServer at spec\.services\.mcpServer\.ports\[0\]\.published/,
  },
  {
    name: 'port collision in host mode on the same node',
    text: spec(`  nodes: [{ name: walnut }]
  agent:
    instances:
      - { name: a, node: walnut, publish: { p2p: 9100 } }
      - { name: b, node: walnut, publish: { p2p: 9100 } } # <--
${COMPANIONS_OFF}`),
    path: 'spec.agent.instances[1].publish.p2p',
    message: /9100\/tcp is published twice.*both run on node walnut in host mode/,
  },
  {
    name: 'placement on a node the spec does not name',
    text: spec(`  nodes: [{ name: walnut }, { name: ironwood }]
  agent:
    instances:
      - name: a
        node: oak # <--
${COMPANIONS_OFF}`),
    path: 'spec.agent.instances[0].node',
    message: /node `oak` is not declared in spec\.nodes; use one of walnut, ironwood or add it to spec\.nodes/,
  },
  {
    name: 'secret mounted but not declared',
    text: spec(`  agent:
    instances: [{ name: a }]
    secrets:
      - source: api_token # <--
${COMPANIONS_OFF}`),
    path: 'spec.agent.secrets[0].source',
    message: /mounts secret `api_token`, which spec\.secrets does not declare; declare spec\.secrets\.api_token/,
  },
  {
    name: 'companion secret reference (a default) not declared',
    text: spec(`${AGENT}  services:
    mcpServer: { enabled: false }
    openaiProxy: {} # <--
    contentResolver: { enabled: false }
    postgres: { enabled: false }
    redis: { enabled: false }
`),
    path: 'spec.services.openaiProxy.apiKeySecret',
    message: /apiKeySecret \(default\) names secret `openai_api_key`, which spec\.secrets does not declare/,
  },
  {
    name: 'network used but not declared',
    text: spec(`  networks:
    internal: {}
  agent:
    instances: [{ name: a }]
    networks: [internal, backend] # <--
${COMPANIONS_OFF}`),
    path: 'spec.agent.networks[1]',
    message: /uses network `backend`, which spec\.networks does not declare/,
  },
  {
    name: 'duplicate agent instance',
    text: spec(`  agent:
    instances:
      - name: a
      - name: a # <--
${COMPANIONS_OFF}`),
    path: 'spec.agent.instances[1].name',
    message: /agent instance `a` is declared twice.*rename one/,
  },
  {
    name: 'bad duration',
    text: spec(`${AGENT}${COMPANIONS_OFF}  updatePolicy:
    delay: 10 seconds # <--
`),
    path: 'spec.updatePolicy.delay',
    message: /not in the accepted format/,
  },
  {
    name: 'reserved label',
    text: spec(`  agent:
    instances: [{ name: a }]
    labels:
      io.bzzz.component: mine # <--
${COMPANIONS_OFF}`),
    path: 'spec.agent.labels["io.bzzz.component"]',
    message: /label `io\.bzzz\.component` on agent is the operator's own.*remove it/,
  },
  {
    name: 'bad cluster name',
    text: spec(`${AGENT}${COMPANIONS_OFF}`).replace('name: lab', 'name: Lab_1 # <--'),
    path: 'metadata.name',
    message: /not in the accepted format/,
  },
  {
    name: 'secret with two sources',
    text: spec(`  secrets:
    token: { file: token.txt, env: TOKEN } # <--
${AGENT}${COMPANIONS_OFF}`),
    path: 'spec.secrets.token',
    message: /secret `token` has 2 sources \(file and env\): keep exactly one/,
  },
  {
    name: 'no agent instances',
    text: spec(`  agent:
    instances: [] # <--
${COMPANIONS_OFF}`),
    path: 'spec.agent.instances',
    message: /needs at least 1 item; add an instance/,
  },
  {
    name: 'image reference Docker refuses',
    text: spec(`  agent:
    image: Bzzz:Agent:1 # <--
    instances: [{ name: a }]
${COMPANIONS_OFF}`),
    path: 'spec.agent.image',
    message: /Docker refuses the image reference of agent/,
  },
  {
    name: 'bad memory size',
    text: spec(`  agent:
    instances: [{ name: a }]
    resources:
      limits: { memory: lots } # <--
${COMPANIONS_OFF}`),
    path: 'spec.agent.resources.limits.memory',
    message: /not in the accepted format/,
  },
  {
    name: 'rollback policy that rolls back',
    text: spec(`${AGENT}${COMPANIONS_OFF}  rollbackPolicy:
    failureAction: rollback # <--
`),
    path: 'spec.rollbackPolicy.failureAction',
    message: /a failed rollback cannot itself be rolled back; use pause/,
  },
  {
    name: 'secret whose Docker name would be too long',
    text: spec(`  secrets:
    a_very_long_secret_name_for_the_proxy_api: { generate: {} } # <--
${AGENT}${COMPANIONS_OFF}`).replace('name: lab', 'name: home-lab-cluster-number-one'),
    path: 'spec.secrets.a_very_long_secret_name_for_the_proxy_api',
    message: /over Docker's limit of 64; shorten its name/,
  },
  {
    name: 'network whose swarm name Docker refuses',
    text: spec(`  networks:
    back.end: {} # <--
  agent:
    instances: [{ name: a }]
    networks: [back.end]
${COMPANIONS_OFF}`),
    path: 'spec.networks["back.end"]',
    message: /created as `lab_back\.end`, which Docker refuses/,
  },
  {
    name: 'enum value with a typo',
    text: spec(`${AGENT}${COMPANIONS_OFF}  updatePolicy:
    failureAction: rolback # <--
`),
    path: 'spec.updatePolicy.failureAction',
    message: /did you mean `rollback`\?/,
  },
  {
    name: 'election timeout not above the heartbeat',
    text: spec(`  agent:
    instances: [{ name: a }]
    election:
      heartbeatMs: 5000
      timeoutMs: 4000 # <--
${COMPANIONS_OFF}`),
    path: 'spec.agent.election.timeoutMs',
    message: /must exceed the heartbeat interval.*about 3 × heartbeatMs \(15000\)/,
  },
  {
    name: 'health check without CMD/CMD-SHELL/NONE',
    text: spec(`  agent:
    instances: [{ name: a }]
    healthcheck:
      test: [wget, -qO-, "http://localhost:8081/health/live"] # <--
${COMPANIONS_OFF}`),
    path: 'spec.agent.healthcheck.test[0]',
    message: /starts with CMD .*CMD-SHELL .*or NONE/,
  },
  {
    name: 'YAML syntax error',
    text: spec(`${AGENT}  services:
    redis: { enabled: false # <--
`),
    path: '',
    message: /the file does not parse/,
  },
  {
    name: "an analysis rule without a Prometheus whose query is not in the agents' query language",
    text: spec(`${AGENT}  upgrade:
    analysis:
      rules:
        - name: errors
          query: rate(bzzz_errors_total[5m]) # <--
          failWhen: { above: 0.05 }
${COMPANIONS_OFF}`),
    path: 'spec.upgrade.analysis.rules[0].query',
    message: /analysis rule `errors`: .*sum, avg, max, min.*provider\.prometheus\.url/,
  },
  {
    name: 'two analysis rules with one name',
    text: spec(`${AGENT}  upgrade:
    analysis:
      rules:
        - name: errors
          query: sum(bzzz_errors_total)
          failWhen: { above: 1 }
        - name: errors # <--
          query: max(bzzz_memory_usage_ratio)
          failWhen: { above: 0.9 }
${COMPANIONS_OFF}`),
    path: 'spec.upgrade.analysis.rules[1].name',
    message: /analysis rule `errors` is declared twice \(first at spec\.upgrade\.analysis\.rules\[0\]\); rename one/,
  },
  {
    name: 'an analysis condition with two thresholds',
    text: spec(`${AGENT}  upgrade:
    analysis:
      rules:
        - name: errors
          query: sum(bzzz_errors_total)
          failWhen: { above: 1, aboveBaseline: 2 } # <--
${COMPANIONS_OFF}`),
    path: 'spec.upgrade.analysis.rules[0].failWhen',
    message: /more than 1/i,
  },
  {
    name: 'a webhook token from a generated secret (Alertmanager could never send it)',
    text: spec(`${AGENT}  secrets:
    am_token:
      generate: {}
  rollback:
    webhook:
      tokenSecret: am_token # <--
${COMPANIONS_OFF}`),
    path: 'spec.rollback.webhook.tokenSecret',
    message: /token secret `am_token` must come from a file or an environment variable/,
  },
  {
    name: 'rollback triggers without a webhook token',
    text: spec(`${AGENT}  rollback:
    triggers: # <--
      - name: errors
        matchers: ['alertname="BzzzErrorRateHigh"']
        action: rollback-previous
${COMPANIONS_OFF}`),
    path: 'spec.rollback.webhook',
    message: /set spec\.rollback\.webhook\.tokenSecret/,
  },
  {
    name: 'a trigger matcher that is not Alertmanager syntax',
    text: spec(`${AGENT}  secrets:
    am_token:
      env: AM_TOKEN
  rollback:
    webhook: { tokenSecret: am_token }
    triggers:
      - name: errors
        matchers:
          - alertname~"BzzzErrorRateHigh" # <--
        action: rollback-previous
${COMPANIONS_OFF}`),
    path: 'spec.rollback.triggers[0].matchers[0]',
    message: /trigger errors: .* is not a matcher; write label, operator/,
  },
];

describe('bad specs are refused with path, line and advice', () => {
  it('covers at least 12 distinct mistakes', () => {
    expect(new Set(cases.map((c) => c.path)).size).toBeGreaterThanOrEqual(12);
  });

  it.each(cases)('$name', ({ text, path, message }) => {
    const problems = problemsOf(text);
    const hit = problems.find((p) => p.path === path);
    expect(hit, `no problem at ${path}; got:\n${formatProblems(problems, 'bad.yaml')}`).toBeDefined();
    expect(hit!.message).toMatch(message);
    expect(hit!.found).not.toBe('');
    expect(hit!.expected).not.toBe('');
    if (path !== '') expect(hit!.line).toBe(markedLine(text));
    else expect(hit!.line).toBeGreaterThanOrEqual(markedLine(text));
  });

  it('collects every problem of a spec instead of stopping at the first', () => {
    const text = spec(`  nodes: [{ name: walnut }]
  secrets:
    token: {}
  agent:
    instances:
      - { name: a, node: oak }
      - { name: a }
    replicas: 3
    networks: [nowhere]
    update: { delay: soon }
${COMPANIONS_OFF}`);
    const paths = problemsOf(text).map((p) => p.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'spec.secrets.token',
        'spec.agent.instances[0].node',
        'spec.agent.instances[1].name',
        'spec.agent.replicas',
        'spec.agent.networks[0]',
        'spec.agent.update.delay',
      ]),
    );
  });

  it('never shows an environment value in a problem', () => {
    const text = spec(`  agent:
    instances: [{ name: a }]
    env:
      OPENAI_API_KEY: 123456789
${COMPANIONS_OFF}`);
    const problems = problemsOf(text);
    expect(problems.map((p) => p.path)).toContain('spec.agent.env.OPENAI_API_KEY');
    expect(JSON.stringify(problems)).not.toContain('123456789');
  });

  it('formats problems as file:line:col  path  message (found, expected)', () => {
    const problems = problemsOf(cases.find((c) => c.path === 'spec.services.redis.replica')!.text);
    expect(formatProblems(problems, 'bad.yaml')).toMatch(
      /^bad\.yaml:12:7 {2}spec\.services\.redis\.replica {2}unknown key `replica` in spec\.services\.redis: did you mean `replicas`\? \(found the unknown key `replica`, expected one of enabled, replicas, /m,
    );
  });
});
