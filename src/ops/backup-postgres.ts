// The `postgres` part: one plain-SQL `pg_dump` per database, run inside the cluster's running
// postgres task. Plain SQL (not the custom format) because it is text that changes little from
// day to day, so the repository's content-defined chunking stores mostly the same chunks again;
// pg_dump reads one consistent snapshot of each database while it keeps serving (no downtime).
// Restore recreates the database and runs the SQL in one transaction that stops at the first error.
import { Readable } from 'node:stream';
import type { BackupSource, RestoreTarget, SourceEntry } from '../backup/types.js';
import { execText, type ServiceExec } from '../swarm/exec.js';
import { asSuperuser, databaseFromPath, databasePath, postgresService, waitForPostgres } from './backup-postgres-shell.js';

export interface PostgresPartOptions {
  exec: ServiceExec;
  cluster: string;
  /** Only these databases (default: every database that accepts connections, but `postgres` and templates). */
  databases?: string[];
  /** Per database dump or restore (default 2 h). */
  timeoutMs?: number;
  /** How long a restore waits for the target's PostgreSQL to accept connections (default 120 s). */
  readyTimeoutMs?: number;
}

const LIST_DATABASES =
  "SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate AND datname <> 'postgres' ORDER BY datname";

/** The databases a dump covers. */
export async function listDatabases(exec: ServiceExec, cluster: string, signal?: AbortSignal): Promise<string[]> {
  const out = await execText(exec, postgresService(cluster), {
    cmd: asSuperuser(['psql', '-X', '-At', '-v', 'ON_ERROR_STOP=1', '-d', 'postgres', '-c', LIST_DATABASES]),
    maxStdoutBytes: 1024 * 1024,
    timeoutMs: 30_000,
    signal,
    what: 'listing databases',
  });
  return out.split('\n').filter(Boolean);
}

export function postgresSource(o: PostgresPartOptions): BackupSource {
  const service = postgresService(o.cluster);
  return {
    part: 'postgres',
    async *entries(signal) {
      const dbs = o.databases ?? (await listDatabases(o.exec, o.cluster, signal));
      for (const db of [...dbs].sort()) {
        const entry: SourceEntry = {
          path: databasePath(db),
          type: 'file',
          mode: 0o600,
          async open() {
            const h = await o.exec.execInService(service, {
              cmd: asSuperuser(['pg_dump', '--format=plain', '--no-password', '--dbname', db]),
              timeoutMs: o.timeoutMs ?? 2 * 3600_000,
              signal,
              what: `pg_dump of database ${db}`,
            });
            // stdout errors (instead of ending) if pg_dump fails: a cut dump never looks complete.
            return h.stdout;
          },
        };
        yield entry;
      }
    },
  };
}

export function postgresTarget(o: PostgresPartOptions): RestoreTarget {
  const service = postgresService(o.cluster);
  let ready = false;
  return {
    part: 'postgres',
    async write(entry, data, signal) {
      if (entry.type !== 'file' || !data) return;
      const db = databaseFromPath(entry.path);
      if (!ready) {
        await waitForPostgres(o.exec, service, o.readyTimeoutMs ?? 120_000, signal);
        ready = true;
      }
      // The name goes in as a psql variable (quoted by psql as an identifier), never spliced into SQL.
      const recreate = await o.exec.execInService(service, {
        cmd: asSuperuser(['psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-v', `db=${db}`, '-d', 'postgres', '-f', '-']),
        stdin: Readable.from(['DROP DATABASE IF EXISTS :"db" WITH (FORCE);\nCREATE DATABASE :"db";\n']),
        timeoutMs: 60_000,
        signal,
        what: `recreating database ${db}`,
      });
      recreate.stdout.resume();
      await recreate.done;
      const run = await o.exec.execInService(service, {
        cmd: asSuperuser(['psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '--single-transaction', '-o', '/dev/null', '-d', db, '-f', '-']),
        stdin: data,
        timeoutMs: o.timeoutMs ?? 2 * 3600_000,
        signal,
        what: `restoring database ${db} with psql`,
      });
      run.stdout.resume();
      await run.done;
    },
    async finish() {
      // Each database was restored as its entry came.
    },
  };
}
