// bzzzctl down [-f FILE]: removes what `up` made — the cluster (everything it owns) and, when no
// other cluster is left, the controller service and its lease. Images stay.
import { join } from 'node:path';
import { loadSpecFile, parseDurationMs } from '../../spec/index.js';
import { cliContext } from '../context.js';
import { LEASE_NAME } from '../../store/lease.js';
import { detachOperatorFrom, OPERATOR_SERVICE, removeOperatorService } from '../../ops/operator-service.js';
import { deleteCluster } from '../../ops/teardown.js';
import { printLines, progress } from '../output.js';
import { packageRoot } from '../../util/paths.js';
import { BzzzError } from '../../util/errors.js';
import { EXIT_OK } from '../../util/exit-codes.js';
import { DEFAULT_SPEC } from './up.js';

export async function downCommand(opts: { filename?: string; timeout: string }): Promise<number> {
  const timeoutMs = parseDurationMs(opts.timeout, '--timeout');
  const loaded = await loadSpecFile(opts.filename ?? join(packageRoot(), DEFAULT_SPEC));
  const name = loaded.cluster.metadata.name;
  const { port, store } = cliContext();
  const bar = progress();
  const lines: string[] = [];
  // The controller is attached to this cluster's networks: when it serves no other cluster it
  // goes first, so the networks can be removed once its task has stopped.
  const others = (await store.listClusters()).filter((c) => c !== name);
  if (others.length === 0) {
    if (await removeOperatorService(port)) lines.push(`controller service ${OPERATOR_SERVICE} removed`);
    const [lease] = await port.listConfigs({ names: [LEASE_NAME] });
    if (lease) await port.removeConfig(lease.ID).catch(() => undefined);
  } else if (await detachOperatorFrom(port, name)) {
    lines.push(`controller detached from ${name}'s networks (it still runs ${others.join(', ')})`);
  }
  const r = await deleteCluster(port, name, timeoutMs, (s) => bar.update(s));
  lines.push(
    `bzzzcluster/${name} removed: ${r.services} services, ${r.secrets} secrets, ${r.configs} configs, ${r.networks} networks, ${r.volumes} volumes`,
  );
  bar.done();
  if (r.lookAlikes.length)
    lines.push(
      `left alone: ${r.lookAlikes.length} object(s) labelled as ${name}'s without its ownership proof: ${r.lookAlikes.join(', ')}`,
    );
  printLines(lines);
  if (r.leftovers.length)
    throw new BzzzError(`still in use after ${opts.timeout}: ${r.leftovers.join(', ')}; run bzzzctl down again once their tasks stopped`);
  return EXIT_OK;
}
