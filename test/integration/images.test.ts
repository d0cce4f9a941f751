// The offline images `bzzzctl up` needs, against the real engine: built with mmdebstrap + docker
// build when missing (the first run on a machine takes minutes), found by their build hash
// after that. Each image is then used the way the cluster uses it.
import { execFile } from 'node:child_process';
import { chmodSync, cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { blake3 } from '@napi-rs/blake-hash';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureImages, type EnsureImagesResult } from '../../src/images/index.js';
import { silentLogger } from '../../src/util/log.js';
import { ROOT, docker, uniqueName, waitFor } from './harness.js';

const exec = promisify(execFile);
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const BZZZCTL = `bzzz/bzzzctl:v${VERSION}`;
const NODE_BASE = `bzzz/node-base:${process.versions.node.split('.')[0]}-bookworm`;
const KNOWN = [BZZZCTL, 'bzzz/postgres:15', 'bzzz/redis:7'];
const UNKNOWN = 'bzzz-test/never-built-anywhere:1';

const containers: string[] = [];
const volumes: string[] = [];
const images: string[] = [];
const dirs: string[] = [];

/** A missing tool fails with the script that installs it, not with `spawn … ENOENT`. */
function missingTool(tool: string, err: unknown): unknown {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return code === 'ENOENT' ? new Error(`${tool} not found: run scripts/install-tools.sh (npm test does)`, { cause: err }) : err;
}

async function run(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec('docker', args, { maxBuffer: 16 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'bzzz-images-it-'));
  dirs.push(d);
  return d;
}

let first: EnsureImagesResult;

beforeAll(async () => {
  first = await ensureImages({ images: [...KNOWN, UNKNOWN], log: silentLogger() });
}, 20 * 60_000);

afterAll(async () => {
  for (const c of containers) await run('rm', '-fv', c);
  for (const v of volumes) await run('volume', 'rm', v);
  for (const i of images) await run('rmi', i);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('ensureImages', () => {
  it('builds or finds every image the dev spec needs, and names the one it cannot build', () => {
    expect([...first.built, ...first.cached]).toEqual(expect.arrayContaining([NODE_BASE, ...KNOWN]));
    expect(first.missing).toEqual([UNKNOWN]);
  });

  it('builds nothing the second time', async () => {
    const again = await ensureImages({ images: [...KNOWN, UNKNOWN], log: silentLogger() });
    expect(again.built).toEqual([]);
    expect(again.cached).toEqual(expect.arrayContaining([NODE_BASE, ...KNOWN]));
    expect(again.missing).toEqual([UNKNOWN]);
  });

  it('tags the bzzzctl image as v<version> and latest, with its version and build hash', async () => {
    const [id, latestId, labels] = await Promise.all([
      docker('image', 'inspect', '-f', '{{.Id}}', BZZZCTL),
      docker('image', 'inspect', '-f', '{{.Id}}', 'bzzz/bzzzctl:latest'),
      docker('image', 'inspect', '-f', '{{json .Config.Labels}}', BZZZCTL).then((s) => JSON.parse(s) as Record<string, string>),
    ]);
    expect(latestId).toBe(id);
    expect(labels['org.opencontainers.image.version']).toBe(VERSION);
    expect(labels['org.opencontainers.image.title']).toBe('bzzzctl');
    expect(labels['io.bzzz.build-hash']).toMatch(/^[0-9a-f]{64}$/);
  });

  it('rebuilds the bzzzctl image when the tree changes, and only then', async () => {
    // A copy of the project's inputs (node_modules shared through a symlink), built under a
    // test tag so the real image is left alone.
    const root = tempDir();
    for (const p of ['bin', 'dist', 'package.json', 'package-lock.json', 'stacks/images'])
      cpSync(join(ROOT, p), join(root, p), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules'), join(root, 'node_modules'));
    const ref = `bzzz/bzzzctl:${uniqueName('v0.0.0-imagetest')}`;
    images.push(ref);
    const progress: string[] = [];
    const ensure = () => ensureImages({ images: [ref], root, log: silentLogger(), onProgress: (m) => progress.push(m) });

    const built = await ensure();
    expect(built.built).toEqual([ref]);
    expect(progress.some((m) => m.includes(`${ref}: docker build`))).toBe(true);
    const firstId = (await docker('image', 'inspect', '-f', '{{.Id}}', ref)).trim();

    expect((await ensure()).built).toEqual([]);

    writeFileSync(join(root, 'dist', 'polyfill.cjs'), `${readFileSync(join(root, 'dist', 'polyfill.cjs'), 'utf8')}\n// changed\n`);
    const rebuilt = await ensure();
    expect(rebuilt.built).toEqual([ref]);
    const secondId = (await docker('image', 'inspect', '-f', '{{.Id}}', ref)).trim();
    expect(secondId).not.toBe(firstId);
    // The replaced image is removed (nothing else used it).
    expect((await run('image', 'inspect', firstId)).code).not.toBe(0);
  });
});

describe('bzzz/bzzzctl', () => {
  it('prints the CLI help', async () => {
    const { code, stdout } = await run('run', '--rm', BZZZCTL, '--help');
    expect(code).toBe(0);
    expect(stdout).toContain('Usage: bzzzctl');
    expect(stdout).toMatch(/\bagent\b/);
    expect(stdout).toMatch(/\bcontroller\b/);
  });

  it('runs keys generate --help', async () => {
    const { code, stdout } = await run('run', '--rm', BZZZCTL, 'keys', 'generate', '--help');
    expect(code).toBe(0);
    expect(stdout).toContain('Usage: bzzzctl keys generate');
    expect(stdout).toContain('--out <dir>');
  });

  it('loads the native BLAKE3 module and hashes as it does on the host', async () => {
    const js = "process.stdout.write(Buffer.from(require('@napi-rs/blake-hash').blake3(Buffer.from('bzzz image test'))).toString('hex'))";
    const { code, stdout, stderr } = await run('run', '--rm', '--entrypoint', 'node', BZZZCTL, '-e', js);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toBe(Buffer.from(blake3(Buffer.from('bzzz image test'))).toString('hex'));
  });

  it('can load every production dependency, and holds no dev-only package', async () => {
    // Dev-only: `dev` in the lockfile (a devDependency that no production package needs too:
    // @types/node, for one, is a dependency of protobufjs and stays).
    const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
    const devOnly = Object.entries(lock.packages)
      .filter(([p, v]) => v.dev && p.startsWith('node_modules/'))
      .map(([p]) => p);
    expect(devOnly).toEqual(expect.arrayContaining(['node_modules/typescript', 'node_modules/vitest', 'node_modules/esbuild']));
    const js = [
      "await import('/app/dist/polyfill.cjs');",
      "const fs = await import('node:fs');",
      "const pkg = JSON.parse(fs.readFileSync('/app/package.json', 'utf8'));",
      'for (const d of Object.keys(pkg.dependencies)) await import(d);',
      "console.log(JSON.stringify(JSON.parse(process.env.DEV_ONLY).filter((p) => fs.existsSync('/app/' + p))));",
    ].join('\n');
    const { code, stdout, stderr } = await run(
      'run',
      '--rm',
      '-e',
      `DEV_ONLY=${JSON.stringify(devOnly)}`,
      '--entrypoint',
      'node',
      BZZZCTL,
      '--input-type=module',
      '-e',
      js,
    );
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual([]);
  });

  it('runs the agent as the unprivileged bzzz user on a /data volume, turns healthy, and stops cleanly on SIGTERM', async () => {
    const name = uniqueName('bzzz-images-agent');
    const volume = `${name}-data`;
    containers.push(name);
    volumes.push(volume);
    // A lone agent outside the operator (no member list, no callers): the open mode must be asked for.
    await docker(
      'run',
      '-d',
      '--name',
      name,
      '-v',
      `${volume}:/data`,
      '-e',
      'BZZZ_HEALTH_PORT=8091',
      BZZZCTL,
      'agent',
      'run',
      '--insecure-open-cluster',
    );
    expect((await docker('exec', name, 'id', '-un')).trim()).toBe('bzzz');
    const health = await waitFor(
      'the agent container to turn healthy',
      async () => {
        const s = (await docker('inspect', '-f', '{{.State.Health.Status}}', name)).trim();
        return s === 'healthy' || s === 'unhealthy' ? s : undefined;
      },
      90_000,
      1000,
    );
    expect(health).toBe('healthy');
    expect(await docker('exec', name, 'ls', '/data')).toContain('peer.key');
    await docker('stop', '-t', '20', name);
    expect((await docker('inspect', '-f', '{{.State.ExitCode}}', name)).trim()).toBe('0');
  });
});

describe('bzzz/postgres:15', () => {
  it('initialises from secret files, accepts that password over TCP and refuses another', async () => {
    const secrets = tempDir();
    chmodSync(secrets, 0o755);
    const user = `u${uniqueName('bzzz').replace(/-/g, '')}`;
    const password = `pw-${Math.random().toString(36).slice(2)}-${Date.now()}`;
    writeFileSync(join(secrets, 'postgres_user'), user, { mode: 0o444 });
    writeFileSync(join(secrets, 'postgres_password'), `${password}\n`, { mode: 0o444 });
    const name = uniqueName('bzzz-images-pg');
    containers.push(name);
    await docker(
      'run',
      '-d',
      '--name',
      name,
      '-v',
      `${secrets}:/run/secrets:ro`,
      '-p',
      '127.0.0.1::5432',
      '-e',
      'POSTGRES_DB=bzzz_v2',
      '-e',
      'POSTGRES_USER_FILE=/run/secrets/postgres_user',
      '-e',
      'POSTGRES_PASSWORD_FILE=/run/secrets/postgres_password',
      'bzzz/postgres:15',
    );
    const hostPort = (await docker('port', name, '5432/tcp')).split('\n')[0]!.split(':').pop()!;
    // psql: Debian's postgresql-client, installed by scripts/install-tools.sh (npm test runs it first).
    await exec('psql', ['--version']).catch((err: unknown) => {
      throw missingTool('psql', err);
    });
    const psql = (pw: string) =>
      exec('psql', ['-h', '127.0.0.1', '-p', hostPort, '-U', user, '-d', 'bzzz_v2', '-Atc', 'select current_user, current_database()'], {
        env: { ...process.env, PGPASSWORD: pw, PGCONNECT_TIMEOUT: '3' },
      });

    const out = await waitFor('postgres to accept the password', () => psql(password).then((r) => r.stdout.trim()), 90_000, 500);
    expect(out).toBe(`${user}|bzzz_v2`);
    await expect(psql('not-the-password')).rejects.toThrow(/password authentication failed/);
    expect((await docker('exec', name, 'pg_isready', '-h', '127.0.0.1', '-p', '5432', '-U', user, '-d', 'bzzz_v2')).trim()).toContain(
      'accepting connections',
    );
    // Runs as postgres, not root.
    expect((await docker('exec', name, 'sh', '-c', "awk '/^Uid/{print $2}' /proc/1/status")).trim()).toBe(
      (await docker('exec', name, 'id', '-u', 'postgres')).trim(),
    );
  });
});

describe('bzzz/redis:7', () => {
  it('answers PING, also from another container (protected mode off), and runs as redis', async () => {
    const name = uniqueName('bzzz-images-redis');
    containers.push(name);
    await docker('run', '-d', '--name', name, 'bzzz/redis:7');
    const pong = await waitFor(
      'redis to answer',
      async () => {
        const r = await run('exec', name, 'redis-cli', 'ping');
        return r.code === 0 && r.stdout.trim() === 'PONG' ? r.stdout.trim() : undefined;
      },
      30_000,
      300,
    );
    expect(pong).toBe('PONG');
    const ip = (await docker('inspect', '-f', '{{.NetworkSettings.IPAddress}}', name)).trim();
    const remote = await run('run', '--rm', '--entrypoint', 'redis-cli', 'bzzz/redis:7', '-h', ip, '-p', '6379', 'set', 'bzzz', 'images');
    expect(remote.stdout.trim()).toBe('OK');
    expect((await docker('exec', name, 'redis-cli', 'get', 'bzzz')).trim()).toBe('images');
    expect((await docker('exec', name, 'sh', '-c', "awk '/^Uid/{print $2}' /proc/1/status")).trim()).toBe(
      (await docker('exec', name, 'id', '-u', 'redis')).trim(),
    );
    expect((await docker('exec', name, 'redis-cli', 'config', 'get', 'dir')).split('\n')[1]).toBe('/data');
  });
});
