// Normalisation before comparing (STYLE.md, docker/cli): a service spec, desired or observed, is
// projected onto the fields the operator owns, in a canonical form — lists sorted, references
// by name (not ID), the engine's pinned image digest dropped, zero values omitted as the engine
// omits them. Two specs that mean the same project to the same value.
import type { Network, ServiceSpec } from '../swarm/api-types.js';
import { stableStringify } from '../swarm/labels.js';
import { OWNER_LABEL } from '../swarm/ownership.js';
import { compareStrings } from '../util/compare.js';

export type Projection = Record<string, unknown>;

export interface ProjectionContext {
  /** Network ID → name, for observed specs (the engine answers with IDs). */
  networkName?: (idOrName: string) => string;
}

/** `repo:tag@sha256:…` → `repo:tag`: the engine (or the CLI) may pin a digest; we never ask for one. */
export function stripDigest(image: string): string {
  const at = image.indexOf('@');
  return at === -1 ? image : image.slice(0, at);
}

/** Network ID → name (the engine reports service attachments by ID); unknown IDs stay as they are. */
export function networkNamer(networks: Network[]): (idOrName: string) => string {
  const m = new Map(networks.map((n) => [n.Id, n.Name]));
  return (x) => m.get(x) ?? x;
}

/** The ownership proof is added at write time (src/swarm/ownership.ts), not part of what is desired. */
function withoutProof(labels: Record<string, string> | undefined): Record<string, string> {
  const { [OWNER_LABEL]: _proof, ...rest } = labels ?? {};
  return rest;
}

export function projectService(spec: ServiceSpec, ctx: ProjectionContext = {}): Projection {
  const t = spec.TaskTemplate ?? ({} as ServiceSpec['TaskTemplate']);
  const c = t.ContainerSpec ?? ({ Image: '' } as ServiceSpec['TaskTemplate']['ContainerSpec']);
  const netName = ctx.networkName ?? ((x: string) => x);
  const p: Projection = {
    labels: withoutProof(spec.Labels),
    image: stripDigest(c.Image),
    user: c.User,
    command: c.Command,
    args: c.Args,
    env: [...(c.Env ?? [])].sort(),
    containerLabels: c.Labels ?? {},
    mounts: (c.Mounts ?? [])
      .map((m) => ({
        type: m.Type,
        source: m.Source,
        target: m.Target,
        readOnly: m.ReadOnly,
        volumeLabels: m.VolumeOptions?.Labels && withoutProof(m.VolumeOptions.Labels),
      }))
      .sort((a, b) => compareStrings(a.target, b.target)),
    stopGracePeriod: c.StopGracePeriod,
    healthcheck: c.Healthcheck,
    secrets: (c.Secrets ?? [])
      .map((s) => ({ name: s.SecretName, file: s.File.Name, uid: s.File.UID, gid: s.File.GID, mode: s.File.Mode }))
      .sort((a, b) => compareStrings(a.file, b.file)),
    configs: (c.Configs ?? [])
      .map((s) => ({ name: s.ConfigName, file: s.File?.Name, uid: s.File?.UID, gid: s.File?.GID, mode: s.File?.Mode }))
      .sort((a, b) => compareStrings(String(a.file), String(b.file))),
    resources: t.Resources,
    constraints: [...(t.Placement?.Constraints ?? [])].sort(),
    preferences: t.Placement?.Preferences,
    maxReplicasPerNode: t.Placement?.MaxReplicas,
    networks: (t.Networks ?? [])
      .map((n) => ({ name: netName(n.Target), aliases: [...(n.Aliases ?? [])].sort() }))
      .sort((a, b) => compareStrings(a.name, b.name)),
    replicas: spec.Mode?.Replicated ? spec.Mode.Replicated.Replicas : 'global',
    update: spec.UpdateConfig,
    rollback: spec.RollbackConfig,
    endpointMode: spec.EndpointSpec?.Mode ?? 'vip',
    ports: (spec.EndpointSpec?.Ports ?? [])
      .map((x) => ({ protocol: x.Protocol, target: x.TargetPort, published: x.PublishedPort, mode: x.PublishMode ?? 'ingress' }))
      .sort((a, b) => (a.published ?? 0) - (b.published ?? 0) || a.target - b.target),
  };
  return omitZero(p) as Projection;
}

/** Recursively drops undefined, null, 0, '', false, [] and {} (the engine's `omitempty`), except at the top level for `replicas`. */
function omitZero(v: unknown, top = true): unknown {
  if (Array.isArray(v)) return v.map((x) => omitZero(x, false));
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      if (top && k === 'replicas') {
        out[k] = x;
        continue;
      }
      const y = omitZero(x, false);
      if (isZero(y)) continue;
      out[k] = y;
    }
    return out;
  }
  return v;
}

function isZero(v: unknown): boolean {
  if (v === undefined || v === null || v === 0 || v === '' || v === false) return true;
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === 'object') return Object.keys(v as object).length === 0;
  return false;
}

export interface FieldChange {
  field: string;
  from: unknown;
  to: unknown;
}

/** Field-level differences between two projections (observed → desired), in a stable order. */
export function diffProjections(observed: Projection, desired: Projection): FieldChange[] {
  const keys = [...new Set([...Object.keys(observed), ...Object.keys(desired)])].sort();
  const out: FieldChange[] = [];
  for (const k of keys) {
    if (k === 'labels') {
      out.push(
        ...diffRecords(
          'labels',
          observed.labels as Record<string, string> | undefined,
          desired.labels as Record<string, string> | undefined,
        ),
      );
      continue;
    }
    if (stableStringify(observed[k]) !== stableStringify(desired[k])) out.push({ field: k, from: observed[k], to: desired[k] });
  }
  return out;
}

function diffRecords(prefix: string, a: Record<string, string> = {}, b: Record<string, string> = {}): FieldChange[] {
  const out: FieldChange[] = [];
  for (const k of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
    if (a[k] !== b[k]) out.push({ field: `${prefix}.${k}`, from: a[k], to: b[k] });
  }
  return out;
}
