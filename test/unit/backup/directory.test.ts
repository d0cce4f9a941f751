import { mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { directorySource, directoryTarget } from '../../../src/backup/directory.js';

describe('directory source and target', () => {
  let base: string;
  beforeEach(async () => {
    base = await mkdtemp(join(tmpdir(), 'bka-dir-'));
  });
  afterEach(() => rm(base, { recursive: true, force: true }));
  const signal = new AbortController().signal;

  it('walks in sorted order with stat fields, skipping symlinks', async () => {
    await mkdir(join(base, 'src', 'b'), { recursive: true });
    await writeFile(join(base, 'src', 'b', 'x.txt'), 'xx');
    await writeFile(join(base, 'src', 'a.txt'), 'a');
    await symlink('/etc/passwd', join(base, 'src', 'link'));
    const entries = [];
    for await (const e of directorySource('files', join(base, 'src')).entries(signal)) entries.push(e);
    expect(entries.map((e) => `${e.type} ${e.path}`)).toEqual(['file a.txt', 'dir b', 'file b/x.txt']);
    const file = entries[0];
    expect(file).toMatchObject({ size: 1 });
    expect(typeof file?.inode).toBe('number');
    expect(typeof file?.mtimeMs).toBe('number');
  });

  it('refuses a source that is not a directory, naming it', async () => {
    const it = directorySource('files', join(base, 'missing')).entries(signal)[Symbol.asyncIterator]();
    await expect(it.next()).rejects.toThrow(`backup source files: ${join(base, 'missing')} is not a directory`);
  });

  it('refuses restore paths that leave the directory or pass through a symlink', async () => {
    const out = join(base, 'out');
    const t = directoryTarget('files', out);
    const data = () => Readable.from([Buffer.from('evil')]);
    for (const path of ['../escape.txt', 'a/../../escape.txt', '/etc/evil', 'a//b'])
      await expect(t.write({ path, type: 'file' }, data(), signal)).rejects.toThrow(/refused/);
    await mkdir(join(base, 'elsewhere'));
    await mkdir(out);
    await symlink(join(base, 'elsewhere'), join(out, 'link'));
    await expect(t.write({ path: 'link/evil.txt', type: 'file' }, data(), signal)).rejects.toThrow(
      /is a symlink; refusing to write through it/,
    );
    expect(await readdir(join(base, 'elsewhere'))).toEqual([]);
    expect(await readdir(base)).not.toContain('escape.txt');
    await t.write({ path: 'ok/fine.txt', type: 'file', mode: 0o600 }, data(), signal);
    expect(await readFile(join(out, 'ok', 'fine.txt'), 'utf8')).toBe('evil');
  });
});
