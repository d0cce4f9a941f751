// How a command reaches PostgreSQL inside the cluster's postgres task (bzzz/postgres:15, the
// official image's contract): initdb made the local socket `trust`, and the superuser is the
// value of POSTGRES_USER (or the file POSTGRES_USER_FILE names: the spec's userSecret). So a
// command run in the task connects as that user over the socket — no password handled here.
import type { ServiceExec } from '../swarm/exec.js';
import { objectName } from '../swarm/labels.js';
import { poll } from '../util/poll.js';
import { NotFoundError } from '../util/errors.js';

/** `sh -c` that sets PGUSER the way the entrypoint chose the superuser, then runs `cmd` (arguments passed as such, never spliced). */
export function asSuperuser(cmd: string[]): string[] {
  const script = [
    'u="$POSTGRES_USER"',
    'if [ -z "$u" ] && [ -n "$POSTGRES_USER_FILE" ]; then u=$(cat "$POSTGRES_USER_FILE") || exit 70; fi',
    '[ -n "$u" ] || u=postgres',
    'export PGUSER="$u"',
    'exec "$@"',
  ].join('\n');
  return ['sh', '-c', script, 'sh', ...cmd];
}

export function postgresService(cluster: string): string {
  return objectName(cluster, 'postgres');
}

/** Database names are identifiers a path can carry as they are; anything else is percent-encoded. */
export function databasePath(db: string): string {
  return `${encodeURIComponent(db)}.sql`;
}

export function databaseFromPath(path: string): string {
  const m = /^([^/]+)\.sql$/.exec(path);
  const db = m ? decodeURIComponent(m[1]) : '';
  if (!db || db.length > 63) throw new Error(`postgres part: entry ${JSON.stringify(path)} is not <database>.sql`);
  return db;
}

/** Waits until the service's task runs here and PostgreSQL accepts connections (a fresh cluster is still initialising). */
export async function waitForPostgres(exec: ServiceExec, service: string, timeoutMs: number, signal?: AbortSignal): Promise<void> {
  let last = '';
  const r = await poll(
    async () => {
      try {
        const h = await exec.execInService(service, {
          cmd: asSuperuser(['pg_isready', '-q', '-d', 'postgres']),
          timeoutMs: 10_000,
          signal,
          what: 'pg_isready',
        });
        h.stdout.resume();
        await h.done;
        return true;
      } catch (err) {
        last = err instanceof Error ? err.message : String(err);
        return false;
      }
    },
    { until: (ok) => ok, deadline: Date.now() + timeoutMs, everyMs: 1000, signal },
  );
  if (!r.met)
    throw new NotFoundError(
      `PostgreSQL in ${service} did not accept connections within ${timeoutMs} ms (${last}): check docker service ps ${service}`,
    );
}
