// The validator is compiled ahead of time from the schema (start-up time matters); this fails
// when someone changed schemas/bzzzcluster.schema.json without regenerating.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

describe('generated validator', () => {
  it('is up to date with schemas/bzzzcluster.schema.json (node scripts/gen-validator.mjs --check)', async () => {
    const run = promisify(execFile);
    const result = await run(process.execPath, ['scripts/gen-validator.mjs', '--check']).then(
      () => ({ code: 0, stderr: '' }),
      (err: { code: number; stderr: string }) => ({ code: err.code, stderr: err.stderr }),
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  }, 30_000);
});
