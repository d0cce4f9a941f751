// The engine's side of the Docker events watch: the raw GET /events stream (newline-delimited
// JSON) and the labels of a config named by an event. What the events mean for the controller
// (which cluster to queue, reconnecting, resync) is src/controller/sources/docker-events.ts.
import type Docker from 'dockerode';
import type { Labels } from './api-types.js';

export type EventType = 'service' | 'secret' | 'config' | 'network' | 'node' | 'container';

export interface EventFilters {
  type: EventType[];
  event: string[];
}

/** The two engine calls an events watch needs. */
export interface EngineEvents {
  /** Opens the events stream with server-side filters; ends when `signal` aborts. */
  open(filters: EventFilters, signal: AbortSignal): Promise<NodeJS.ReadableStream>;
  /** The labels of config `id` (swarm-scoped events carry none). */
  configLabels(id: string): Promise<Labels>;
}

export function engineEvents(docker: Docker): EngineEvents {
  return {
    open: (filters, signal) => docker.getEvents({ filters, abortSignal: signal } as Docker.GetEventsOptions),
    configLabels: async (id) => (await docker.getConfig(id).inspect()).Spec?.Labels ?? {},
  };
}
