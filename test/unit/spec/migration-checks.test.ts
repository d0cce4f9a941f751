// spec.migration validated as `bzzzctl validate` does (validateSpecText): the schema refuses what
// is malformed (an unknown phase, a recipient that is no age key, a relative archive directory),
// and the semantic checks (src/spec/checks/v1.ts checkMigration) what the schema cannot say: the
// migration needs spec.v1, a cutover needs a proxy, the shares rise to 100, complete needs an
// archive. Each problem names its path.
import { describe, expect, it } from 'vitest';
import { validateSpecText, type SpecProblem } from '../../../src/spec/index.js';

const KEY = 'SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s';
const AGE = 'age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p';

const COMPANIONS_OFF = `  services:
    mcpServer: { enabled: false }
    openaiProxy: { enabled: false }
    contentResolver: { enabled: false }
    postgres: { enabled: false }
    redis: { enabled: false }
`;

const PROXY = `    proxy:
      haproxy:
        host: { address: 10.0.0.9, hostKey: "${KEY}" }
        backend: bzzz
        v1Servers: [walnut, ironwood, acacia]
        v2Servers: [swarm]
`;

const V1 = `  v1:
    ssh: { privateKeySecret: v1_key }
    hosts:
      - { name: walnut, address: 10.0.0.1, hostKey: "${KEY}" }
      - { name: ironwood, address: 10.0.0.2, hostKey: "${KEY}" }
      - { name: acacia, address: 10.0.0.3, hostKey: "${KEY}" }
${PROXY}`;

const ARCHIVE = `    archive:
      dir: /var/backups/bzzz-v1
      recipients: ["${AGE}"]
`;

interface Parts {
  /** The whole v1 section (two spaces in), or null for none. */
  v1?: string | null;
  /** Lines under `migration:` (4 spaces in). */
  migration: string;
}

function spec(p: Parts): string {
  return `apiVersion: bzzz.io/v2
kind: BzzzCluster
metadata:
  name: lab
spec:
  version: "1.0.0"
  secrets:
    v1_key: { file: ./v1_key }
  agent:
    instances:
      - name: a
${COMPANIONS_OFF}${p.v1 === null ? '' : (p.v1 ?? V1)}  migration:
${p.migration}`;
}

function problemsOf(text: string): SpecProblem[] {
  const result = validateSpecText(text, 'migration.yaml');
  if (result.ok) throw new Error(`expected the spec to be refused:\n${text}`);
  return result.problems;
}

describe('spec.migration: valid', () => {
  it.each<[string, Parts]>([
    ['the first phase, no proxy', { v1: V1.replace(PROXY, ''), migration: '    targetPhase: parallel\n' }],
    [
      'content-migrated with a log path and a size',
      { migration: '    targetPhase: content-migrated\n    content: { logPath: /srv/bzzz/log.jsonl, maxLogBytes: 2G }\n' },
    ],
    ['cutover with its own steps and hold', { migration: '    targetPhase: cutover\n    cutover: { steps: [5, 25, 100], hold: 10m }\n' }],
    ['complete with an archive', { migration: `    targetPhase: complete\n${ARCHIVE}` }],
    ['complete, one step of 100', { migration: `    targetPhase: complete\n    cutover: { steps: [100] }\n${ARCHIVE}` }],
  ])('GIVEN %s THEN the spec is valid', (_name, parts) => {
    const r = validateSpecText(spec(parts), 'migration.yaml');
    if (!r.ok) throw new Error(JSON.stringify(r.problems, null, 2));
    expect(r.cluster.spec.migration?.targetPhase).toBeDefined();
  });
});

interface Case {
  name: string;
  parts: Parts;
  path: string;
  message: RegExp;
  expected?: RegExp;
}

const semantic: Case[] = [
  {
    name: 'a migration without spec.v1',
    parts: { v1: null, migration: '    targetPhase: parallel\n' },
    path: 'spec.migration',
    message: /the migration runs on the v1 hosts: declare them in spec\.v1/,
    expected: /spec\.v1 with the v1 hosts/,
  },
  {
    name: 'a cutover target without a proxy',
    parts: { v1: V1.replace(PROXY, ''), migration: '    targetPhase: cutover\n' },
    path: 'spec.migration.targetPhase',
    message: /targetPhase cutover moves traffic to v2 through the proxy: declare it in spec\.v1\.proxy/,
  },
  {
    name: 'a complete target without a proxy (and with an archive)',
    parts: { v1: V1.replace(PROXY, ''), migration: `    targetPhase: complete\n${ARCHIVE}` },
    path: 'spec.migration.targetPhase',
    message: /targetPhase complete moves traffic to v2 through the proxy/,
  },
  {
    name: 'cutover steps not rising',
    parts: { migration: '    targetPhase: cutover\n    cutover: { steps: [50, 10, 100] }\n' },
    path: 'spec.migration.cutover.steps',
    message: /they must rise and end with 100/,
    expected: /rising shares ending at 100/,
  },
  {
    name: 'cutover steps repeating a share',
    parts: { migration: '    targetPhase: cutover\n    cutover: { steps: [10, 10, 100] }\n' },
    path: 'spec.migration.cutover.steps',
    message: /they must rise and end with 100/,
  },
  {
    name: 'cutover steps not ending at 100',
    parts: { migration: '    targetPhase: cutover\n    cutover: { steps: [10, 50, 90] }\n' },
    path: 'spec.migration.cutover.steps',
    message: /they must rise and end with 100/,
  },
  {
    name: 'complete without an archive',
    parts: { migration: '    targetPhase: complete\n' },
    path: 'spec.migration.archive',
    message: /targetPhase complete stops the v1 units and archives their data first/,
    expected: /spec\.migration\.archive \(dir, recipients\)/,
  },
];

const FORMAT = /not in the accepted format/;

const schema: Case[] = [
  {
    name: 'an unknown phase',
    parts: { migration: '    targetPhase: finished\n' },
    path: 'spec.migration.targetPhase',
    message: /./,
    expected: /v1-only.*parallel.*content-migrated.*cutover.*complete/,
  },
  {
    name: 'a recipient that is not an age key',
    parts: {
      migration: `    targetPhase: complete\n    archive:\n      dir: /var/backups/bzzz-v1\n      recipients: ["${AGE}", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5"]\n`,
    },
    path: 'spec.migration.archive.recipients[1]',
    message: FORMAT,
  },
  {
    name: 'a relative archive directory',
    parts: { migration: `    targetPhase: complete\n${ARCHIVE.replace('/var/backups/bzzz-v1', 'backups/bzzz-v1')}` },
    path: 'spec.migration.archive.dir',
    message: FORMAT,
  },
  {
    name: 'an archive without recipients',
    parts: { migration: '    targetPhase: complete\n    archive: { dir: /var/backups/bzzz-v1 }\n' },
    path: 'spec.migration.archive.recipients',
    message: /./,
  },
  {
    name: 'a share above 100',
    parts: { migration: '    targetPhase: cutover\n    cutover: { steps: [10, 150] }\n' },
    path: 'spec.migration.cutover.steps[1]',
    message: /./,
  },
  {
    name: 'an unknown field',
    parts: { migration: '    targetPhase: cutover\n    cutovr: {}\n' },
    path: 'spec.migration.cutovr',
    message: /unknown key `cutovr`.*did you mean `cutover`\?/,
  },
  {
    name: 'no targetPhase',
    parts: { migration: '    cutover: { steps: [100] }\n' },
    path: 'spec.migration.targetPhase',
    message: /./,
  },
];

describe('spec.migration: refused', () => {
  it.each(semantic.map((c) => [c.name, c] as const))('GIVEN %s THEN the semantic check names the path', (_name, c) => {
    const problems = problemsOf(spec(c.parts));
    expect(problems.map((p) => p.path)).toEqual([c.path]);
    expect(problems[0].message).toMatch(c.message);
    if (c.expected) expect(problems[0].expected).toMatch(c.expected);
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
