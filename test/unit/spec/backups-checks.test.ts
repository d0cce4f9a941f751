// spec.backups validated as `bzzzctl validate` does (validateSpecText): the schema refuses the
// malformed (a relative repository, a recipient that is no age key, an unknown field), the
// semantic checks (src/spec/checks/backups.ts) what the schema cannot say. Each problem names
// its path and what to do.
import { describe, expect, it } from 'vitest';
import { validateSpecText, type SpecProblem } from '../../../src/spec/index.js';
import { parseSubsetPercent } from '../../../src/spec/checks/backups.js';
import { COMPANIONS_OFF } from '../../support/specs.js';

const RECIPIENT = 'age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p';

function spec(backups: string, secrets = '    backup_key: { file: ./backup_key }\n', postgres = 'postgres: { enabled: false }'): string {
  return `apiVersion: bzzz.io/v2
kind: BzzzCluster
metadata:
  name: lab
spec:
  version: "1.0.0"
  secrets:
${secrets}  agent:
    instances:
      - name: a
${COMPANIONS_OFF.replace('postgres: { enabled: false }', postgres)}  backups:
${backups}`;
}

const BASE = `    repository: /var/backups/lab
    identitySecret: backup_key
    schedule: "0 3 * * *"
`;

function problemsOf(text: string): SpecProblem[] {
  const r = validateSpecText(text, 'b.yaml');
  if (r.ok) throw new Error(`expected the spec to be refused:\n${text}`);
  return r.problems;
}

describe('spec.backups: valid', () => {
  it('the smallest section', () => {
    const r = validateSpecText(spec(BASE), 'b.yaml');
    if (!r.ok) throw new Error(JSON.stringify(r.problems, null, 2));
    expect(r.cluster.spec.backups?.schedule).toBe('0 3 * * *');
  });

  it('every option, with postgres running and an env identity', () => {
    const full = `${BASE}    recipients: [${RECIPIENT}]
    timeZone: Europe/Berlin
    jitter: 5m
    include: { postgres: true, swarm: true, content: false }
    retention: { keepLast: 7, keepDaily: 14, keepWeekly: 8, keepMonthly: 12 }
    verify: { afterBackup: true, readDataSubset: "2.5%" }
    drill: { schedule: "0 5 * * 0" }
`;
    const r = validateSpecText(
      spec(
        full,
        '    backup_key: { env: BACKUP_KEY }\n    postgres_user: { generate: {} }\n    postgres_password: { generate: {} }\n',
        'postgres: {}',
      ),
      'b.yaml',
    );
    if (!r.ok) throw new Error(JSON.stringify(r.problems, null, 2));
    expect(r.cluster.spec.backups?.retention?.keepMonthly).toBe(12);
  });
});

describe('spec.backups: refused, naming the field', () => {
  it.each<[string, string, string, RegExp, string?]>([
    [
      'a schedule that does not parse',
      BASE.replace('0 3 * * *', '0 25 * * *'),
      'spec.backups.schedule',
      /schedule "0 25 \* \* \*" does not parse/,
    ],
    ['six words of nonsense', BASE.replace('0 3 * * *', 'every day at three'), 'spec.backups.schedule', /does not parse.*fields/],
    [
      'a drill schedule that does not parse',
      `${BASE}    drill: { schedule: "0 5 * * 9" }\n`,
      'spec.backups.drill.schedule',
      /does not parse/,
    ],
    ['an unknown time zone', `${BASE}    timeZone: Mars/Olympus\n`, 'spec.backups.timeZone', /time zone "Mars\/Olympus" is not known/],
    [
      'an identity not declared',
      BASE.replace('backup_key', 'nokey'),
      'spec.backups.identitySecret',
      /`nokey` is not declared in spec\.secrets/,
    ],
    [
      'a generated identity',
      BASE,
      'spec.backups.identitySecret',
      /is generated, which makes random text, not an age identity/,
      '    backup_key: { generate: {} }\n',
    ],
    ['postgres asked for but absent', `${BASE}    include: { postgres: true }\n`, 'spec.backups.include.postgres', /runs none/],
    ['a retention that keeps nothing', `${BASE}    retention: { keepLast: 0 }\n`, 'spec.backups.retention', /keeps no snapshot/],
    ['a 0% verify share', `${BASE}    verify: { readDataSubset: "0%" }\n`, 'spec.backups.verify.readDataSubset', /reads nothing/],
  ])('%s', (_name, backups, path, message, secrets) => {
    const problems = problemsOf(spec(backups, secrets));
    const p = problems.find((x) => x.path === path);
    expect(p, JSON.stringify(problems, null, 2)).toBeDefined();
    expect(p?.message).toMatch(message);
  });

  it.each<[string, string, string]>([
    ['a relative repository', BASE.replace('/var/backups/lab', 'backups/lab'), 'spec.backups.repository'],
    ['a recipient that is no age key', `${BASE}    recipients: [ssh-ed25519 AAAA]\n`, 'spec.backups.recipients[0]'],
    ['a subset that is not a share', `${BASE}    verify: { readDataSubset: "half" }\n`, 'spec.backups.verify.readDataSubset'],
    ['no schedule', BASE.replace('    schedule: "0 3 * * *"\n', ''), 'spec.backups.schedule'],
    ['the old enabled flag', `${BASE}    enabled: true\n`, 'spec.backups.enabled'],
  ])('schema: %s', (_name, backups, path) => {
    const problems = problemsOf(spec(backups));
    expect(problems.map((p) => p.path)).toContain(path);
  });
});

describe('parseSubsetPercent', () => {
  it.each([
    ['5%', 5],
    ['2.5%', 2.5],
    ['100%', 100],
    ['0%', undefined],
    ['101%', undefined],
    ['5', undefined],
  ])('%s → %s', (text, want) => expect(parseSubsetPercent(text)).toBe(want));
});
