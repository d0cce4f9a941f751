// Snapshot manifests: what a snapshot holds (parts, entries with their chunk lists and the stat
// fields change detection compares) and its summary. The snapshot id is the BLAKE3 of the
// manifest file, so a manifest is immutable; written last, after the packs and index it needs.
import { unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { createHasher } from '../crypto/blake3.js';
import { RepositoryCorruptError, SnapshotNotFoundError } from './errors.js';
import { listDir, readBounded, writeFileAtomic } from './files.js';
import { FORMAT_VERSION, HEX64, LIMITS, dirs } from './layout.js';
import { openJson, sealJson } from './sealed-json.js';
import { ShapeReader } from './shape.js';
import type { SnapshotSummary } from './types.js';
import type { Logger } from '../util/log.js';

export interface ManifestEntry {
  path: string;
  type: 'file' | 'dir';
  mode?: number;
  mtimeMs?: number;
  size: number;
  inode?: number;
  dev?: number;
  /** Chunk ids in file order (files only). */
  chunks: string[];
}

export interface ManifestPart {
  name: string;
  entries: ManifestEntry[];
}

export interface Manifest {
  version: number;
  cluster: string;
  time: string;
  reason: string;
  tags?: Record<string, string>;
  parent?: string;
  parts: ManifestPart[];
  files: number;
  bytes: number;
  addedBytes: number;
}

const MAX_ENTRIES = 5_000_000;
const MAX_CHUNKS_PER_FILE = 10_000_000;

/** A relative POSIX path without `..`, `.`, empty segments or NUL; undefined when it is fine, else why not. */
export function badRelativePath(p: string): string | undefined {
  if (p.length === 0 || p.length > 4096) return 'is empty or longer than 4096 characters';
  if (p.startsWith('/') || p.includes('\\') || p.includes('\0')) return 'is absolute or holds a backslash or NUL';
  if (p.split('/').some((s) => s === '' || s === '.' || s === '..')) return 'has an empty, `.` or `..` segment';
  return undefined;
}

export function parseManifest(value: unknown, file: string): Manifest {
  const r = new ShapeReader(file);
  const o = r.object(value, 'manifest');
  if (o.version !== FORMAT_VERSION) r.fail('version', `is not ${FORMAT_VERSION}`);
  let entryCount = 0;
  const parts = r.array(o.parts, 'parts', 1000).map((pv, i): ManifestPart => {
    const p = r.object(pv, `parts[${i}]`);
    const name = r.string(p.name, `parts[${i}].name`, 200);
    const entries = r.array(p.entries, `parts[${i}].entries`, MAX_ENTRIES).map((ev, j): ManifestEntry => {
      const f = `parts[${i}].entries[${j}]`;
      if (++entryCount > MAX_ENTRIES) r.fail('parts', `hold more than ${MAX_ENTRIES} entries`);
      const e = r.object(ev, f);
      const path = r.string(e.path, `${f}.path`);
      const why = badRelativePath(path);
      if (why) r.fail(`${f}.path`, why);
      if (e.type !== 'file' && e.type !== 'dir') r.fail(`${f}.type`, 'is neither file nor dir');
      const chunks = r.array(e.chunks, `${f}.chunks`, MAX_CHUNKS_PER_FILE).map((c, k) => r.hex64(c, `${f}.chunks[${k}]`));
      return {
        path,
        type: e.type as 'file' | 'dir',
        mode: r.optional(e.mode, (v) => r.int(v, `${f}.mode`, 0, 0o7777)),
        mtimeMs: r.optional(e.mtimeMs, (v) => r.number(v, `${f}.mtimeMs`)),
        size: r.int(e.size, `${f}.size`),
        inode: r.optional(e.inode, (v) => r.number(v, `${f}.inode`)),
        dev: r.optional(e.dev, (v) => r.number(v, `${f}.dev`)),
        chunks,
      };
    });
    return { name, entries };
  });
  let tags: Record<string, string> | undefined;
  if (o.tags !== undefined) {
    const t = r.object(o.tags, 'tags');
    if (Object.keys(t).length > 100) r.fail('tags', 'hold more than 100 keys');
    tags = Object.fromEntries(Object.entries(t).map(([k, v]) => [k, r.string(v, `tags.${k}`, 1000)]));
  }
  return {
    version: FORMAT_VERSION,
    cluster: r.string(o.cluster, 'cluster', 200),
    time: r.string(o.time, 'time', 64),
    reason: r.string(o.reason, 'reason', 200),
    tags,
    parent: r.optional(o.parent, (v) => r.hex64(v, 'parent')),
    parts,
    files: r.int(o.files, 'files'),
    bytes: r.int(o.bytes, 'bytes'),
    addedBytes: r.int(o.addedBytes, 'addedBytes'),
  };
}

export function summaryOf(id: string, m: Manifest): SnapshotSummary {
  return {
    id,
    cluster: m.cluster,
    time: m.time,
    reason: m.reason,
    parts: m.parts.map((p) => p.name),
    files: m.files,
    bytes: m.bytes,
    addedBytes: m.addedBytes,
    ...(m.tags ? { tags: m.tags } : {}),
  };
}

/** Manifests on disk, read once each (they are immutable: the name is the hash of the file). */
export class SnapshotStore {
  private readonly cache = new Map<string, Manifest>();

  constructor(
    private readonly repo: string,
    private readonly identities: readonly string[],
    private readonly recipients: readonly string[],
    private readonly log: Logger,
  ) {}

  async ids(): Promise<string[]> {
    return (await listDir(dirs.snapshots(this.repo))).filter((n) => HEX64.test(n));
  }

  /** The manifest of snapshot `id`; `fresh` reads and checks the file again even when cached (verify). */
  async manifest(id: string, fresh = false): Promise<Manifest> {
    const hit = fresh ? undefined : this.cache.get(id);
    if (hit) return hit;
    const path = join(dirs.snapshots(this.repo), id);
    const bytes = await readBounded(path, LIMITS.manifest, 'snapshot manifest');
    const h = createHasher();
    h.update(bytes);
    if (h.digestHex() !== id) throw new RepositoryCorruptError(`snapshot manifest ${path} does not match its name (altered on disk)`);
    const m = parseManifest(openJson(bytes, this.identities, new ShapeReader(`snapshot manifest ${path}`)), `snapshot manifest ${path}`);
    this.cache.set(id, m);
    return m;
  }

  /**
   * All snapshots (of one cluster), oldest first. A manifest that does not read is left out with a
   * warning (verify reports it): one damaged file must not stop every later backup.
   */
  async list(cluster?: string): Promise<SnapshotSummary[]> {
    const out: SnapshotSummary[] = [];
    for (const id of await this.ids()) {
      let m: Manifest;
      try {
        m = await this.manifest(id);
      } catch (err) {
        if (!(err instanceof RepositoryCorruptError)) throw err;
        this.log.warn({ snapshot: id, err: err.message }, 'skipping a snapshot manifest that does not read; run verify');
        continue;
      }
      if (cluster === undefined || m.cluster === cluster) out.push(summaryOf(id, m));
    }
    return out.sort((a, b) => a.time.localeCompare(b.time) || a.id.localeCompare(b.id));
  }

  async find(idOrPrefix: string, cluster?: string): Promise<SnapshotSummary> {
    const all = await this.list(cluster);
    const where = cluster === undefined ? '' : ` of cluster ${cluster}`;
    if (idOrPrefix === 'latest') {
      const last = all.at(-1);
      if (!last) throw new SnapshotNotFoundError(`no snapshot${where} in the repository yet; take one with backup`);
      return last;
    }
    if (!/^[0-9a-f]{1,64}$/.test(idOrPrefix))
      throw new SnapshotNotFoundError(`snapshot id "${idOrPrefix.slice(0, 80)}" is not hex; give an id, a prefix of one, or latest`);
    const hits = all.filter((s) => s.id.startsWith(idOrPrefix));
    if (hits.length === 0)
      throw new SnapshotNotFoundError(`no snapshot${where} has an id starting with ${idOrPrefix}; list them with snapshots`);
    if (hits.length > 1)
      throw new SnapshotNotFoundError(
        `snapshot prefix ${idOrPrefix} is ambiguous (${hits.length} snapshots: ${hits
          .slice(0, 5)
          .map((s) => s.id.slice(0, 16))
          .join(', ')}…); give more digits`,
      );
    return hits[0] as SnapshotSummary;
  }

  async write(m: Manifest): Promise<string> {
    const bytes = sealJson(m, this.recipients);
    const h = createHasher();
    h.update(bytes);
    const id = h.digestHex();
    await writeFileAtomic(join(dirs.snapshots(this.repo), id), [bytes], dirs.tmp(this.repo));
    this.cache.set(id, m);
    return id;
  }

  async remove(id: string): Promise<void> {
    await unlink(join(dirs.snapshots(this.repo), id));
    this.cache.delete(id);
  }
}
