// The cluster of the PostgreSQL rotation test and benchmark: PostgreSQL, and two consumer tasks
// (content-resolver slot, bzzz/postgres:15 for psql) that connect every 100 ms with the conninfo
// they mount, printing ok or FAIL, rolled one at a time (start-first).
// tasks.postgres: service VIPs do not route on these machines, DNS round-robin does. A task's
// secret file never changes: it connects with the value its task was made with.
// A new task's first moments on the overlay can lack DNS ("Temporary failure in name
// resolution"), as on any rolling update: the client starts once tasks.postgres resolves, as a
// real one with a readiness check would, so a FAIL line is about the credential or the server.
const LOOP = [
  'until getent hosts tasks.postgres >/dev/null; do sleep 0.1; done;',
  'while true; do',
  '  c=$(cat /run/secrets/postgres_app);',
  '  case "$c" in user=*) ;; *) echo wait; sleep 0.2; continue;; esac;',
  '  if psql "host=tasks.postgres dbname=bzzz_v2 connect_timeout=3 $c" -XAtqc "select 1" >/dev/null 2>/tmp/err; then echo ok; else echo "FAIL $(head -c 300 /tmp/err)"; fi;',
  '  sleep 0.1;',
  'done',
].join(' ');

export function rotationSpec(name: string): string {
  return `apiVersion: bzzz.io/v2
kind: BzzzCluster
metadata: { name: ${name} }
spec:
  version: "2.0.0"
  keys: { generate: false }
  secrets:
    postgres_user: { generate: { length: 12, encoding: alphanumeric } }
    postgres_password: { generate: {} }
    postgres_app: { generate: { length: 24 }, rotate: { period: 30d, grace: 2s, consumer: { type: postgres, login: app } } }
  agent:
    image: bzzz-test/busybox:1
    instances: [{ name: a1 }]
    stopGracePeriod: 1s
  services:
    mcpServer: { enabled: false }
    openaiProxy: { enabled: false }
    redis: { enabled: false }
    postgres:
      image: bzzz/postgres:15
      ports: []
      env: { POSTGRES_DB: bzzz_v2 }
    contentResolver:
      image: bzzz/postgres:15
      replicas: 2
      ports: []
      networks: [internal]
      command: [sh, -c, ${JSON.stringify(LOOP)}]
      healthcheck: { test: [NONE] }
      secrets: [{ source: postgres_app }]
      update: { parallelism: 1, delay: 1s, order: start-first }
      stopGracePeriod: 1s
`;
}
