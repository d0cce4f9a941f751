// The keys controller's reconciler: per pass, every item the spec rotates (rotation.ts) is read
// from the journal (<cluster>_bzzz-rotation), its next step decided (rotation-decide.ts, pure)
// and run. Each step is written to the journal after it ran; a controller killed mid-step finds
// the step again and runs it again, which is safe because every step is idempotent:
//   stage        new value (in memory only), its Docker secret (labelled with the run, not mounted
//                yet), applied at the consumer — postgres: the idle login's password (a SCRAM
//                verifier, never the clear value) — then the journal says `roll`. A controller
//                that died here lost the value: it removes that staged version and stages anew.
//   roll         the cluster reconciler now mounts the new version and rolls the consumers per
//                their update policy; this waits until no running task mounts another version.
//   retire-login postgres: the old login gets NOLOGIN (its open sessions end on their own).
//   grace        the old version stays for the grace period.
//   remove-old   the old Docker secret is removed; the item records the new version and its time.
// Secret values live only in this process's memory between `stage` and the secret's creation.
import { randomUUID } from 'node:crypto';
import type { ClusterStore } from '../store/cluster-store.js';
import type { RotationStore } from '../store/rotation-store.js';
import type { Secret } from '../swarm/api-types.js';
import type { SwarmPort } from '../swarm/port.js';
import { L, ownedBy, secretHash8, versionedName } from '../swarm/labels.js';
import { provingPort } from '../swarm/ownership.js';
import {
  emptyRotationState,
  rotationItems,
  type RotationItem,
  type RotationItemId,
  type RotationItemState,
  type RotationState,
  type SecretRotationRun,
} from '../spec/rotation.js';
import type { BzzzCluster } from '../spec/types.js';
import { errorMessage } from '../util/errors.js';
import { logger, type Logger } from '../util/log.js';
import { compareStrings } from '../util/compare.js';
import { decideSecretRotation, nextLogin, type SecretDecision } from './rotation-decide.js';
import { consumersOf, mounts } from './rotation-consumers.js';
import { generateValue, secretLabels, STAGED_LABEL } from './secrets.js';
import type { ReconcileResult, Reconciler } from './reconciler.js';
import { keyItemsStatus } from './rotation-keys.js';

/** Sets and disables PostgreSQL logins in the cluster's running postgres task. */
export interface PostgresLogins {
  /** Create the login role (or set its password) with LOGIN, granted `memberOf` (default: the database owner). */
  setLogin(o: { cluster: BzzzCluster; login: string; password: string; memberOf?: string; signal?: AbortSignal }): Promise<void>;
  /** NOLOGIN: new connections with it are refused; sessions already open go on. */
  disableLogin(o: { cluster: BzzzCluster; login: string; signal?: AbortSignal }): Promise<void>;
}

export type RotationEvent =
  | { kind: 'started'; item: RotationItemId; cause: string }
  | { kind: 'succeeded'; item: RotationItemId; durationMs: number }
  | { kind: 'failed'; item: RotationItemId; step: string; error: string }
  | { kind: 'overdue'; item: RotationItemId; dueAt: string };

export interface RotationReconcilerOptions {
  port: SwarmPort;
  store: ClusterStore;
  rotations: RotationStore;
  postgres?: PostgresLogins;
  log?: Logger;
  now?: () => number;
  /** Told of each start, end and failure (metrics, Slack). */
  onEvent?(cluster: string, e: RotationEvent): void;
  /** Longest wait between passes while a run is under way. */
  pollMs?: number;
}

/** Passes run this often at least while any run is under way; idle clusters wake for their next due time. */
const DEFAULT_POLL_MS = 2000;
const MAX_IDLE_MS = 10 * 60_000;
/** A roll waited this long is reported (it goes on waiting: the old value stays valid meanwhile). */
const ROLL_STALL_MS = 10 * 60_000;

export function createRotationReconciler(o: RotationReconcilerOptions): Reconciler {
  const log = o.log ?? logger('rotation');
  const now = o.now ?? Date.now;
  const pollMs = o.pollMs ?? DEFAULT_POLL_MS;
  /** Values staged by this process, by run id: gone on restart, which `stage` handles. */
  const staged = new Map<string, { secret: string; value: string; password: string }>();

  async function reconcile(cluster: string, signal: AbortSignal): Promise<ReconcileResult> {
    const rec = await o.store.get(cluster);
    if (!rec) return {};
    const { cluster: spec } = await o.store.getSpec(cluster, rec.generation);
    const items = rotationItems(spec);
    if (items.length === 0) return {};
    const port = rec.ownerKey ? provingPort(o.port, cluster, rec.ownerKey) : o.port;
    const [secrets, services] = await Promise.all([
      o.port.listSecrets({ labels: ownedBy(cluster) }),
      o.port.listServices({ labels: ownedBy(cluster) }),
    ]);
    const tasks = services.length ? await o.port.listTasks({ services: services.map((s) => s.ID) }) : [];
    let state = (await o.rotations.get(cluster)) ?? emptyRotationState();
    let wakeMs = MAX_IDLE_MS;
    let writes = 0;

    const save = async (id: RotationItemId, change: (cur: RotationItemState | undefined) => RotationItemState | undefined) => {
      const r = await o.rotations.update(cluster, (cur) => {
        const base = cur ?? emptyRotationState();
        const next = change(base.items[id]);
        if (next === undefined) return undefined;
        return { ...base, items: { ...base.items, [id]: next } } satisfies RotationState;
      });
      if (r.written) writes++;
      if (r.state) state = r.state;
    };

    // Role keys and the admin key: their age and schedule are recorded (rotation-keys.ts).
    const keyUpdates = keyItemsStatus(cluster, items, state, secrets, now());
    for (const d of keyUpdates.overdue) o.onEvent?.(cluster, { kind: 'overdue', item: d.id, dueAt: new Date(d.dueAt).toISOString() });
    wakeMs = Math.min(wakeMs, keyUpdates.wakeMs);

    for (const item of items) {
      if (!item.secret || signal.aborted) continue;
      const logical = item.secret.logical;
      const versions = secrets.filter((s) => s.Spec.Labels?.[L.logical] === logical && s.Spec.Labels?.[L.source] === 'generated');
      const itemState = state.items[item.id];
      const decision = decideSecretRotation({
        now: now(),
        cluster,
        item,
        state: itemState,
        mounted: mountedVersion(versions, itemState),
        versions: new Set(versions.map((v) => v.Spec.Name)),
        consumers: consumersOf(logical, versions, services, tasks),
        jitter: spec.spec.keys?.rotation?.jitter,
      });
      const rolling = itemState?.run;
      if (decision.kind === 'wait' && rolling?.step === 'roll' && now() - Date.parse(rolling.stepStartedAt) > ROLL_STALL_MS) {
        // Still waiting, as it must (the old value stays valid), but someone should look: a paused
        // update, a task that cannot start. Recorded as the run's error, so status and Slack say so.
        const error = `the consumers have not rolled for ${Math.round((now() - Date.parse(rolling.stepStartedAt)) / 60_000)} min: ${decision.reason}`;
        if (rolling.lastError?.replace(/\d+ min/, '') !== error.replace(/\d+ min/, '')) {
          o.onEvent?.(cluster, { kind: 'failed', item: item.id, step: 'roll', error });
          await save(item.id, (cur) => (cur?.run?.id === rolling.id ? { ...cur, run: { ...cur.run, lastError: error } } : undefined));
        }
      }
      try {
        const wait = await act(cluster, spec, item, decision, versions, port, save, signal);
        wakeMs = Math.min(wakeMs, wait);
      } catch (err) {
        const run = state.items[item.id]?.run;
        const error = errorMessage(err);
        log.warn({ cluster, item: item.id, step: run?.step, err: error }, 'rotation step failed; it is retried');
        o.onEvent?.(cluster, { kind: 'failed', item: item.id, step: run?.step ?? decision.kind, error });
        await save(item.id, (cur) =>
          cur?.run
            ? {
                ...cur,
                failures: (cur.failures ?? 0) + 1,
                last: { outcome: 'failed', at: new Date(now()).toISOString(), detail: `${cur.run.step}: ${error}` },
                run: { ...cur.run, attempts: cur.run.attempts + 1, lastError: error },
              }
            : undefined,
        );
        wakeMs = Math.min(wakeMs, Math.min(60_000, pollMs * 2 ** Math.min(5, state.items[item.id]?.failures ?? 1)));
      }
    }
    return { requeueAfterMs: Math.max(200, wakeMs), writes };
  }

  /** Runs one decision; returns how soon the item wants another pass. */
  async function act(
    cluster: string,
    spec: BzzzCluster,
    item: RotationItem,
    d: SecretDecision,
    versions: Secret[],
    port: SwarmPort,
    save: (id: RotationItemId, change: (cur: RotationItemState | undefined) => RotationItemState | undefined) => Promise<void>,
    signal: AbortSignal,
  ): Promise<number> {
    const at = () => new Date(now()).toISOString();
    const rotate = item.secret!.rotate;
    const logical = item.secret!.logical;
    const move = (run: SecretRotationRun, step: SecretRotationRun['step'], extra: Partial<SecretRotationRun> = {}) =>
      save(item.id, (cur) =>
        cur?.run?.id === run.id && cur.run.step === run.step
          ? { ...cur, run: { ...withoutError(cur.run), ...extra, step, stepStartedAt: at() } }
          : undefined,
      );
    switch (d.kind) {
      case 'idle':
        return d.nextAt === undefined ? MAX_IDLE_MS : Math.max(0, d.nextAt - now());
      case 'wait':
        return d.untilMs === undefined ? pollMs : Math.max(0, Math.min(pollMs * 5, d.untilMs - now()));
      case 'init':
        await save(item.id, (cur) => cur ?? d.state);
        return 0;
      case 'start': {
        const id = randomUUID();
        await save(item.id, (cur) => {
          if (!cur || cur.run) return undefined;
          const { requested: _r, ...rest } = cur;
          return {
            ...rest,
            run: {
              id,
              step: 'stage',
              startedAt: at(),
              stepStartedAt: at(),
              cause: d.cause,
              ...(cur.current ? { previous: { secret: cur.current, ...(cur.login ? { login: cur.login } : {}) } } : {}),
              attempts: 0,
            },
          };
        });
        log.info({ cluster, item: item.id, cause: d.cause }, 'rotation started');
        o.onEvent?.(cluster, { kind: 'started', item: item.id, cause: d.cause });
        return 0;
      }
      case 'stage': {
        const run = d.run;
        let mine = staged.get(run.id);
        if (!mine || mine.secret !== run.next?.secret) {
          // Nothing of this run in memory (a restart, or a fresh run): stage a new value. A
          // version an earlier try made is not mounted by anyone yet: remove it first.
          for (const v of versions.filter((v) => v.Spec.Labels?.[STAGED_LABEL] === run.id)) await port.removeSecret(v.ID);
          const login =
            rotate.consumer.type === 'postgres'
              ? nextLogin(rotate.consumer.login ?? pgIdentifier(logical), run.previous?.login)
              : undefined;
          const password = generateValue({ length: spec.spec.secrets?.[logical]?.generate?.length ?? 32, encoding: 'alphanumeric' });
          const value = login ? `user=${login} password=${password}` : generateValue(spec.spec.secrets?.[logical]?.generate ?? {});
          const name = versionedName(cluster, logical, secretHash8(cluster, logical, value));
          mine = { secret: name, value, password };
          // Journal the name first: the cluster reconciler keeps a version the journal names.
          await save(item.id, (cur) =>
            cur?.run?.id === run.id ? { ...cur, run: { ...cur.run, next: { secret: name, ...(login ? { login } : {}) } } } : undefined,
          );
          await port.createSecret({
            Name: name,
            Labels: { ...secretLabels(cluster, logical, secretHash8(cluster, logical, value), 'generated'), [STAGED_LABEL]: run.id },
            Data: Buffer.from(value).toString('base64'),
          });
          staged.set(run.id, mine);
        }
        const current = (await o.rotations.get(cluster))?.items[item.id]?.run;
        if (rotate.consumer.type === 'postgres') {
          if (!o.postgres) throw new Error('no PostgreSQL access in this controller: it runs without the exec door to the postgres task');
          await o.postgres.setLogin({
            cluster: spec,
            login: current?.next?.login ?? '',
            password: mine.password,
            ...(rotate.consumer.memberOf ? { memberOf: rotate.consumer.memberOf } : {}),
            signal,
          });
        }
        if (current) await move(current, 'roll');
        staged.delete(run.id);
        log.info({ cluster, item: item.id, version: mine.secret }, 'new version staged and accepted by the consumer; rolling the services');
        return 0;
      }
      case 'advance':
        await move(d.run, d.to, d.rolledAt ? { rolledAt: d.rolledAt } : {});
        return 0;
      case 'retire-login': {
        if (!o.postgres) throw new Error('no PostgreSQL access in this controller: it runs without the exec door to the postgres task');
        await o.postgres.disableLogin({ cluster: spec, login: d.run.previous!.login!, signal });
        await move(d.run, 'grace');
        log.info({ cluster, item: item.id, login: d.run.previous?.login }, 'old login disabled: every consumer task runs the new one');
        return 0;
      }
      case 'remove-old': {
        const run = d.run;
        const old = run.previous?.secret;
        const inUse = old !== undefined && (await o.port.listServices({ labels: ownedBy(cluster) })).some((s) => mounts(s, old));
        if (old && !inUse) {
          const v = versions.find((x) => x.Spec.Name === old);
          if (v) await port.removeSecret(v.ID);
        }
        const started = Date.parse(run.startedAt);
        await save(item.id, (cur) => {
          if (cur?.run?.id !== run.id) return undefined;
          const { run: _run, failures: _f, ...rest } = cur;
          return {
            ...rest,
            since: at(),
            ...(run.next ? { current: run.next.secret } : {}),
            ...(run.next?.login ? { login: run.next.login } : {}),
            last: { outcome: 'succeeded', at: at(), detail: `${run.cause} rotation` },
          };
        });
        log.info({ cluster, item: item.id, version: run.next?.secret }, 'rotation done');
        o.onEvent?.(cluster, { kind: 'succeeded', item: item.id, durationMs: now() - started });
        return 0;
      }
    }
  }

  return { reconcile };
}

/** A step that moved on is no longer failing. */
function withoutError(run: SecretRotationRun): SecretRotationRun {
  const { lastError: _e, ...rest } = run;
  return rest;
}

/** The version the services mount: the journal's current one, or the newest not staged by a run. */
function mountedVersion(versions: Secret[], state: RotationItemState | undefined): { name: string; createdAt: string } | undefined {
  const pinned = state?.run && state.run.step !== 'stage' ? state.run.next?.secret : state?.current;
  const v =
    versions.find((x) => x.Spec.Name === pinned) ??
    [...versions].filter((x) => !x.Spec.Labels?.[STAGED_LABEL]).sort((a, b) => compareStrings(b.CreatedAt, a.CreatedAt))[0];
  return v ? { name: v.Spec.Name, createdAt: v.CreatedAt } : undefined;
}

/** A PostgreSQL identifier from a logical secret name (postgres_app → postgres_app). */
export function pgIdentifier(logical: string): string {
  const id = logical.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  return /^[a-z_]/.test(id) ? id.slice(0, 40) : `_${id.slice(0, 39)}`;
}
