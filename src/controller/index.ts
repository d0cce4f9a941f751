// The controller machinery: types and factories. Wiring lives in src/cli/commands/controller.ts.
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
export { createManager, type Manager, type ManagerOptions } from './manager.js';
export { createControllerMetrics, type ControllerMetrics, type ControllerMetricsOptions, type ReconcileOutcome } from './metrics.js';
export { startHttp, parseListen, type HttpEndpoint, type HttpOptions } from './http.js';
