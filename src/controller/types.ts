// The contract between the controller machinery (queue, manager, sources) and what it drives.
// As in controller-runtime: a reconcile request is only a key (the cluster name); sources only
// enqueue names; the reconciler reads everything else from the swarm itself.

/** Names of the BzzzClusters stored in the swarm. */
export interface ClusterLister {
  listClusters(signal?: AbortSignal): Promise<string[]>;
}

/** Something with the manager's lifecycle (HTTP endpoint, leader lease, ...). */
export interface Runnable {
  start(signal: AbortSignal): Promise<void> | void;
  stop?(): Promise<void>;
}

/** Where sources put work: names only. */
export interface ClusterSink {
  /** Queue one cluster for reconcile. `reason` is for logs (e.g. "service update myapp_agent-a"). */
  enqueue(cluster: string, reason: string): void;
  /** List every stored cluster again and queue each (after a watch gap: events may have been missed). */
  resync(reason: string): void;
  /** The clusters known right now (last full list plus names enqueued since), to map object names. */
  knownClusters(): readonly string[];
}

/** Health of a watch: whether its stream is up, and since when it has been in that state. */
export interface WatchStatus {
  connected: boolean;
  /** Clock time (ms) of the last change of `connected` (or of start). */
  since: number;
  /** Reconnections made since start (the first connection is not one). */
  reconnects: number;
  /** Why the stream last dropped or failed to open; never holds object contents. */
  lastError?: string;
}

/** A long-lived source of cluster names (the Docker events watch). */
export interface ClusterEventSource {
  /**
   * Begin watching. Resolves once the first connection attempt has settled (connected or
   * failed and retrying in the background), so the caller can list afterwards without a gap.
   * Stops when `signal` aborts; never gives up before that.
   */
  start(signal: AbortSignal, sink: ClusterSink): Promise<void>;
  status(): WatchStatus;
}

export interface HealthCheck {
  ok: boolean;
  detail: string;
}

export interface HealthReport {
  ok: boolean;
  checks: Record<string, HealthCheck>;
}
