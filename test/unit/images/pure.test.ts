// The pure parts of the image builder: references, tags, hashes, the production package set,
// mmdebstrap's command line.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync, cpSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tagsFor, versionForTag } from '../../../src/images/bzzzctl.js';
import { hashTree, hashValue, listFiles } from '../../../src/images/hash.js';
import { mmdebstrapArgs } from '../../../src/images/mmdebstrap.js';
import { shellQuote } from '../../../src/util/shell.js';
import { copyProductionModules, productionPackages } from '../../../src/images/production-modules.js';
import { nodeBaseImage } from '../../../src/images/recipes.js';
import { classify, parseRef } from '../../../src/images/refs.js';

const dirs: string[] = [];
function temp(): string {
  const d = mkdtempSync(join(tmpdir(), 'bzzz-images-unit-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function write(root: string, rel: string, content: string): void {
  mkdirSync(join(root, rel, '..'), { recursive: true });
  writeFileSync(join(root, rel), content);
}

describe('image references', () => {
  const base = 'bzzz/node-base:20-bookworm';
  it('parses repository and tag, defaulting to latest and dropping docker.io', () => {
    expect(parseRef('bzzz/postgres:15')).toEqual({ repo: 'bzzz/postgres', tag: '15' });
    expect(parseRef('bzzz/bzzzctl')).toEqual({ repo: 'bzzz/bzzzctl', tag: 'latest' });
    expect(parseRef('docker.io/bzzz/redis:7')).toEqual({ repo: 'bzzz/redis', tag: '7' });
    expect(parseRef('localhost:5000/bzzz/bzzzctl')).toEqual({ repo: 'localhost:5000/bzzz/bzzzctl', tag: 'latest' });
    expect(parseRef('bzzz/redis@sha256:0123')).toBeUndefined();
  });

  it('knows the project image under any tag, the Debian images under their exact tags, nothing else', () => {
    expect(classify('bzzz/bzzzctl:v0.1.0', base)).toEqual({ kind: 'bzzzctl', ref: 'bzzz/bzzzctl:v0.1.0', tag: 'v0.1.0' });
    expect(classify('bzzz/bzzzctl', base)).toEqual({ kind: 'bzzzctl', ref: 'bzzz/bzzzctl:latest', tag: 'latest' });
    expect(classify('docker.io/bzzz/postgres:15', base)).toEqual({ kind: 'debian', ref: 'bzzz/postgres:15', name: 'postgres' });
    expect(classify('bzzz/redis:7', base)).toEqual({ kind: 'debian', ref: 'bzzz/redis:7', name: 'redis' });
    expect(classify(base, base)).toEqual({ kind: 'debian', ref: base, name: 'node-base' });
    expect(classify('bzzz/node-base:18-bookworm', base).kind).toBe('other');
    expect(classify('bzzz/postgres:16', base).kind).toBe('other');
    expect(classify('bzzz/mcp-server:v0.1.0', base).kind).toBe('other');
    expect(classify('bzzz/redis@sha256:0123', base).kind).toBe('other');
  });

  it("tags the tree's own version together with latest, any other tag alone", () => {
    expect(tagsFor('v0.1.0', '0.1.0')).toEqual(['bzzz/bzzzctl:v0.1.0', 'bzzz/bzzzctl:latest']);
    expect(tagsFor('latest', '0.1.0')).toEqual(['bzzz/bzzzctl:v0.1.0', 'bzzz/bzzzctl:latest']);
    expect(tagsFor('v0.2.0', '0.1.0')).toEqual(['bzzz/bzzzctl:v0.2.0']);
    expect(versionForTag('v0.2.0-rc.1', '0.1.0')).toBe('0.2.0-rc.1');
    expect(versionForTag('dev', '0.1.0')).toBe('0.1.0');
  });
});

describe('build hashes', () => {
  it('hash values independently of key order', () => {
    expect(hashValue({ a: 1, b: [1, { c: 2, d: 3 }] })).toBe(hashValue({ b: [1, { d: 3, c: 2 }], a: 1 }));
    expect(hashValue({ a: 1 })).not.toBe(hashValue({ a: 2 }));
    expect(hashValue({ a: [1, 2] })).not.toBe(hashValue({ a: [2, 1] }));
  });

  it('hash a tree by content: a copy or a touched file hashes the same; content, names and the executable bit do not', async () => {
    const a = temp();
    write(a, 'dist/cli.js', 'console.log(1)');
    write(a, 'dist/chunks/x.js', 'x');
    write(a, 'bin/bzzzctl.js', '#!/usr/bin/env node');
    const h = await hashTree(a, ['bin', 'dist']);

    const b = temp();
    cpSync(a, b, { recursive: true });
    utimesSync(join(b, 'dist/cli.js'), new Date(0), new Date(0));
    expect(await hashTree(b, ['bin', 'dist'])).toBe(h);

    chmodSync(join(b, 'bin/bzzzctl.js'), 0o755);
    expect(await hashTree(b, ['bin', 'dist'])).not.toBe(h);
    chmodSync(join(b, 'bin/bzzzctl.js'), 0o644);
    writeFileSync(join(b, 'dist/chunks/x.js'), 'y');
    expect(await hashTree(b, ['bin', 'dist'])).not.toBe(h);
    writeFileSync(join(b, 'dist/chunks/x.js'), 'x');
    expect(await hashTree(b, ['bin', 'dist'])).toBe(h);
    write(b, 'dist/chunks/y.js', '');
    expect(await hashTree(b, ['bin', 'dist'])).not.toBe(h);
  });

  it('leave excluded directories out', async () => {
    const a = temp();
    write(a, 'dist/cli.js', '1');
    const h = await hashTree(a, ['dist'], ['dist/code-cache']);
    write(a, 'dist/code-cache/apply.bin', 'v8 bytes');
    write(a, 'dist/code-cache-not/x', '');
    expect(await listFiles(a, 'dist', ['dist/code-cache'])).toEqual(['dist/cli.js', 'dist/code-cache-not/x']);
    rmSync(join(a, 'dist/code-cache-not'), { recursive: true });
    expect(await hashTree(a, ['dist'], ['dist/code-cache'])).toBe(h);
  });
});

describe('production node_modules', () => {
  function project(): string {
    const root = temp();
    const lock = {
      lockfileVersion: 3,
      packages: {
        '': { name: 'p', dependencies: { prod: '1' }, devDependencies: { tool: '1' } },
        'node_modules/prod': { version: '1.0.0' },
        'node_modules/prod/node_modules/nested': { version: '2.0.0' },
        'node_modules/tool': { version: '3.0.0', dev: true },
        'node_modules/tool/node_modules/tool-dep': { version: '1.0.0', dev: true },
        'node_modules/shared': { version: '1.0.0', devOptional: true },
        'node_modules/native-other-platform': { version: '1.0.0', optional: true },
      },
    };
    write(root, 'package-lock.json', JSON.stringify(lock));
    write(root, 'node_modules/prod/index.js', 'prod');
    write(root, 'node_modules/prod/node_modules/nested/index.js', 'nested');
    write(root, 'node_modules/tool/index.js', 'tool');
    write(root, 'node_modules/tool/node_modules/tool-dep/index.js', 'tool-dep');
    write(root, 'node_modules/shared/index.js', 'shared');
    write(root, 'node_modules/.bin/tool', 'bin');
    return root;
  }

  it('selects what npm --omit=dev keeps and skips optional packages of other platforms', async () => {
    const { installed, absent } = await productionPackages(project());
    expect(installed.map((p) => `${p.path}@${p.version}`)).toEqual([
      'node_modules/prod@1.0.0',
      'node_modules/prod/node_modules/nested@2.0.0',
      'node_modules/shared@1.0.0',
    ]);
    expect(absent).toEqual(['node_modules/native-other-platform']);
  });

  it('copies exactly those packages', async () => {
    const root = project();
    const dest = temp();
    await copyProductionModules(root, (await productionPackages(root)).installed, dest);
    expect(readdirSync(join(dest, 'node_modules')).sort()).toEqual(['prod', 'shared']);
    expect(existsSync(join(dest, 'node_modules/prod/node_modules/nested/index.js'))).toBe(true);
  });

  it('refuses a production package that is not installed, saying to run npm ci', async () => {
    const root = project();
    rmSync(join(root, 'node_modules/prod/node_modules/nested'), { recursive: true });
    await expect(productionPackages(root)).rejects.toThrow(
      /node_modules\/prod\/node_modules\/nested \(2\.0\.0\) is in package-lock\.json but not installed .*npm ci/,
    );
  });
});

describe('mmdebstrap command line', () => {
  it('lists the packages, the hooks, then suite, output and sources', () => {
    const args = mmdebstrapArgs({ suite: 'bookworm', variant: 'minbase', packages: ['a', 'b'], customize: ['echo "$1"'] }, '/tmp/x.tar', [
      'deb http://m bookworm main',
    ]);
    expect(args[0]).toBe('--variant=minbase');
    expect(args).toContain('--include=a,b');
    expect(args).toContain('--customize-hook=echo "$1"');
    expect(args.slice(-3)).toEqual(['bookworm', '/tmp/x.tar', 'deb http://m bookworm main']);
  });

  it("quotes paths for the hooks' shell", () => {
    const odd = "/opt/it's node/bin/node";
    expect(execFileSync('sh', ['-c', `printf %s ${shellQuote(odd)}`]).toString()).toBe(odd);
    const hook = nodeBaseImage({ path: odd, version: 'v20.1.2', size: 1, mtimeMs: 1 }).rootfs.customize[0]!;
    expect(hook).toBe(`cp ${shellQuote(odd)} "$1/usr/local/bin/node"`);
  });
});
