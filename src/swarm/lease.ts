// The controller's lease, in the swarm like all durable state: a config whose labels say who
// holds it and when it was last renewed, updated with a version check (compare-and-swap).
// `bzzzctl apply` reads it to know whether a controller runs (then it waits for the controller
// to observe the new generation) or not (then it reconciles in-process). It is also the basis of
// leader election when several controllers run.
import type { SwarmPort } from './port.js';
import { L, MANAGER } from './labels.js';

export const LEASE_NAME = 'bzzz-operator_controller-lease';
const HOLDER = 'io.bzzz.lease.holder';
const RENEWED = 'io.bzzz.lease.renewed-at';
const TTL = 'io.bzzz.lease.ttl-ms';

export interface LeaseInfo { holder: string; renewedAt: number; ttlMs: number }

export async function readLease(port: SwarmPort): Promise<LeaseInfo | undefined> {
  const [c] = await port.listConfigs({ names: [LEASE_NAME] });
  const l = c?.Spec.Labels;
  if (!l?.[HOLDER]) return undefined;
  return { holder: l[HOLDER], renewedAt: Number(l[RENEWED] ?? 0), ttlMs: Number(l[TTL] ?? 15000) };
}

export function leaseIsLive(lease: LeaseInfo | undefined, now: number): boolean {
  return !!lease && now - lease.renewedAt < lease.ttlMs;
}

/**
 * Takes or renews the lease for `holder`. Returns true when `holder` holds it after the call;
 * false when another live holder has it or a concurrent writer won the race.
 */
export async function acquireLease(port: SwarmPort, holder: string, ttlMs: number, now: number): Promise<boolean> {
  const [c] = await port.listConfigs({ names: [LEASE_NAME] });
  const labels = { [L.managedBy]: MANAGER, [L.kind]: 'controller', [HOLDER]: holder, [RENEWED]: String(now), [TTL]: String(ttlMs) };
  try {
    if (!c) {
      await port.createConfig({ Name: LEASE_NAME, Labels: labels, Data: Buffer.from('bzzz-operator controller lease').toString('base64') });
      return true;
    }
    const cur = c.Spec.Labels ?? {};
    const live = now - Number(cur[RENEWED] ?? 0) < Number(cur[TTL] ?? ttlMs);
    if (live && cur[HOLDER] && cur[HOLDER] !== holder) return false;
    await port.updateConfig(c.ID, c.Version.Index, { Name: c.Spec.Name, Labels: labels, Data: c.Spec.Data });
    return true;
  } catch {
    return false;
  }
}

/** Gives the lease up on clean shutdown so the next apply does not wait for a controller that is gone. */
export async function releaseLease(port: SwarmPort, holder: string): Promise<void> {
  const [c] = await port.listConfigs({ names: [LEASE_NAME] });
  if (!c || c.Spec.Labels?.[HOLDER] !== holder) return;
  await port.updateConfig(c.ID, c.Version.Index, { Name: c.Spec.Name, Labels: { ...c.Spec.Labels, [HOLDER]: '', [RENEWED]: '0' }, Data: c.Spec.Data }).catch(() => undefined);
}
