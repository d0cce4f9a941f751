// The builder's decisions against a recording fake of the image port (the real engine and the
// real mmdebstrap are exercised by test/integration/images.test.ts): what is built, what is
// reused, what is removed.
import { cpSync, mkdtempSync, rmSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { BuildRequest, ImageInfo, ImagePort, ImportRequest } from '../../../src/swarm/images.js';
import { ImageBuilder, type BuilderInit } from '../../../src/images/builder.js';
import { ImageBuildError } from '../../../src/images/errors.js';
import { runMmdebstrap } from '../../../src/images/mmdebstrap.js';
import { redisImage } from '../../../src/images/recipes.js';
import { silentLogger } from '../../../src/util/log.js';

const ROOT = resolve(import.meta.dirname, '../../..');

class RecordingPort implements ImagePort {
  readonly calls: string[] = [];
  readonly images = new Map<string, ImageInfo>();
  readonly tags = new Map<string, string>();
  private n = 0;

  async inspectImage(ref: string): Promise<ImageInfo | undefined> {
    const id = this.tags.get(ref) ?? ref;
    return this.images.get(id);
  }
  async findImagesByLabel(key: string, value: string): Promise<ImageInfo[]> {
    return [...this.images.values()].filter((i) => i.labels[key] === value);
  }
  async importRootfs(req: ImportRequest): Promise<string> {
    const id = `sha256:rootfs${++this.n}`;
    this.calls.push('import');
    this.images.set(id, { id, parentId: '', repoTags: [], labels: { ...req.labels }, sizeBytes: 1, created: '' });
    return id;
  }
  async buildImage(req: BuildRequest): Promise<string> {
    const from = req.buildArgs.ROOTFS ?? req.buildArgs.BASE_IMAGE ?? '';
    const id = `sha256:image${++this.n}`;
    this.calls.push(`build ${req.tags.join(',')} FROM ${from}`);
    const parent = this.images.get(from);
    this.images.set(id, {
      id,
      parentId: from,
      repoTags: req.tags,
      labels: { ...parent?.labels, ...req.labels },
      sizeBytes: 2,
      created: '',
    });
    for (const t of req.tags) this.tags.set(t, id);
    return id;
  }
  async removeImageIfUnused(id: string): Promise<boolean> {
    if ([...this.tags.values()].includes(id)) return false;
    this.calls.push(`remove ${id}`);
    return this.images.delete(id);
  }
}

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function builder(port: ImagePort, over: Partial<BuilderInit> = {}) {
  const progress: string[] = [];
  const mmdebstrapRuns: string[][] = [];
  const b = new ImageBuilder({
    port,
    root: ROOT,
    node: { path: '/usr/bin/node', version: 'v20.0.0', size: 1, mtimeMs: 1 },
    aptSources: ['deb http://deb.debian.org/debian bookworm main'],
    force: false,
    progress: (m) => progress.push(m),
    log: silentLogger(),
    runMmdebstrap: async (args) => {
      mmdebstrapRuns.push(args);
    },
    ...over,
  });
  return { b, progress, mmdebstrapRuns };
}

describe('ImageBuilder with Debian images', () => {
  it('builds a missing image: mmdebstrap, import, then docker build FROM the imported root filesystem', async () => {
    const port = new RecordingPort();
    const { b, progress, mmdebstrapRuns } = builder(port);
    const id = await b.ensureDebian(redisImage());
    expect(mmdebstrapRuns).toHaveLength(1);
    expect(mmdebstrapRuns[0]).toContain('--include=redis-server');
    expect(port.calls).toEqual(['import', 'build bzzz/redis:7 FROM sha256:rootfs1']);
    expect(port.tags.get('bzzz/redis:7')).toBe(id);
    expect(b.outcomes.get('bzzz/redis:7')).toBe('built');
    expect(progress[0]).toMatch(/^bzzz\/redis:7: mmdebstrap bookworm minbase \+ redis-server/);
    expect(progress.at(-1)).toMatch(/^bzzz\/redis:7: built in [\d.]+ s/);
  });

  it('finds it current the next time and makes no call', async () => {
    const port = new RecordingPort();
    await builder(port).b.ensureDebian(redisImage());
    port.calls.length = 0;
    const { b, mmdebstrapRuns } = builder(port);
    await b.ensureDebian(redisImage());
    expect(b.outcomes.get('bzzz/redis:7')).toBe('cached');
    expect(port.calls).toEqual([]);
    expect(mmdebstrapRuns).toEqual([]);
  });

  it('rebuilds on the same root filesystem when only the Dockerfile directory changed, and removes the replaced image', async () => {
    const root = mkdtempSync(join(tmpdir(), 'bzzz-images-builder-'));
    dirs.push(root);
    cpSync(join(ROOT, 'stacks/images/redis'), join(root, 'stacks/images/redis'), { recursive: true });
    const port = new RecordingPort();
    const first = await builder(port, { root }).b.ensureDebian(redisImage());
    port.calls.length = 0;

    appendFileSync(join(root, 'stacks/images/redis/docker-entrypoint.sh'), '# changed\n');
    const { b, mmdebstrapRuns } = builder(port, { root });
    await b.ensureDebian(redisImage());
    expect(mmdebstrapRuns).toEqual([]);
    expect(port.calls).toEqual(['build bzzz/redis:7 FROM sha256:rootfs1', `remove ${first}`]);
    expect(b.outcomes.get('bzzz/redis:7')).toBe('built');
  });

  it('with force, makes a fresh root filesystem even when the image is current', async () => {
    const port = new RecordingPort();
    await builder(port).b.ensureDebian(redisImage());
    port.calls.length = 0;
    const { b, mmdebstrapRuns } = builder(port, { force: true });
    await b.ensureDebian(redisImage());
    expect(mmdebstrapRuns).toHaveLength(1);
    expect(port.calls).toEqual(['import', 'build bzzz/redis:7 FROM sha256:rootfs3', 'remove sha256:image2']);
  });

  it('ensures an image once per builder', async () => {
    const port = new RecordingPort();
    const { b, mmdebstrapRuns } = builder(port);
    await Promise.all([b.ensureDebian(redisImage()), b.ensureDebian(redisImage())]);
    expect(mmdebstrapRuns).toHaveLength(1);
  });

  it('names the image, the step and the fix when mmdebstrap is not installed', async () => {
    const { b } = builder(new RecordingPort(), { runMmdebstrap: (args, onLine) => runMmdebstrap(args, onLine, '/nonexistent/mmdebstrap') });
    const err = await b.ensureDebian(redisImage()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImageBuildError);
    expect((err as ImageBuildError).image).toBe('bzzz/redis:7');
    expect((err as ImageBuildError).step).toBe('mmdebstrap');
    expect((err as Error).message).toMatch(
      /^cannot build bzzz\/redis:7: mmdebstrap failed: \/nonexistent\/mmdebstrap is not installed\n→ run `apt-get install -y mmdebstrap`/,
    );
  });
});

describe('ImageBuilder with an image it did not build', () => {
  it('uses an image without a bzzz build hash as it is (pulled or built elsewhere), and replaces it only when forced', async () => {
    const port = new RecordingPort();
    port.images.set('sha256:pulled', {
      id: 'sha256:pulled',
      parentId: '',
      repoTags: ['bzzz/redis:7'],
      labels: { 'org.opencontainers.image.title': 'redis' },
      sizeBytes: 1,
      created: '',
    });
    port.tags.set('bzzz/redis:7', 'sha256:pulled');
    const { b, progress, mmdebstrapRuns } = builder(port);
    expect(await b.ensureDebian(redisImage())).toBe('sha256:pulled');
    expect(b.outcomes.get('bzzz/redis:7')).toBe('cached');
    expect(mmdebstrapRuns).toEqual([]);
    expect(progress).toEqual([
      'bzzz/redis:7: present without a bzzz build hash (pulled or built elsewhere): used as it is — force a build to replace it',
    ]);

    const forced = builder(port, { force: true });
    await forced.b.ensureDebian(redisImage());
    expect(forced.b.outcomes.get('bzzz/redis:7')).toBe('built');
    expect(port.tags.get('bzzz/redis:7')).not.toBe('sha256:pulled');
  });

  it('rebuilds an image of its own whose build hash is out of date', async () => {
    const port = new RecordingPort();
    port.images.set('sha256:old', {
      id: 'sha256:old',
      parentId: 'sha256:x',
      repoTags: ['bzzz/redis:7'],
      labels: { 'io.bzzz.build-hash': 'f'.repeat(64) },
      sizeBytes: 1,
      created: '',
    });
    port.tags.set('bzzz/redis:7', 'sha256:old');
    const { b } = builder(port);
    await b.ensureDebian(redisImage());
    expect(b.outcomes.get('bzzz/redis:7')).toBe('built');
    expect(port.calls).toContain('remove sha256:old');
  });
});
