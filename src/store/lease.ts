// The controller's lease, in the swarm like all durable state: a config whose labels say who
// holds it and when it was last renewed, updated with a version check (compare-and-swap).
// `bzzzctl apply` reads it to know whether a controller runs (then it waits for the controller
// to observe the new generation) or not (then it reconciles in-process). It is also the basis of
// leader election when several controllers run.
import type { SwarmPort } from '../swarm/port.js';
import { L, MANAGER } from '../swarm/labels.js';
import { ConflictError } from '../util/errors.js';

export const LEASE_NAME = 'bzzz-operator_controller-lease';
/** Renewed every third of it: two renewals can fail before a standby may take over. */
export const DEFAULT_LEASE_TTL_MS = 15_000;
const HOLDER = 'io.bzzz.lease.holder';
const RENEWED = 'io.bzzz.lease.renewed-at';
const TTL = 'io.bzzz.lease.ttl-ms';

export interface LeaseInfo {
  holder: string;
  renewedAt: number;
  ttlMs: number;
}

export async function readLease(port: SwarmPort): Promise<LeaseInfo | undefined> {
  const [c] = await port.listConfigs({ names: [LEASE_NAME] });
  const l = c?.Spec.Labels;
  if (!l?.[HOLDER]) return undefined;
  return { holder: l[HOLDER], renewedAt: Number(l[RENEWED] ?? 0), ttlMs: Number(l[TTL] ?? 15000) };
}

export function leaseIsLive(lease: LeaseInfo | undefined, now: number): boolean {
  return !!lease && now - lease.renewedAt < lease.ttlMs;
}

/** What a candidate last saw of the lease: its version, and when that version first appeared by the candidate's own clock. */
export interface LeaseSighting {
  version: number;
  holder: string;
  seenAt: number;
}

/**
 * May `holder` take the lease now? When nobody holds it, when it is already its own, or when
 * the version held by another has not moved for a whole TTL as measured by the candidate's own
 * clock since it first saw that version (as Kubernetes' leader election does): the renewal
 * timestamps other hosts write are never compared with this host's clock.
 */
export function mayTakeLease(
  current: { holder: string; version: number; ttlMs: number },
  holder: string,
  seen: LeaseSighting | undefined,
  now: number,
): boolean {
  if (!current.holder || current.holder === holder) return true;
  return seen !== undefined && seen.version === current.version && seen.holder === current.holder && now - seen.seenAt >= current.ttlMs;
}

/** Campaigns for the controller lease on behalf of one holder; keeps what it has seen between rounds. */
export interface LeaseElector {
  /** One round: take or renew the lease when allowed. True when this holder holds it afterwards. */
  tryAcquire(now: number): Promise<boolean>;
  /** Who held the lease at the last round (this holder, another, or '' for nobody). */
  readonly lastHolder: string;
}

export function createLeaseElector(port: SwarmPort, holder: string, ttlMs: number): LeaseElector {
  let seen: LeaseSighting | undefined;
  let lastHolder = '';
  return {
    get lastHolder() {
      return lastHolder;
    },
    async tryAcquire(now) {
      const [c] = await port.listConfigs({ names: [LEASE_NAME] });
      const labels = { [L.managedBy]: MANAGER, [L.kind]: 'controller', [HOLDER]: holder, [RENEWED]: String(now), [TTL]: String(ttlMs) };
      if (!c) {
        try {
          await port.createConfig({
            Name: LEASE_NAME,
            Labels: labels,
            Data: Buffer.from('bzzz-operator controller lease').toString('base64'),
          });
          lastHolder = holder;
          return true;
        } catch {
          return false; // another candidate created it first: seen next round
        }
      }
      const cur = c.Spec.Labels ?? {};
      const current = { holder: cur[HOLDER] ?? '', version: c.Version.Index, ttlMs: Number(cur[TTL] ?? ttlMs) };
      if (seen?.version !== current.version || seen.holder !== current.holder)
        seen = { version: current.version, holder: current.holder, seenAt: now };
      lastHolder = current.holder;
      if (!mayTakeLease(current, holder, seen, now)) return false;
      try {
        // Version-checked: of two candidates taking an expired lease at once, one wins.
        await port.updateConfig(c.ID, c.Version.Index, { Name: c.Spec.Name, Labels: labels, Data: c.Spec.Data });
        lastHolder = holder;
        return true;
      } catch (err) {
        // Lost the race to another writer: not held. Anything else (the engine restarting) is
        // the caller's to retry; it says nothing about who holds the lease.
        if (err instanceof ConflictError) return false;
        throw err;
      }
    },
  };
}

/** Gives the lease up on clean shutdown so the next apply does not wait for a controller that is gone. */
export async function releaseLease(port: SwarmPort, holder: string): Promise<void> {
  const [c] = await port.listConfigs({ names: [LEASE_NAME] });
  if (!c || c.Spec.Labels?.[HOLDER] !== holder) return;
  await port
    .updateConfig(c.ID, c.Version.Index, {
      Name: c.Spec.Name,
      Labels: { ...c.Spec.Labels, [HOLDER]: '', [RENEWED]: '0' },
      Data: c.Spec.Data,
    })
    .catch(() => undefined);
}
