// A small cluster for the backup tests, deployed the way `bzzzctl apply` does with no controller
// (store the spec, then reconcile in-process) — without the swarm's lease, which the
// integration suite running beside owns. Busybox agents (they have sh, tar, cat), PostgreSQL 15.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSpecFile } from '../../../src/spec/index.js';
import { resolveApply, storeSpec } from '../../../src/cli/resolve-apply.js';
import { ClusterStore } from '../../../src/store/cluster-store.js';
import { convergeInProcess } from '../../../src/ops/backup-converge.js';
import { DockerExec, execText } from '../../../src/swarm/exec.js';
import { asSuperuser, postgresService } from '../../../src/ops/backup-postgres-shell.js';
import { port } from '../harness.js';

export const exec = new DockerExec(port);

export function clusterSpec(name: string): string {
  return `apiVersion: bzzz.io/v2
kind: BzzzCluster
metadata:
  name: ${name}
spec:
  version: "2.0.0"
  secrets:
    postgres_user:
      generate: { length: 12 }
    postgres_password:
      generate: { length: 24, encoding: hex }
  agent:
    image: bzzz-test/busybox:1
    instances:
      - name: a1
      - name: a2
    stopGracePeriod: 1s
  services:
    mcpServer: { enabled: false }
    openaiProxy: { enabled: false }
    contentResolver: { enabled: false }
    redis: { enabled: false }
    postgres:
      enabled: true
      image: bzzz/postgres:15
      stopGracePeriod: 5s
`;
}

/** Stores the spec and reconciles until Ready. */
export async function deploy(name: string, text = clusterSpec(name)): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bkb-'));
  const file = join(dir, 'cluster.yaml');
  writeFileSync(file, text);
  const resolved = await resolveApply(await loadSpecFile(file));
  const { generation } = await storeSpec(port, new ClusterStore(port), resolved);
  await convergeInProcess(port, 240_000)(name, generation, new AbortController().signal);
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
