// A small cluster for the backup tests, deployed the way `bzzzctl apply` does with no controller
// (store the spec, then reconcile in-process) — without the swarm's lease, which the
// integration suite running beside owns. Busybox agents (they have sh, tar, cat), PostgreSQL 15.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSpecFile } from '../../../src/spec/index.js';
import { resolveApply, storeSpec } from '../../../src/cli/resolve-apply.js';
import { ClusterStore } from '../../../src/store/cluster-store.js';
import { convergeInProcess } from '../../../src/ops/backup-converge.js';
import { DockerExec, execText } from '../../../src/swarm/exec.js';
import { asSuperuser, postgresService, waitForPostgres } from '../../../src/ops/backup-postgres-shell.js';
import type { BackupSource, RestoreTarget } from '../../../src/backup/types.js';
import { agentsOnlySpec } from '../../support/specs.js';
import { port } from '../harness.js';

export const exec = new DockerExec(port);

/** Two busybox agents (a1, a2) and PostgreSQL 15 with generated credentials. */
export function clusterSpec(name: string): string {
  return agentsOnlySpec(name, { agents: ['a1', 'a2'] })
    .replace(
      '  agent:\n',
      '  secrets:\n    postgres_user:\n      generate: { length: 12 }\n    postgres_password:\n      generate: { length: 24, encoding: hex }\n  agent:\n',
    )
    .replace(
      '    postgres: { enabled: false }\n',
      '    postgres:\n      enabled: true\n      image: bzzz/postgres:15\n      stopGracePeriod: 5s\n',
    );
}

/** Stores the spec and reconciles until Ready. */
export async function deploy(name: string, text = clusterSpec(name)): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bkb-'));
  const file = join(dir, 'cluster.yaml');
  writeFileSync(file, text);
  const resolved = await resolveApply(await loadSpecFile(file));
  const { generation } = await storeSpec(port, new ClusterStore(port), resolved);
  await convergeInProcess(port, 240_000)(name, generation, new AbortController().signal);
  await waitForPostgres(exec, postgresService(name), 120_000);
}

/** A snapshot held in memory: part → entry path → bytes. */
export type Snapshot = Map<string, Map<string, Buffer>>;

export async function readAll(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** What a backup stores, without a repository: every entry of every source, read whole. */
export async function snapshotOf(sources: BackupSource[]): Promise<Snapshot> {
  const signal = new AbortController().signal;
  const out: Snapshot = new Map();
  for (const source of sources) {
    const part = new Map<string, Buffer>();
    for await (const e of source.entries(signal)) part.set(e.path, e.open ? await readAll(await e.open()) : Buffer.alloc(0));
    out.set(source.part, part);
  }
  return out;
}

/** What a restore does, from memory: each target gets its part's entries, then finish(); `tamper` may change bytes on the way. */
export function restoreFrom(snap: Snapshot, tamper: (part: string, path: string, b: Buffer) => Buffer = (_p, _f, b) => b) {
  return async (targets: RestoreTarget[], signal: AbortSignal = new AbortController().signal): Promise<void> => {
    for (const t of targets) {
      for (const [path, bytes] of snap.get(t.part) ?? [])
        await t.write({ path, type: 'file' }, Readable.from([tamper(t.part, path, bytes)]), signal);
      await t.finish(signal);
    }
  };
}

/** psql in the cluster's postgres task; returns stdout (unaligned, tuples only). */
export async function sql(cluster: string, db: string, text: string): Promise<string> {
  return execText(exec, postgresService(cluster), {
    cmd: asSuperuser(['psql', '-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', '-d', db, '-c', text]),
    maxStdoutBytes: 16 * 1024 * 1024,
    timeoutMs: 60_000,
    what: 'psql',
  });
}
