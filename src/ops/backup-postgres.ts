// The `postgres` part: one plain-SQL `pg_dump` per database, run inside the cluster's running
// postgres task. Plain SQL (not the custom format) because it is text that changes little from
// day to day, so the repository's content-defined chunking stores mostly the same chunks again;
// pg_dump reads one consistent snapshot of each database while it keeps serving (no downtime).
// Restore runs the SQL into a new database in one transaction that stops at the first error, and
// only then puts it in the old one's place.
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import type { BackupSource, RestoreTarget, SourceEntry } from '../backup/types.js';
import { execText, type ServiceExec } from '../swarm/exec.js';
import { asSuperuser, databaseFromPath, databasePath, postgresService, waitForPostgres } from './backup-postgres-shell.js';

export interface PostgresPartOptions {
  exec: ServiceExec;
  cluster: string;
  /** pg_dump's --restrict-key for a database (alphanumeric); default pg_dump's random one per dump. */
  restrictKey?(database: string): string;
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
              cmd: asSuperuser([
                'pg_dump',
                '--format=plain',
                '--no-password',
                // pg_dump ≥ 15.14 opens every dump with `\restrict <random key>`: a new key each
                // night would change the first and last chunk of every dump. A key of the
                // repository's own (secret to the server) keeps unchanged data unchanged.
                ...(o.restrictKey ? [`--restrict-key=${o.restrictKey(db)}`] : []),
                '--dbname',
                db,
              ]),
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
  /** psql on the `postgres` database with `sql` as its script; names go in as psql variables (quoted by psql), never spliced. */
  const admin = async (sql: string, vars: Record<string, string>, what: string, signal: AbortSignal) => {
    const h = await o.exec.execInService(service, {
      cmd: asSuperuser([
        'psql',
        '-X',
        '-q',
        '-v',
        'ON_ERROR_STOP=1',
        ...Object.entries(vars).flatMap(([k, v]) => ['-v', `${k}=${v}`]),
        '-d',
        'postgres',
        '-f',
        '-',
      ]),
      stdin: Readable.from([sql]),
      timeoutMs: 120_000,
      signal,
      what,
    });
    h.stdout.resume();
    await h.done;
  };
  return {
    part: 'postgres',
    async write(entry, data, signal) {
      if (entry.type !== 'file' || !data) return;
      const db = databaseFromPath(entry.path);
      if (!ready) {
        await waitForPostgres(o.exec, service, o.readyTimeoutMs ?? 120_000, signal);
        ready = true;
      }
      // The dump goes into a new database first; only once all of it applied does that database
      // take the name (the old one dropped). A dump that fails, or a stream that breaks, leaves
      // the database as it was.
      const scratch = `bzzz_restore_${randomBytes(6).toString('hex')}`;
      await admin('CREATE DATABASE :"tmp";\n', { tmp: scratch }, `creating database ${scratch} to restore ${db} into`, signal);
      try {
        const run = await o.exec.execInService(service, {
          cmd: asSuperuser(['psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-o', '/dev/null', '-d', scratch, '-f', '-']),
          stdin: Readable.from(committedOnlyAtEnd(data)),
          timeoutMs: o.timeoutMs ?? 2 * 3600_000,
          signal,
          what: `restoring database ${db} with psql`,
        });
        run.stdout.resume();
        await run.done;
        await admin(
          'DROP DATABASE IF EXISTS :"db" WITH (FORCE);\nALTER DATABASE :"tmp" RENAME TO :"db";\n',
          { db, tmp: scratch },
          `replacing database ${db}`,
          signal,
        );
      } catch (err) {
        await admin(
          'DROP DATABASE IF EXISTS :"tmp" WITH (FORCE);\n',
          { tmp: scratch },
          `removing ${scratch}`,
          new AbortController().signal,
        ).catch(() => undefined);
        throw err;
      }
    },
    async finish() {
      // Each database was restored as its entry came.
    },
  };
}

/**
 * The dump inside BEGIN … COMMIT, the COMMIT sent only after the last byte arrived. psql's own
 * --single-transaction commits at the end of its input — including an input cut short when the
 * stream from the repository breaks; without the COMMIT the server rolls back on disconnect.
 */
async function* committedOnlyAtEnd(data: Readable): AsyncGenerator<Buffer> {
  yield Buffer.from('BEGIN;\n');
  for await (const chunk of data) yield chunk as Buffer;
  yield Buffer.from('\nCOMMIT;\n');
}
