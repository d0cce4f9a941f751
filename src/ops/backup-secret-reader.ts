// Docker never gives a secret's value back through its API; a container that mounts the secret
// can read it. Secret values are read from running tasks that already mount them
// (/run/secrets/<target>, or the absolute target), and — for versions no running task mounts,
// such as the admin key's Shamir shares beyond the agents' count or role keys no agent acts
// with — from a short-lived reader service that mounts them, pinned to this node, removed at
// once. Values stay in memory; nothing here logs them or puts them in an error.
import type { Secret, Service, ServiceSpec } from '../swarm/api-types.js';
import type { ServiceExec } from '../swarm/exec.js';
import type { SwarmPort } from '../swarm/port.js';
import { objectName } from '../swarm/labels.js';
import { errorMessage } from '../util/errors.js';
import { poll } from '../util/poll.js';

/** Docker's own limit on a secret is 500 KiB. */
const MAX_SECRET = 512 * 1024;
/** The label (value: the cluster) of a reader service; teardown removes one a dead backup left. */
export const READER_LABEL = 'io.bzzz.backup-reader';

export function secretReaderName(cluster: string): string {
  return objectName(cluster, 'bzzz-backup-reader');
}

export interface SecretReadResult {
  values: Map<string, Buffer>;
  /** Secret name → why its value could not be read. */
  unread: Map<string, string>;
}

export interface SecretReaderOptions {
  port: SwarmPort;
  exec: ServiceExec;
  cluster: string;
  /** Use a reader service for secrets no running task here mounts (default true). */
  readerService?: boolean;
  signal?: AbortSignal;
}

function mountPath(target: string): string {
  return target.startsWith('/') ? target : `/run/secrets/${target}`;
}

async function readFile(exec: ServiceExec, service: string, path: string, signal?: AbortSignal): Promise<Buffer> {
  const h = await exec.execInService(service, {
    cmd: ['cat', path],
    user: '0',
    maxStdoutBytes: MAX_SECRET,
    timeoutMs: 30_000,
    signal,
    what: `reading a secret file (${path})`,
  });
  const chunks: Buffer[] = [];
  for await (const c of h.stdout) chunks.push(c as Buffer);
  await h.done;
  return Buffer.concat(chunks);
}

/** Reads the values of `secrets` (the cluster's own), from the services that mount them or a reader service. */
export async function readSecretValues(o: SecretReaderOptions, secrets: Secret[], services: Service[]): Promise<SecretReadResult> {
  const values = new Map<string, Buffer>();
  const unread = new Map<string, string>();
  for (const s of secrets) {
    const name = s.Spec.Name;
    const mounts = services.flatMap((svc) =>
      (svc.Spec.TaskTemplate.ContainerSpec.Secrets ?? [])
        .filter((r) => r.SecretName === name)
        .map((r) => ({ svc: svc.Spec.Name, path: mountPath(r.File.Name) })),
    );
    const reasons: string[] = [];
    for (const m of mounts) {
      try {
        values.set(name, await readFile(o.exec, m.svc, m.path, o.signal));
        break;
      } catch (err) {
        reasons.push(`${m.svc}: ${errorMessage(err)}`);
      }
    }
    if (!values.has(name)) unread.set(name, mounts.length ? reasons.join('; ') : 'no service mounts it');
  }
  if (o.readerService !== false && unread.size) await readWithReader(o, secrets, services, values, unread);
  return { values, unread };
}

/** A one-replica service mounting every unread secret, pinned to this node; removed before returning. */
async function readWithReader(
  o: SecretReaderOptions,
  secrets: Secret[],
  services: Service[],
  values: Map<string, Buffer>,
  unread: Map<string, string>,
): Promise<void> {
  const image = services.map((s) => s.Spec.TaskTemplate.ContainerSpec.Image).find(Boolean);
  if (!image) return;
  const name = secretReaderName(o.cluster);
  // A reader left by a backup that died half-way would keep its secrets in use: remove it first.
  for (const old of await o.port.listServices({ names: [name] })) await o.port.removeService(old.ID).catch(() => undefined);
  const info = await o.port.info();
  const todo = secrets.filter((s) => unread.has(s.Spec.Name));
  const spec: ServiceSpec = {
    Name: name,
    // Not the operator's ownership labels: the cluster's reconciler would prune it as not desired.
    Labels: { [READER_LABEL]: o.cluster },
    TaskTemplate: {
      ContainerSpec: {
        Image: image,
        Command: ['sh', '-c', 'sleep 600'],
        User: '0',
        // The image's own health check (pg_isready in the postgres image) would never pass in a
        // container that only sleeps, and the swarm reports a task running only once healthy.
        Healthcheck: { Test: ['NONE'] },
        Secrets: todo.map((s) => ({
          SecretID: s.ID,
          SecretName: s.Spec.Name,
          File: { Name: s.Spec.Name, UID: '0', GID: '0', Mode: 0o400 },
        })),
        StopGracePeriod: 1_000_000_000,
      },
      RestartPolicy: { Condition: 'none' },
      Placement: { Constraints: [`node.id==${info.nodeId}`] },
    },
    Mode: { Replicated: { Replicas: 1 } },
  };
  let id: string | undefined;
  try {
    id = await o.port.createService(spec);
    const up = await poll(
      () =>
        o.exec.runningTask(name).then(
          () => true,
          () => false,
        ),
      {
        until: (ok) => ok,
        deadline: Date.now() + 60_000,
        everyMs: 300,
        signal: o.signal,
      },
    );
    if (!up.met) throw new Error(`the reader service ${name} (image ${image}) did not start within 60 s`);
    for (const s of todo) {
      try {
        values.set(s.Spec.Name, await readFile(o.exec, name, `/run/secrets/${s.Spec.Name}`, o.signal));
        unread.delete(s.Spec.Name);
      } catch (err) {
        unread.set(s.Spec.Name, `${unread.get(s.Spec.Name)}; reader service: ${errorMessage(err)}`);
      }
    }
  } catch (err) {
    for (const s of todo) unread.set(s.Spec.Name, `${unread.get(s.Spec.Name)}; reader service: ${errorMessage(err)}`);
  } finally {
    if (id) await o.port.removeService(id).catch(() => undefined);
  }
}
