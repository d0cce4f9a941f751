// The manager (controller-runtime's Manager): several controllers — each with its own queue,
// sources and reconciler — and other runnables under one lifecycle, all gated by one leader
// lease. Adding a concern (rollout analysis, backup schedules, rotations, migration phases) is
// `manager.add(...)` of another controller, not a longer pass.
//
//   start ─▶ runnables that run always (HTTP: /healthz answers on a standby too)
//         ─▶ campaign for the lease ─(held)─▶ every controller starts, plus leader-only runnables
//   lost lease ─▶ every controller stops at once; `lost` resolves (the process exits so the
//                 swarm restarts it as a standby)
//   stop / abort ─▶ controllers drain, runnables stop, the lease is released by the caller
import { BzzzError, errorMessage } from '../util/errors.js';
import { silentLogger, type Logger } from '../util/log.js';
import { createController, type Controller, type ControllerOptions } from './controller.js';
import type { LeaderElection } from './leader-election.js';
import type { HealthCheck, HealthReport, Runnable } from './types.js';

export interface ManagerOptions {
  /** Without one, this process is the only writer by construction (tests, one-shot tools). */
  leaderElection?: LeaderElection;
  log?: Logger;
  /** Told when leadership is won or lost (the bzzz_operator_leader gauge). */
  onLeader?(holding: boolean): void;
}

export interface ManagedRunnable extends Runnable {
  /** Runs only while this process holds the lease (default: always, e.g. the HTTP endpoint). */
  leaderOnly?: boolean;
}

export interface Manager {
  /** Adds a controller (before start). Its `name` must be unique; it is the prefix of its health checks. */
  add(options: ControllerOptions & { name: string }): Controller;
  addRunnable(r: ManagedRunnable): void;
  /** Resolves once the first campaign round settled (leading or standing by); runs until stopped. */
  start(signal?: AbortSignal): Promise<void>;
  stop(): Promise<void>;
  /** Resolves with the new holder if the lease this manager held was taken. */
  readonly lost: Promise<string>;
  readonly leading: boolean;
  /** Leading and every controller has listed its keys once. */
  readonly ready: boolean;
  /** A standby is healthy (it waits); a leader is healthy when every controller is. */
  healthy(): HealthReport;
  controller(name: string): Controller | undefined;
}

export function createManager(opts: ManagerOptions = {}): Manager {
  const log = opts.log ?? silentLogger();
  const controllers = new Map<string, Controller>();
  const runnables: ManagedRunnable[] = [];
  const abort = new AbortController();
  let state: 'new' | 'running' | 'stopped' = 'new';
  let leading = false;
  let controllersDone: Promise<unknown> = Promise.resolve();
  let loseTo: (holder: string) => void = () => {};
  const lost = new Promise<string>((resolve) => {
    loseTo = resolve;
  });

  function startRunnables(which: (r: ManagedRunnable) => boolean): void {
    for (const r of runnables.filter(which)) {
      Promise.resolve()
        .then(() => r.start(abort.signal))
        .catch((err: unknown) => log.error({ err: errorMessage(err) }, 'runnable failed to start'));
    }
  }

  function lead(): void {
    if (abort.signal.aborted) return;
    leading = true;
    opts.onLeader?.(true);
    controllersDone = Promise.all([...controllers.values()].map((c) => c.start(abort.signal)));
    startRunnables((r) => r.leaderOnly === true);
  }

  async function stopAll(): Promise<void> {
    abort.abort();
    await controllersDone;
    await Promise.all(
      runnables.map((r) =>
        Promise.resolve()
          .then(() => r.stop?.())
          .catch((err: unknown) => log.warn({ err: errorMessage(err) }, 'runnable failed to stop cleanly')),
      ),
    );
  }

  return {
    add(options) {
      if (state !== 'new') throw new BzzzError(`manager: controller ${options.name} added after start; add every controller first`);
      if (controllers.has(options.name)) throw new BzzzError(`manager: a controller named ${options.name} is already added`);
      const c = createController({ ...options, log: options.log ?? log.child({ controller: options.name }) });
      controllers.set(options.name, c);
      return c;
    },
    addRunnable(r) {
      runnables.push(r);
    },
    async start(signal) {
      if (state !== 'new') throw new BzzzError('manager: start was called twice; create a new manager to run again');
      state = 'running';
      signal?.addEventListener('abort', () => void this.stop(), { once: true });
      startRunnables((r) => r.leaderOnly !== true);
      if (!opts.leaderElection) {
        lead();
        return;
      }
      const campaign = opts.leaderElection.run(abort.signal);
      void campaign.leading.then(lead);
      void campaign.lost.then((holder) => {
        if (abort.signal.aborted) return;
        leading = false;
        opts.onLeader?.(false);
        log.error({ leader: holder }, 'lost the controller lease to another controller: stopping so that only one reconciles');
        void stopAll().then(() => loseTo(holder));
      });
      await campaign.firstRound;
    },
    async stop() {
      if (state === 'stopped') return;
      state = 'stopped';
      leading = false;
      await stopAll();
    },
    lost,
    get leading() {
      return leading;
    },
    get ready() {
      return leading && [...controllers.values()].every((c) => c.ready);
    },
    healthy() {
      if (!leading) {
        const holder = opts.leaderElection?.holder || 'nobody';
        return {
          ok: state === 'running',
          checks: { lease: { ok: state === 'running', detail: `standing by: ${holder} holds the controller lease` } },
        };
      }
      const checks: Record<string, HealthCheck> = {};
      for (const [name, c] of controllers) {
        for (const [check, result] of Object.entries(c.healthy().checks)) checks[`${name}.${check}`] = result;
      }
      return { ok: Object.values(checks).every((c) => c.ok), checks };
    },
    controller: (name) => controllers.get(name),
  };
}
