import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readConfigValues, readSecretValues, withDefaults, type BzzzCluster } from '../../../src/spec/index.js';
import { InvalidInputError } from '../../../src/util/errors.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bzzz-sources-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function cluster(secrets: BzzzCluster['spec']['secrets'], configs?: BzzzCluster['spec']['configs']): BzzzCluster {
  return withDefaults({
    apiVersion: 'bzzz.io/v2',
    kind: 'BzzzCluster',
    metadata: { name: 'lab' },
    spec: { version: '1.0.0', secrets, configs, agent: { instances: [{ name: 'a' }] } },
  });
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  return p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: Error) => e,
  );
}

describe('readSecretValues', () => {
  it('reads file (relative to the spec) and env sources byte for byte; skips generated and external', async () => {
    await mkdir(join(dir, 'secrets'));
    await writeFile(join(dir, 'secrets', 'pg_user'), 'bzzz\n');
    const values = await readSecretValues(
      cluster({ pg_user: { file: 'secrets/pg_user' }, api: { env: 'API_KEY' }, gen: { generate: {} }, ext: { external: 'theirs' } }),
      dir,
      { API_KEY: 'sk-test' },
    );
    expect([...values.keys()].sort()).toEqual(['api', 'pg_user']);
    expect(values.get('pg_user')).toEqual(Buffer.from('bzzz\n'));
    expect(values.get('api')).toEqual(Buffer.from('sk-test'));
  });

  it('names every secret and its file or variable in one error, never a value', async () => {
    await writeFile(join(dir, 'empty'), '');
    const err = await rejection(
      readSecretValues(cluster({ a: { file: 'missing.txt' }, b: { env: 'NOT_SET' }, c: { file: 'empty' }, d: { env: 'SET' } }), dir, {
        SET: 'hunter2-value',
      }),
    );
    expect(err).toBeInstanceOf(InvalidInputError);
    expect(err.message).toContain(
      `secret \`a\`: file ${join(dir, 'missing.txt')} (spec.secrets.a.file, relative to the spec file) does not exist`,
    );
    expect(err.message).toContain('secret `b`: environment variable NOT_SET (spec.secrets.b.env) is not set');
    expect(err.message).toContain('secret `c` is empty');
    expect(err.message).not.toContain('hunter2');
  });
});

describe('readConfigValues', () => {
  it('reads file and inline content sources', async () => {
    await writeFile(join(dir, 'bzzz.yaml'), 'log_level: info\n');
    const values = await readConfigValues(
      cluster(undefined, { f: { file: 'bzzz.yaml' }, c: { content: 'x: 1' }, e: { external: 'theirs' } }),
      dir,
    );
    expect(Object.fromEntries([...values].map(([k, v]) => [k, v.toString()]))).toEqual({ f: 'log_level: info\n', c: 'x: 1' });
  });

  it("refuses a config file over Docker's size limit, naming it", async () => {
    await writeFile(join(dir, 'big'), Buffer.alloc(1000 * 1024, 'a'));
    const err = await rejection(readConfigValues(cluster(undefined, { big: { file: 'big' } }), dir));
    expect(err.message).toMatch(/config `big` is 1024000 bytes or more; Docker's limit is 1023999 bytes/);
  });

  it('reads an endless file (/dev/zero) only up to the limit, and refuses it', async () => {
    const before = process.memoryUsage().rss;
    const err = await rejection(readConfigValues(cluster(undefined, { zero: { file: '/dev/zero' } }), dir));
    expect(err.message).toMatch(/config `zero` is 1024000 bytes or more; Docker's limit is 1023999 bytes/);
    expect(process.memoryUsage().rss - before).toBeLessThan(64 * 1024 * 1024);
  });
});
