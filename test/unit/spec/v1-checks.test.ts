// spec.v1 validated as `bzzzctl validate` does (validateSpecText): the schema refuses what is
// malformed (a host key that is no SHA-256 fingerprint, a host name that could carry a shell
// metacharacter, an unknown field), and the semantic checks (src/spec/checks/v1.ts) what the
// schema cannot say. Each problem names its path.
import { describe, expect, it } from 'vitest';
import { validateSpecText, type SpecProblem } from '../../../src/spec/index.js';

const KEY = 'SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s';

const COMPANIONS_OFF = `  services:
    mcpServer: { enabled: false }
    openaiProxy: { enabled: false }
    contentResolver: { enabled: false }
    postgres: { enabled: false }
    redis: { enabled: false }
`;

const HOSTS = `    hosts:
      - { name: walnut, address: 10.0.0.1, hostKey: "${KEY}" }
      - { name: ironwood, address: 10.0.0.2, hostKey: "${KEY}" }
      - { name: acacia, address: ironwood.lan, port: 2222, user: bzzz, hostKey: "${KEY}" }
`;

interface Parts {
  secrets?: string;
  /** Lines under `v1:` (4 spaces in); the default is a valid v1 section. */
  v1?: string | null;
  rollback?: string;
}

const SECRET = `  secrets:
    v1_key:
      file: ./v1_key
    am_token: { env: AM_TOKEN }
`;
const V1 = `    ssh: { privateKeySecret: v1_key }
${HOSTS}`;

function spec(p: Parts = {}): string {
  return `apiVersion: bzzz.io/v2
kind: BzzzCluster
metadata:
  name: lab
spec:
  version: "1.0.0"
${p.secrets ?? SECRET}  agent:
    instances:
      - name: a
${COMPANIONS_OFF}${p.v1 === null ? '' : `  v1:\n${p.v1 ?? V1}`}${p.rollback ?? ''}`;
}

function problemsOf(text: string): SpecProblem[] {
  const result = validateSpecText(text, 'v1.yaml');
  if (result.ok) throw new Error(`expected the spec to be refused:\n${text}`);
  return result.problems;
}

const TRIGGER_TO_V1 = `  rollback:
    webhook: { tokenSecret: am_token }
    triggers:
      - name: meltdown
        matchers: ['alertname="BzzzDown"']
        action: rollback-to-v1
`;

describe('spec.v1: valid', () => {
  it.each<[string, Parts]>([
    ['hosts with a file key', {}],
    ['an env key and a plain unit', { secrets: '  secrets:\n    v1_key: { env: V1_KEY }\n', v1: `${V1}    unit: bzzz.service\n` }],
    [
      'an external key and a per-host unit',
      { secrets: '  secrets:\n    v1_key: { external: v1-key }\n', v1: V1.replace('10.0.0.1,', '10.0.0.1, unit: "bzzz-walnut.service",') },
    ],
    [
      'every option, HAProxy, a rollback-to-v1 trigger',
      {
        v1: `${V1}    unit: "bzzz@{host}.service"
    minHosts: 2
    verify: { port: 8081, path: /health, minPeers: 1, timeout: 20s }
    proxy:
      haproxy:
        host: { address: 10.0.0.9, hostKey: "${KEY}" }
        backend: bzzz
        v1Servers: [walnut, ironwood, acacia]
        v2Servers: [swarm]
`,
        rollback: TRIGGER_TO_V1,
      },
    ],
  ])('GIVEN %s THEN the spec is valid', (_name, parts) => {
    const r = validateSpecText(spec(parts), 'v1.yaml');
    if (!r.ok) throw new Error(JSON.stringify(r.problems, null, 2));
    expect(r.cluster.spec.v1?.hosts.map((h) => h.name)).toEqual(['walnut', 'ironwood', 'acacia']);
  });
});

interface Case {
  name: string;
  parts: Parts;
  path: string;
  message: RegExp;
  /** What the problem says is allowed there. */
  expected?: RegExp;
}

const FORMAT = /not in the accepted format/;

const semantic: Case[] = [
  {
    name: 'the key secret not declared',
    parts: { secrets: '', v1: V1.replace('v1_key', 'ssh_key') },
    path: 'spec.v1.ssh.privateKeySecret',
    message: /SSH key secret `ssh_key` is not declared in spec\.secrets/,
  },
  {
    name: 'the key secret generated',
    parts: { secrets: '  secrets:\n    v1_key:\n      generate: { length: 32 }\n' },
    path: 'spec.v1.ssh.privateKeySecret',
    message: /SSH key secret `v1_key` is generated, so no v1 host trusts it/,
  },
  {
    name: 'a host declared twice',
    parts: { v1: V1.replace('name: acacia', 'name: walnut') },
    path: 'spec.v1.hosts[2].name',
    message: /v1 host `walnut` is declared twice \(first at spec\.v1\.hosts\[0\]\)/,
  },
  {
    name: 'a unit template with another placeholder',
    parts: { v1: `${V1}    unit: "bzzz@{name}.service"\n` },
    path: 'spec.v1.unit',
    message: /only \{host\} may be written in braces/,
  },
  {
    name: "a host's unit with a stray brace",
    parts: { v1: V1.replace('10.0.0.2,', '10.0.0.2, unit: "bzzz@{host.service",') },
    path: 'spec.v1.hosts[1].unit',
    message: /unit "bzzz@\{host\.service": only \{host\}/,
  },
  {
    name: 'minHosts above the hosts',
    parts: { v1: `${V1}    minHosts: 4\n` },
    path: 'spec.v1.minHosts',
    message: /minHosts is 4 but only 3 host\(s\) are declared/,
  },
  {
    name: 'minPeers above the other hosts',
    parts: { v1: `${V1}    verify: { minPeers: 3 }\n` },
    path: 'spec.v1.verify.minPeers',
    message: /minPeers is 3 but a v1 agent has at most 2 peer\(s\) among 3 host\(s\)/,
  },
  {
    name: 'an HAProxy server in both lists',
    parts: {
      v1: `${V1}    proxy:
      haproxy:
        host: { address: 10.0.0.9, hostKey: "${KEY}" }
        backend: bzzz
        v1Servers: [walnut, swarm]
        v2Servers: [swarm]
`,
    },
    path: 'spec.v1.proxy.haproxy.v2Servers',
    message: /HAProxy server\(s\) swarm are listed as both v1 and v2/,
  },
  {
    name: 'both proxies',
    parts: {
      v1: `${V1}    proxy:
      haproxy:
        host: { address: 10.0.0.9, hostKey: "${KEY}" }
        backend: bzzz
        v1Servers: [walnut]
        v2Servers: [swarm]
      traefik:
        host: { address: 10.0.0.9, hostKey: "${KEY}" }
        file: /etc/traefik/dynamic/bzzz.yml
        service: bzzz
        v1Urls: ["http://10.0.0.1:8080"]
        v2Service: bzzz-v2
`,
    },
    path: 'spec.v1.proxy',
    message: /names both HAProxy and Traefik/,
  },
  {
    name: 'a rollback-to-v1 trigger without spec.v1',
    parts: { v1: null, secrets: '  secrets:\n    am_token: { env: AM_TOKEN }\n', rollback: TRIGGER_TO_V1 },
    path: 'spec.rollback.triggers[0].action',
    message: /a rollback-to-v1 trigger runs the v1 systemd services again: declare them in spec\.v1/,
  },
];

const schema: Case[] = [
  {
    name: 'a host key that is no SHA-256 fingerprint',
    parts: { v1: V1.replace(`hostKey: "${KEY}" }\n      - { name: ironwood`, 'hostKey: "MD5:16:27:ac:a5" }\n      - { name: ironwood') },
    path: 'spec.v1.hosts[0].hostKey',
    message: FORMAT,
    expected: /SHA-256 fingerprint as `ssh-keygen -lf/,
  },
  {
    name: 'a host name with a shell metacharacter',
    parts: { v1: V1.replace('name: acacia', 'name: "acacia;reboot"') },
    path: 'spec.v1.hosts[2].name',
    message: FORMAT,
    expected: /a node name: letters, digits/,
  },
  {
    name: 'a unit with a shell metacharacter',
    parts: { v1: `${V1}    unit: "bzzz@$(id).service"\n` },
    path: 'spec.v1.unit',
    message: FORMAT,
    expected: /`bzzz@\{host\}\.service`/,
  },
  {
    name: 'an address with a space',
    parts: { v1: V1.replace('address: 10.0.0.2', 'address: "10.0.0.2 -oProxyCommand=x"') },
    path: 'spec.v1.hosts[1].address',
    message: FORMAT,
    expected: /host name or IP address/,
  },
  {
    name: 'an unknown field',
    parts: { v1: `${V1}    hostz: []\n` },
    path: 'spec.v1.hostz',
    message: /unknown key `hostz`.*did you mean `hosts`\?/,
  },
  {
    name: 'an unknown field of a host',
    parts: { v1: V1.replace('port: 2222', 'sshPort: 2222') },
    path: 'spec.v1.hosts[2].sshPort',
    message: /unknown key `sshPort`/,
  },
  {
    name: 'no hosts',
    parts: { v1: '    ssh: { privateKeySecret: v1_key }\n    hosts: []\n' },
    path: 'spec.v1.hosts',
    message: /./,
    expected: /./,
  },
];

describe('spec.v1: refused', () => {
  it.each(semantic.map((c) => [c.name, c] as const))('GIVEN %s THEN the semantic check names the path', (_name, c) => {
    const problems = problemsOf(spec(c.parts));
    expect(problems.map((p) => p.path)).toEqual([c.path]);
    expect(problems[0].message).toMatch(c.message);
    expect(problems[0].line).toBeGreaterThan(0);
  });

  it.each(schema.map((c) => [c.name, c] as const))('GIVEN %s THEN the schema refuses it at its path', (_name, c) => {
    const problems = problemsOf(spec(c.parts));
    expect(problems.map((p) => p.path)).toContain(c.path);
    const problem = problems.find((p) => p.path === c.path);
    expect(problem?.message).toMatch(c.message);
    if (c.expected) expect(problem?.expected).toMatch(c.expected);
    expect(problem?.line).toBeGreaterThan(0);
  });
});
