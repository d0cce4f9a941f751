// The Docker events watch: a long-lived GET /events stream (newline-delimited JSON) turned into
// cluster names for the controller's work queue. It only enqueues; reconcilers read the swarm.
//
// What Docker 20.10 really sends (checked against this engine): swarm-scoped events (service,
// secret, config, network, node) carry only `Actor.Attributes.name` — no labels — so objects are
// mapped to clusters by name: everything the operator owns is `<cluster>_<something>`. A task's
// container `die` carries `com.docker.swarm.service.name` (and the container's labels), and is
// the only quick signal that a task was killed, so it is watched too.
//
// When the stream ends or fails (engine restarted, socket dropped) the watch reconnects with
// backoff and, once back, asks for a full resync because events were missed — it never gives up
// (kubernetes-client's cache.ts; swarm-cronjob's log.Fatal on a broken stream is what not to do).
import { StringDecoder } from 'node:string_decoder';
import { systemClock } from '../../util/clock.js';
import type { ControllerMetrics } from '../metrics.js';
import type { ClusterEventSource, ClusterSink, WatchStatus } from '../types.js';
import type { Clock } from '../../util/clock.js';
import { errorMessage } from '../../util/errors.js';
import { L } from '../../swarm/labels.js';
import type { EngineEvents, EventFilters } from '../../swarm/event-stream.js';
import { silentLogger, type Logger } from '../../util/log.js';

/** One decoded Docker event (the fields used here). */
export interface DockerEvent {
  Type: string;
  Action: string;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
  scope?: string;
  time?: number;
}

const CLUSTER_LABEL = L.cluster;
const STACK_LABEL = L.stackNamespace;
/** io.bzzz.kind values of the operator's own state configs (stored spec generations, cluster record). */
const STATE_KINDS: ReadonlySet<string> = new Set(['spec', 'cluster']);
/** State configs are named `<cluster>_bzzz-...` (src/store/cluster-store.ts). */
const STATE_NAME_MARK = '_bzzz-';
/** The cluster record `<cluster>_bzzz-cluster`: its labels hold the generation and the status. */
const RECORD_SUFFIX = '_bzzz-cluster';
const SERVICE_NAME_ATTR = 'com.docker.swarm.service.name';

/** Server-side filter: the object types and actions that can change what a cluster should do. */
export const EVENT_FILTERS: EventFilters = {
  type: ['service', 'secret', 'config', 'network', 'node', 'container'],
  // `event` narrows every type; containers then arrive for create and die, and only die is kept.
  event: ['create', 'update', 'remove', 'die'],
};

/** What an event means for the queue. */
export type EventTarget =
  | { kind: 'cluster'; cluster: string }
  | { kind: 'record-update'; cluster: string; id: string }
  | { kind: 'all-known' }
  | { kind: 'inspect-config'; id: string }
  | { kind: 'none' };

/**
 * Map one event to a cluster (pure). `known` are the clusters the controller knows of.
 * - labels on the event (containers carry theirs) win;
 * - a state config `<cluster>_bzzz-...` names its cluster even if not yet known (a new cluster);
 *   an update of the cluster record is checked for a new generation first: the controller's own
 *   status writes update it too, and need no reconcile (controller-runtime's
 *   GenerationChangedPredicate);
 * - otherwise the longest known cluster whose `<cluster>_` prefixes the object's name;
 * - a node change may move tasks of any cluster: all known clusters;
 * - an unmatched config being created may be a state config named otherwise: inspect its labels
 *   (not on update: the controller lease is renewed every few seconds; not on remove: it is gone).
 */
export function mapDockerEvent(ev: DockerEvent, known: readonly string[]): EventTarget {
  const attrs = ev.Actor?.Attributes ?? {};
  switch (ev.Type) {
    case 'node':
      return { kind: 'all-known' };
    case 'container': {
      if (ev.Action !== 'die') return { kind: 'none' };
      const labelled = attrs[CLUSTER_LABEL] || attrs[STACK_LABEL];
      if (labelled) return { kind: 'cluster', cluster: labelled };
      return byPrefix(attrs[SERVICE_NAME_ATTR], known);
    }
    case 'service':
    case 'secret':
    case 'config':
    case 'network': {
      const labelled = attrs[CLUSTER_LABEL] || attrs[STACK_LABEL];
      if (labelled) return { kind: 'cluster', cluster: labelled };
      const name = attrs.name ?? '';
      if (ev.Type === 'config') {
        const mark = name.lastIndexOf(STATE_NAME_MARK);
        if (mark > 0) {
          const cluster = name.slice(0, mark);
          const isRecord = name.length === mark + RECORD_SUFFIX.length && name.endsWith(RECORD_SUFFIX);
          if (isRecord && ev.Action === 'update' && ev.Actor?.ID) return { kind: 'record-update', cluster, id: ev.Actor.ID };
          return { kind: 'cluster', cluster };
        }
      }
      const target = byPrefix(name, known);
      if (target.kind === 'none' && ev.Type === 'config' && ev.Action === 'create' && ev.Actor?.ID) {
        return { kind: 'inspect-config', id: ev.Actor.ID };
      }
      return target;
    }
    default:
      return { kind: 'none' };
  }
}

function byPrefix(name: string | undefined, known: readonly string[]): EventTarget {
  if (!name) return { kind: 'none' };
  let best = '';
  for (const cluster of known) {
    if (cluster.length > best.length && name.startsWith(`${cluster}_`)) best = cluster;
  }
  return best ? { kind: 'cluster', cluster: best } : { kind: 'none' };
}

export interface DockerEventSourceOptions {
  engine: EngineEvents;
  clock?: Clock;
  log?: Logger;
  metrics?: Pick<ControllerMetrics, 'dockerEvent' | 'watchReconnected'>;
  /** First reconnect delay; doubles per failed attempt up to maxReconnectMs. Default 250 ms. */
  initialReconnectMs?: number;
  /** Default 30 s. */
  maxReconnectMs?: number;
}

/** A stream that stayed up this long resets the backoff; one that drops sooner keeps growing it. */
const STABLE_STREAM_MS = 10_000;

export function createDockerEventSource(options: DockerEventSourceOptions): ClusterEventSource {
  const { engine, metrics } = options;
  const clock = options.clock ?? systemClock;
  const log = options.log ?? silentLogger();
  const initialMs = options.initialReconnectMs ?? 250;
  const maxMs = options.maxReconnectMs ?? 30_000;
  let status: WatchStatus = { connected: false, since: clock.now(), reconnects: 0 };
  let started = false;

  function setDown(reason: string): void {
    status = { ...status, connected: false, since: status.connected ? clock.now() : status.since, lastError: reason };
  }

  async function start(signal: AbortSignal, sink: ClusterSink): Promise<void> {
    if (started) throw new Error('docker events watch: start was called twice');
    started = true;
    let opened = 0;
    let retryTimer: { cancel(): void } | undefined;
    let current: NodeJS.ReadableStream | undefined;
    let settleFirst: () => void = () => {};
    const firstSettled = new Promise<void>((resolve) => {
      settleFirst = resolve;
    });

    signal.addEventListener(
      'abort',
      () => {
        retryTimer?.cancel();
        destroy(current);
        status = { ...status, connected: false, since: clock.now() };
        settleFirst();
      },
      { once: true },
    );

    function retry(attempt: number, reason: string): void {
      if (signal.aborted) return;
      setDown(reason);
      const delay = Math.min(maxMs, initialMs * 2 ** attempt);
      log.warn({ reason, retryInMs: delay, attempt: attempt + 1 }, 'docker events stream down; reconnecting');
      retryTimer = clock.setTimeout(() => void connect(attempt + 1), delay);
    }

    async function connect(attempt: number): Promise<void> {
      if (signal.aborted) return;
      let stream: NodeJS.ReadableStream;
      try {
        stream = await engine.open(EVENT_FILTERS, signal);
      } catch (err) {
        if (signal.aborted) return;
        retry(attempt, `cannot open the docker events stream: ${errorMessage(err)}`);
        settleFirst();
        return;
      }
      if (signal.aborted) {
        destroy(stream);
        return;
      }
      current = stream;
      const connectedAt = clock.now();
      const isReconnect = opened > 0 || attempt > 0;
      opened++;
      status = { connected: true, since: connectedAt, reconnects: status.reconnects + (isReconnect ? 1 : 0), lastError: status.lastError };
      if (isReconnect) {
        metrics?.watchReconnected();
        log.info(
          { reconnects: status.reconnects },
          'docker events stream reconnected; resyncing every cluster (events may have been missed)',
        );
        sink.resync('docker events watch reconnected');
      } else {
        log.info('docker events stream connected');
      }
      settleFirst();
      consume(stream, sink, () => {
        if (signal.aborted || current !== stream) return;
        current = undefined;
        const stable = clock.now() - connectedAt >= STABLE_STREAM_MS;
        retry(stable ? 0 : attempt + 1, 'the docker events stream ended');
      });
    }

    void connect(0).catch((err: unknown) => log.error({ err: errorMessage(err) }, 'docker events watch failed unexpectedly'));
    return firstSettled;
  }

  /** Read newline-delimited JSON events until the stream ends; `ended` is called once. */
  function consume(stream: NodeJS.ReadableStream, sink: ClusterSink, ended: () => void): void {
    const decoder = new StringDecoder('utf8');
    let buffered = '';
    let done = false;
    const finish = (why?: unknown) => {
      if (done) return;
      done = true;
      if (why) log.debug({ err: errorMessage(why) }, 'docker events stream error');
      ended();
    };
    stream.on('data', (chunk: Buffer | string) => {
      buffered += typeof chunk === 'string' ? chunk : decoder.write(chunk);
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl).trim();
        buffered = buffered.slice(nl + 1);
        if (line) handleLine(line, sink);
      }
    });
    stream.on('end', () => finish());
    stream.on('close', () => finish());
    stream.on('error', (err: unknown) => finish(err));
  }

  /** Last generation seen on each cluster record, to tell an apply from a status write. */
  const generations = new Map<string, string>();

  const inspectLabels = (id: string): Promise<Record<string, string>> => engine.configLabels(id);

  function handleLine(line: string, sink: ClusterSink): void {
    let ev: DockerEvent;
    try {
      ev = JSON.parse(line) as DockerEvent;
    } catch {
      log.warn({ bytes: line.length }, 'skipped a docker event that is not JSON');
      return;
    }
    if (typeof ev?.Type !== 'string' || typeof ev.Action !== 'string') return;
    metrics?.dockerEvent(ev.Type, ev.Action);
    const target = mapDockerEvent(ev, sink.knownClusters());
    const what = `${ev.Type} ${ev.Action} ${ev.Actor?.Attributes?.name ?? ev.Actor?.ID ?? ''}`.trim();
    switch (target.kind) {
      case 'cluster':
        sink.enqueue(target.cluster, what);
        break;
      case 'all-known':
        for (const cluster of sink.knownClusters()) sink.enqueue(cluster, what);
        break;
      case 'record-update':
        // Enqueue only when the generation moved (an apply); a status write leaves it as it was.
        // When the record cannot be read, enqueue: a spare reconcile is cheap, a missed one is not.
        inspectLabels(target.id)
          .then((labels) => {
            const generation = labels[L.generation];
            if (generation !== undefined && generations.get(target.cluster) === generation) return;
            if (generation !== undefined) generations.set(target.cluster, generation);
            sink.enqueue(target.cluster, `${what} (generation ${generation ?? 'unknown'})`);
          })
          .catch(() => sink.enqueue(target.cluster, what));
        break;
      case 'inspect-config':
        inspectLabels(target.id)
          .then((labels) => {
            const cluster = labels[CLUSTER_LABEL];
            if (cluster && STATE_KINDS.has(labels[L.kind] ?? '')) sink.enqueue(cluster, what);
          })
          .catch((err: unknown) => log.debug({ id: target.id, err: errorMessage(err) }, 'could not inspect config from event'));
        break;
      case 'none':
        break;
    }
  }

  return {
    start,
    status: () => ({ ...status }),
  };
}

function destroy(stream: NodeJS.ReadableStream | undefined): void {
  const s = stream as (NodeJS.ReadableStream & { destroy?: () => void }) | undefined;
  s?.destroy?.();
}
