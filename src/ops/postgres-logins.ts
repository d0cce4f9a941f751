// PostgreSQL logins set in the cluster's running postgres task: psql over `docker exec`
// (swarm/exec.ts), connecting through the local socket (trusted in the image's pg_hba) as the
// database owner named by POSTGRES_USER_FILE, with the SQL on stdin — never on the command
// line, where `docker inspect` and `ps` would show it — and the password inside it only as a
// SCRAM verifier (reconcilers/postgres-logins-sql.ts).
import { Readable } from 'node:stream';
import type { PostgresLogins } from '../reconcilers/rotation-reconciler.js';
import { disableLoginSql, setLoginSql } from '../reconcilers/postgres-logins-sql.js';
import type { ServiceExec } from '../swarm/exec.js';
import { objectName } from '../swarm/labels.js';
import type { BzzzCluster } from '../spec/types.js';

// The owner's name from the secret file when there is one, else POSTGRES_USER, else postgres.
const PSQL = [
  'sh',
  '-c',
  'u=postgres; if [ -n "$POSTGRES_USER_FILE" ]; then u=$(cat "$POSTGRES_USER_FILE"); elif [ -n "$POSTGRES_USER" ]; then u=$POSTGRES_USER; fi; exec psql -X -q -v ON_ERROR_STOP=1 -U "$u" -d "$POSTGRES_DB"',
];

export function postgresLoginsViaExec(exec: ServiceExec, timeoutMs = 30_000): PostgresLogins {
  async function run(cluster: BzzzCluster, sql: string, what: string, signal?: AbortSignal): Promise<void> {
    const service = objectName(cluster.metadata.name, 'postgres');
    const h = await exec.execInService(service, {
      cmd: PSQL,
      user: 'postgres',
      stdin: Readable.from([sql]),
      maxStdoutBytes: 64 * 1024,
      timeoutMs,
      what,
      ...(signal ? { signal } : {}),
    });
    h.stdout.resume();
    await h.done;
  }
  return {
    setLogin: (o) => run(o.cluster, setLoginSql(o.login, o.password, o.memberOf), `set the password of login ${o.login}`, o.signal),
    disableLogin: (o) => run(o.cluster, disableLoginSql(o.login), `disable login ${o.login}`, o.signal),
  };
}
