// bzzzctl migrate verify-log FILE...: exit codes and what it prints, on exported logs in temp files.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { verifyLogCommand, type VerifyLogDocument } from '../../../src/cli/commands/migrate-log.js';
import { buildProgram, main } from '../../../src/cli/main.js';
import { writeV1Log } from '../../support/v1-log.js';

let dir: string;
let out: string[];
let err: string[];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bzzz-verify-log-'));
  out = [];
  err = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out.push(String(chunk));
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    err.push(String(chunk));
    return true;
  });
});

afterEach(async () => {
  vi.restoreAllMocks();
  process.exitCode = undefined;
  await rm(dir, { recursive: true, force: true });
});

describe('bzzzctl migrate verify-log', () => {
  it('GIVEN intact logs THEN exit 0 and each file says intact with its entries and head', async () => {
    const a = join(dir, 'walnut.jsonl');
    const b = join(dir, 'ironwood.jsonl');
    await writeV1Log(a, { entries: 20, seed: 1 });
    await writeV1Log(b, { entries: 5, seed: 2 });
    expect(await verifyLogCommand([a, b], { output: 'text' })).toBe(0);
    const text = out.join('');
    expect(text).toMatch(new RegExp(`^${a}: intact: 20 entries, index 0–19, [0-9.]+ KiB, head [0-9a-f]{64}$`, 'm'));
    expect(text).toMatch(new RegExp(`^${b}: intact: 5 entries, index 0–4, `, 'm'));
  });

  it('GIVEN a broken log THEN exit 1 and every break listed with file, line, index and reason', async () => {
    const good = join(dir, 'walnut.jsonl');
    const bad = join(dir, 'acacia.jsonl');
    await writeV1Log(good, { entries: 10 });
    await writeV1Log(bad, { entries: 40, changeData: [5], breakPrevHash: [12], dropIndex: [20] });
    expect(await verifyLogCommand([good, bad], { output: 'text' })).toBe(1);
    const lines = out.join('').trim().split('\n');
    expect(lines[0]).toContain(`${good}: intact`);
    expect(lines[1]).toMatch(`${bad}: BROKEN: 3 breaks in 39 entries`);
    expect(lines.slice(2).map((l) => l.split(': ').slice(0, 2).join(': '))).toEqual([
      `  ${bad} line 6, index 5: hash-mismatch`,
      `  ${bad} line 13, index 12: broken-prev-hash`,
      `  ${bad} line 21, index 21: missing-index`,
    ]);
  });

  it('GIVEN -o json THEN one document with every file and its breaks', async () => {
    const bad = join(dir, 'acacia.jsonl');
    await writeV1Log(bad, { entries: 10, repeatIndex: [3] });
    expect(await verifyLogCommand([bad], { output: 'json' })).toBe(1);
    const doc = JSON.parse(out.join('')) as VerifyLogDocument;
    expect(doc.intact).toBe(false);
    expect(doc.files[0]).toMatchObject({
      file: bad,
      intact: false,
      entries: 11,
      breaks: [{ source: bad, line: 5, index: 3, reason: 'repeated-index' }],
    });
  });

  it('GIVEN a file that cannot be read THEN exit 2, naming it, the other files still checked', async () => {
    const good = join(dir, 'walnut.jsonl');
    await writeV1Log(good, { entries: 3 });
    const missing = join(dir, 'nope.jsonl');
    expect(await verifyLogCommand([missing, good], { output: 'json' })).toBe(2);
    const doc = JSON.parse(out.join('')) as VerifyLogDocument;
    expect(doc.files[0]).toMatchObject({ file: missing });
    expect((doc.files[0] as { error: string }).error).toMatch(/cannot read .*nope\.jsonl: .*ENOENT/);
    expect(doc.files[1]).toMatchObject({ file: good, intact: true });
  });

  it('GIVEN a line longer than --max-line-bytes THEN it is a break', async () => {
    const f = join(dir, 'long.jsonl');
    await writeFile(f, `${'x'.repeat(500)}\n`);
    expect(await verifyLogCommand([f], { output: 'text', maxLineBytes: '100' })).toBe(1);
    expect(out.join('')).toContain(`${f} line 1, expected index 0: line-too-long: line of 500+ bytes is longer than the 100 allowed`);
  });

  it('is registered as `bzzzctl migrate verify-log` with its help', async () => {
    const f = join(dir, 'walnut.jsonl');
    await writeV1Log(f, { entries: 2 });
    expect(await main(['node', 'bzzzctl', 'migrate', 'verify-log', f])).toBe(0);
    const migrate = buildProgram().commands.find((c) => c.name() === 'migrate');
    expect(migrate?.helpInformation()).toMatch(/verify-log \[options\] <file\.\.\.>/);
  });
});
