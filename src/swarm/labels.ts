// Labels and names of every object the operator owns (DESIGN.md conventions). Objects are named
// `<cluster>_<component>` and carry the stack namespace label so `docker stack services <cluster>`
// and `docker stack ps <cluster>` show them.
import { createHash, createHmac } from 'node:crypto';
import type { Labels } from './api-types.js';

export const L = {
  managedBy: 'io.bzzz.managed-by',
  cluster: 'io.bzzz.cluster',
  component: 'io.bzzz.component',
  specHash: 'io.bzzz.spec-hash',
  /** Logical name of a secret/config (its key in spec.secrets / spec.configs). */
  logical: 'io.bzzz.logical',
  /** Content version of a secret/config (hash8). */
  contentHash: 'io.bzzz.content-hash',
  /** How a secret's value came to be: file | env | generated. */
  source: 'io.bzzz.source',
  /** The operator's own state objects: cluster | spec | controller. */
  kind: 'io.bzzz.kind',
  generation: 'io.bzzz.generation',
  observedGeneration: 'io.bzzz.observed-generation',
  status: 'io.bzzz.status',
  stackNamespace: 'com.docker.stack.namespace',
} as const;

export const MANAGER = 'bzzz-operator';

export function ownerLabels(cluster: string, component: string): Labels {
  return {
    [L.managedBy]: MANAGER,
    [L.cluster]: cluster,
    [L.component]: component,
    [L.stackNamespace]: cluster,
  };
}

/** Label filter selecting every object a cluster owns. */
export function ownedBy(cluster: string): string[] {
  return [`${L.managedBy}=${MANAGER}`, `${L.cluster}=${cluster}`];
}

export function objectName(cluster: string, component: string): string {
  return `${cluster}_${component}`;
}

/** `<cluster>_<logical>-<hash8>`: Docker secrets and configs are immutable, so each content version gets its own name. */
export function versionedName(cluster: string, logical: string, hash8: string): string {
  return `${cluster}_${logical}-${hash8}`;
}

/** Version of a config's content: first 8 hex of its SHA-256. */
export function configHash8(content: Uint8Array | string): string {
  return createHash('sha256').update(content).digest('hex').slice(0, 8);
}

/**
 * Version of a secret's value. Keyed with the cluster name (HMAC) rather than a bare hash so the
 * 32 bits in the object name cannot be looked up in a precomputed table of common passwords.
 */
export function secretHash8(cluster: string, logical: string, value: Uint8Array | string): string {
  return createHmac('sha256', `bzzz-secret:${cluster}:${logical}`).update(value).digest('hex').slice(0, 8);
}

/** Stable short hash of any JSON-able value (keys sorted), for spec-hash labels and change detection. */
export function stableHash(value: unknown): string {
  return createHash('sha256').update(stableStringify(value)).digest('hex').slice(0, 16);
}

export function stableStringify(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v as object).sort()) {
      const x = (v as Record<string, unknown>)[k];
      if (x !== undefined) out[k] = sortKeys(x);
    }
    return out;
  }
  return v;
}
