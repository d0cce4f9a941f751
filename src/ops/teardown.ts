// Teardown of one cluster: everything it can prove it owns — candidates are selected by the
// ownership labels, then each must carry the ownership proof of the cluster record's key
// (src/swarm/ownership.ts). Look-alikes (the labels without the proof) and foreign objects with a
// similar name survive, and are reported.
//   1. the stored state first, so a running controller stops driving the cluster
//   2. services, then (once their tasks are gone) secrets, configs and networks
//   3. the volumes the engine made for its mounts
import { ownedBy } from '../swarm/labels.js';
import { ownershipCheck } from '../swarm/ownership.js';
import { ClusterStore } from '../store/cluster-store.js';
import type { SwarmPort } from '../swarm/port.js';
import { NotFoundError } from '../util/errors.js';
import { poll } from '../util/poll.js';
import { READER_LABEL, secretReaderName } from './backup-secret-reader.js';

/** Counts a removal once; an object already gone (removed concurrently or earlier) is not an error. */
async function removed(p: Promise<void>, count: () => void): Promise<void> {
  try {
    await p;
    count();
  } catch (err) {
    if (!(err instanceof NotFoundError)) throw err;
  }
}

export interface DeleteReport {
  services: number;
  secrets: number;
  configs: number;
  networks: number;
  volumes: number;
  state: number;
  leftovers: string[];
  /** Objects labelled as the cluster's that lack its ownership proof: left alone (`<kind> <name>`). */
  lookAlikes: string[];
}

export async function deleteCluster(
  port: SwarmPort,
  name: string,
  timeoutMs: number,
  onProgress: (s: string) => void = () => {},
): Promise<DeleteReport> {
  const owned = { labels: ownedBy(name) };
  const store = new ClusterStore(port);
  const record = await store.get(name);
  // No record: nothing can be proven (a look-alike could be anything). A record from before
  // ownership proofs has no key: its objects are trusted by their labels.
  const check = ownershipCheck(record ? record.ownerKey : null);
  const ours = check.ours;
  const state = await store.remove(name, (c) => c.ID === record?.id || ours('config', c.Spec.Name, c.Spec.Labels));
  const services = (await port.listServices(owned)).filter((s) => ours('service', s.Spec.Name, s.Spec.Labels));
  // A backup's secret reader left by a process that died mid-backup holds the cluster's secrets.
  services.push(...(await port.listServices({ names: [secretReaderName(name)], labels: [`${READER_LABEL}=${name}`] })));
  await Promise.all(
    services.map((s) =>
      port.removeService(s.ID).catch((e: unknown) => {
        if (!(e instanceof NotFoundError)) throw e;
      }),
    ),
  );
  const report: DeleteReport = {
    services: services.length,
    secrets: 0,
    configs: 0,
    networks: 0,
    volumes: 0,
    state,
    leftovers: [],
    lookAlikes: [],
  };
  const deadline = Date.now() + timeoutMs;
  // Secrets, configs and networks can only go once no task uses them, and the swarm removes
  // networks asynchronously: retry until nothing of the cluster is listed any more.
  const objects = await poll(
    async () => {
      const [secrets, configs, networks] = await Promise.all([
        port.listSecrets(owned).then((l) => l.filter((s) => ours('secret', s.Spec.Name, s.Spec.Labels))),
        port.listConfigs(owned).then((l) => l.filter((c) => ours('config', c.Spec.Name, c.Spec.Labels))),
        port.listNetworks(owned).then((l) => l.filter((n) => ours('network', n.Name, n.Labels))),
      ]);
      const results = await Promise.allSettled([
        ...secrets.map((s) => removed(port.removeSecret(s.ID), () => report.secrets++)),
        ...configs.map((c) => removed(port.removeConfig(c.ID), () => report.configs++)),
        ...networks.map((n) => removed(port.removeNetwork(n.Id), () => report.networks++)),
      ]);
      const left = [
        ...secrets.map((s) => `secret ${s.Spec.Name}`),
        ...configs.map((c) => `config ${c.Spec.Name}`),
        ...networks.map((n) => `network ${n.Name}`),
      ];
      return { listed: left.length, failed: results.filter((r) => r.status === 'rejected').length, left };
    },
    {
      // Removed this round (or nothing was left): a last list confirms nothing is.
      until: (r) => r.listed === 0,
      deadline,
      everyMs: (r) => (r.failed ? 500 : 100),
      onValue: (r) => {
        if (r.failed) onProgress(`${name}: waiting for ${r.failed} object(s) still in use by stopping tasks`);
      },
    },
  );
  if (!objects.met) report.leftovers.push(...objects.value.left);
  // Volumes the engine made for the cluster's mounts (node-local; this node's), once no container uses them.
  const volumes = await poll(
    async () => {
      const listed = (await port.listVolumes(owned)).filter((v) => ours('volume', v.Name, v.Labels));
      const results = await Promise.allSettled(listed.map((v) => removed(port.removeVolume(v.Name), () => report.volumes++)));
      return { listed: listed.length, failed: results.some((r) => r.status === 'rejected'), left: listed.map((v) => `volume ${v.Name}`) };
    },
    { until: (r) => r.listed === 0, deadline, everyMs: (r) => (r.failed ? 500 : 0) },
  );
  if (!volumes.met) report.leftovers.push(...volumes.value.left);
  report.lookAlikes = check.lookAlikes();
  return report;
}
