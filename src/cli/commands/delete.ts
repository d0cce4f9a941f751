// bzzzctl delete NAME: removes everything the cluster owns (src/ops/teardown.ts), with progress.
import { parseDurationMs } from '../../spec/index.js';
import { cliContext } from '../context.js';
import { ownedBy } from '../../swarm/labels.js';
import { deleteCluster } from '../../ops/teardown.js';
import { printLines, progress } from '../output.js';
import { NotFoundError, BzzzError } from '../../util/errors.js';
import { EXIT_OK } from '../../util/exit-codes.js';

export async function deleteCommand(name: string, opts: { timeout: string }): Promise<number> {
  const timeoutMs = parseDurationMs(opts.timeout, '--timeout');
  const { port, store } = cliContext();
  const [rec, services] = await Promise.all([store.get(name), port.listServices({ labels: ownedBy(name) })]);
  if (!rec && services.length === 0) {
    const others = await store.listClusters();
    throw new NotFoundError(`cluster ${name} not found${others.length ? ` (clusters here: ${others.join(', ')})` : ''}`);
  }
  const bar = progress();
  const r = await deleteCluster(port, name, timeoutMs, (s) => bar.update(s));
  bar.done();
  printLines([
    `bzzzcluster/${name} deleted: ${r.services} services, ${r.secrets} secrets, ${r.configs} configs, ${r.networks} networks, ${r.volumes} volumes removed`,
  ]);
  if (r.lookAlikes.length)
    process.stderr.write(
      `left alone: ${r.lookAlikes.length} object(s) labelled as ${name}'s without its ownership proof (not made by bzzz-operator for this cluster): ${r.lookAlikes.join(', ')}\n`,
    );
  if (r.leftovers.length)
    throw new BzzzError(
      `cluster ${name}: still in use after ${opts.timeout}: ${r.leftovers.join(', ')}; run bzzzctl delete ${name} again once their tasks stopped`,
    );
  return EXIT_OK;
}
