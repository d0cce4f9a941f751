import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { validateCommand } from '../../../src/cli/commands/validate.js';

let dir: string;
let out: string[];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bzzz-validate-'));
  out = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out.push(String(chunk));
    return true;
  });
});

afterEach(async () => {
  vi.restoreAllMocks();
  await rm(dir, { recursive: true, force: true });
});

const BAD = `apiVersion: bzzz.io/v2
kind: BzzzCluster
metadata:
  name: lab
spec:
  version: "1.0.0"
  agent:
    instances:
      - name: a
        node: oak
  services:
    redis: { replica: 2 }
`;

describe('bzzzctl validate', () => {
  it('GIVEN a bad spec THEN exits 1 and lists every problem with file, line, path and advice; writes nothing', async () => {
    const file = join(dir, 'bad.yaml');
    await writeFile(file, BAD);
    const code = await validateCommand({ filename: file, output: 'text' });
    expect(code).toBe(1);
    const text = out.join('');
    expect(text).toContain(`${file}: invalid`);
    expect(text).toContain(`${file}:10:15  spec.agent.instances[0].node  node \`oak\` is not declared in spec.nodes`);
    expect(text).toContain(
      `${file}:12:14  spec.services.redis.replica  unknown key \`replica\` in spec.services.redis: did you mean \`replicas\`?`,
    );
    expect(await readdir(dir)).toEqual(['bad.yaml']);
  });

  it('-o json prints {valid, problems}', async () => {
    const file = join(dir, 'bad.yaml');
    await writeFile(file, BAD);
    expect(await validateCommand({ filename: file, output: 'json' })).toBe(1);
    const report = JSON.parse(out.join('')) as { valid: boolean; problems: Array<{ path: string; line: number }> };
    expect(report.valid).toBe(false);
    expect(report.problems.map((p) => [p.path, p.line])).toEqual(
      expect.arrayContaining([
        ['spec.agent.instances[0].node', 10],
        ['spec.services.redis.replica', 12],
      ]),
    );
  });

  it('GIVEN the dev example THEN exits 0 with a one-line summary', async () => {
    expect(await validateCommand({ filename: 'stacks/examples/dev.yaml', output: 'text' })).toBe(0);
    expect(out.join('')).toBe(
      'stacks/examples/dev.yaml: valid — cluster bzzz-dev (BZZZ 0.1.0): 3 agent instances (a, b, c); services: postgres, redis\n',
    );
  });

  it('-o yaml on a valid spec prints valid: true and the cluster summary', async () => {
    expect(await validateCommand({ filename: 'stacks/examples/production.yaml', output: 'yaml' })).toBe(0);
    const text = out.join('');
    expect(text).toContain('valid: true');
    expect(text).toContain('name: bzzz-v2');
    expect(text).toContain('problems: []');
  });

  it('GIVEN a missing file THEN exits 1 and says so', async () => {
    expect(await validateCommand({ filename: join(dir, 'nope.yaml'), output: 'text' })).toBe(1);
    expect(out.join('')).toMatch(/nope\.yaml does not exist; pass the path of a BzzzCluster YAML or JSON file with -f/);
  });
});
