// The controller machinery: types and factories. The controller process is composed in run.ts.
export type {
  Clock,
  ClusterEventSource,
  ClusterLister,
  ClusterSink,
  HealthCheck,
  HealthReport,
  ReconcileResult,
  Reconciler,
  Runnable,
  WatchStatus,
} from './types.js';
export { TerminalError } from './types.js';
export { realClock } from './clock.js';
export { createWorkQueue, type WorkQueue, type WorkQueueOptions, type QueueMetrics } from './queue.js';
export { createRateLimiter, type RateLimiter, type RateLimiterOptions } from './rate-limiter.js';
export { createController, type Controller, type ControllerOptions } from './controller.js';
export { createManager, type Manager, type ManagerOptions, type ManagedRunnable } from './manager.js';
export { createLeaderElection, type LeaderElection, type LeaderElectionOptions } from './leader-election.js';
export { createControllerMetrics, type ControllerMetrics, type ControllerMetricsOptions, type ReconcileOutcome } from './metrics.js';
export { startHttp, parseListen, type HttpEndpoint, type HttpOptions } from './http.js';
