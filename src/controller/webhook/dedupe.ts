// Act once per alert firing. Alertmanager retries a delivery until it gets a 2xx, and each
// Alertmanager of an HA pair sends its own copy of the same notification (same group key, same
// alert fingerprint, same startsAt): all of them are one alert, keyed on
//   cluster + groupKey + fingerprint + startsAt (the instant, however it was written).
// In memory, bounded in entries (the oldest claim goes first) and in time (a claim expires after
// `ttlMs`: a later resend of a still-firing alert is a reminder, not a new firing, so the default
// is longer than Alertmanager's default repeat_interval of 4 h). The controller's act() keeps its
// own durable check (an action recorded in the cluster's journal is not taken twice) for what a
// restarted controller forgot.
import { createHash } from 'node:crypto';
import type { Clock } from '../../util/clock.js';

export interface AlertKeyParts {
  cluster: string;
  groupKey: string;
  fingerprint: string;
  startsAt: string;
}

export interface AlertDedupe {
  /** True the first time a key is claimed (within its lifetime); false for a copy. Synchronous: two copies racing cannot both win. */
  claim(key: string): boolean;
  /** Forgets a claim, so the next copy acts (its action failed). */
  release(key: string): void;
  readonly size: number;
}

export interface DedupeOptions {
  /** How long a claim lasts. Default 12 h. */
  ttlMs?: number;
  /** Claims kept at most. Default 10 000 (~1 MB). */
  maxEntries?: number;
}

export const DEFAULT_DEDUPE_TTL_MS = 12 * 3600_000;
export const DEFAULT_DEDUPE_ENTRIES = 10_000;

/** A fixed-size key (SHA-256, hex): group keys can be long, and memory is bounded by entry count. */
export function alertKey({ cluster, groupKey, fingerprint, startsAt }: AlertKeyParts): string {
  const instant = Date.parse(startsAt);
  const at = Number.isNaN(instant) ? startsAt : String(instant);
  return createHash('sha256')
    .update(JSON.stringify([cluster, groupKey, fingerprint, at]))
    .digest('hex');
}

export function createAlertDedupe(clock: Clock, options: DedupeOptions = {}): AlertDedupe {
  const ttl = options.ttlMs ?? DEFAULT_DEDUPE_TTL_MS;
  const max = options.maxEntries ?? DEFAULT_DEDUPE_ENTRIES;
  // Insertion order is claim order, and every claim lives `ttl`: the first entries expire first.
  const claims = new Map<string, number>();

  const expire = (now: number) => {
    for (const [key, until] of claims) {
      if (until > now) break;
      claims.delete(key);
    }
  };

  return {
    claim(key) {
      const now = clock.now();
      expire(now);
      if (claims.has(key)) return false;
      if (claims.size >= max) claims.delete(claims.keys().next().value as string);
      claims.set(key, now + ttl);
      return true;
    },
    release(key) {
      claims.delete(key);
    },
    get size() {
      return claims.size;
    },
  };
}
