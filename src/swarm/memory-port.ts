// An in-memory SwarmPort that behaves like Docker Engine 20.10 in swarm mode wherever a
// reconciler can observe it, for decision tests that run in milliseconds:
//   - one global version index, raised by every write (swarmkit's Raft index), CreatedAt and
//     UpdatedAt from an injected clock, IDs shaped like swarmkit's and deterministic per seed;
//   - version-checked updates: a stale version is refused with "update out of sequence";
//   - names unique per kind; configs only change labels; secret data never read back;
//   - a secret, config or network in use by a service cannot be removed, nor a volume a
//     running task mounts; services refer to secrets and configs by ID and to networks by ID,
//     as the engine stores them; image references are checked; PreviousSpec and UpdateStatus
//     are kept as the engine keeps them (memory/tasks.ts: tasks and rolling updates).
// Every refusal is the engine's own answer passed through the docker port's translate(), so
// callers see the same error classes and messages; test/integration/port-contract.test.ts runs
// the same scenarios against both ports to keep it so. It is for decisions, not a substitute
// for the engine: scheduling, networking, images and timing are the real engine's to prove.
import type {
  Config,
  ConfigSpec,
  EngineInfo,
  Labels,
  Network,
  NetworkCreate,
  Secret,
  SecretSpec,
  Service,
  ServiceSpec,
  SwarmNode,
  Task,
  Volume,
} from './api-types.js';
import { WRITE_METHODS, type LabelFilter, type SwarmPort, type WriteCounter } from './port.js';
import { type EngineFailure, engine, engineError, idMaker, isValidImageReference, matchesLabels } from './memory/rules.js';
import { TaskModel, type TaskOutcome, type TaskOutcomeHook } from './memory/tasks.js';
import { stableStringify } from './labels.js';

export type { EngineFailure } from './memory/rules.js';
export type { TaskOutcome, TaskOutcomeHook } from './memory/tasks.js';

export interface MemorySwarmPortOptions {
  /** The engine's clock, for CreatedAt/UpdatedAt/Timestamp (default: the wall clock). */
  now?: () => Date;
  /** Seed of the generated IDs: the same seed and the same calls give the same IDs. */
  seed?: string;
  /** The one (manager) node. */
  hostname?: string;
  nodeLabels?: Labels;
  /** How new tasks end up (default: running). */
  taskOutcome?: TaskOutcomeHook;
}

export type SwarmMethod = Exclude<keyof SwarmPort, symbol>;

export interface MemorySwarmPort extends SwarmPort, WriteCounter {
  /** The swarm's version index now (the Version.Index the next write would exceed). */
  readonly index: number;
  /** The next call of `method` fails: with this engine answer (translated as the docker port does), or with this error as is. */
  failNext(method: SwarmMethod, failure: EngineFailure | Error): void;
  /** Runs `fn` (another writer, say) just before the next call of `method` does its work: races made to happen every time. */
  beforeNext(method: SwarmMethod, fn: () => void | Promise<void>): void;
  /** Moves the current tasks of a service (by name or ID) to a state, as if they started, failed or stayed pending. */
  setTaskStates(service: string, outcome: TaskOutcome): void;
  /** Forgets the writes so far (after a test's own setup writes). */
  clearWriteLog(): void;
}

export function createMemorySwarmPort(opts: MemorySwarmPortOptions = {}): MemorySwarmPort {
  return new InMemorySwarmPort(opts);
}

class InMemorySwarmPort implements MemorySwarmPort {
  private version = 0;
  private readonly log: string[] = [];
  private readonly failures = new Map<SwarmMethod, Array<EngineFailure | Error>>();
  private readonly hooks = new Map<SwarmMethod, Array<() => void | Promise<void>>>();
  private readonly ids: ReturnType<typeof idMaker>;
  private readonly clock: () => Date;
  private readonly node: SwarmNode;
  private readonly tasks: TaskModel;
  private readonly services = new Map<string, Service>();
  private readonly secrets = new Map<string, Secret>();
  private readonly configs = new Map<string, Config>();
  private readonly networks = new Map<string, Network>();
  private readonly volumes = new Map<string, Volume>();

  constructor(opts: MemorySwarmPortOptions) {
    this.ids = idMaker(opts.seed ?? 'memory-swarm');
    this.clock = opts.now ?? (() => new Date());
    this.node = {
      ID: this.ids.next(),
      Description: { Hostname: opts.hostname ?? 'node-1' },
      Spec: { Role: 'manager', Availability: 'active', Labels: { ...(opts.nodeLabels ?? {}) } },
      Status: { State: 'ready', Addr: '127.0.0.1' },
    };
    this.tasks = new TaskModel({ ids: this.ids, now: () => this.now(), node: this.node, outcome: opts.taskOutcome });
    // The networks every swarm node has; none carries labels, so label-filtered lists never see them.
    this.addNetwork({ Name: 'ingress', Driver: 'overlay', Scope: 'swarm', Internal: false, Attachable: false, Labels: null });
    for (const [name, driver] of [
      ['bridge', 'bridge'],
      ['docker_gwbridge', 'bridge'],
      ['host', 'host'],
      ['none', 'null'],
    ])
      this.addNetwork(
        { Name: name, Driver: driver, Scope: 'local', Internal: false, Attachable: false, Labels: null },
        this.ids.container(),
      );
  }

  get writes(): number {
    return this.log.length;
  }
  get writeLog(): readonly string[] {
    return this.log;
  }
  get index(): number {
    return this.version;
  }

  failNext(method: SwarmMethod, failure: EngineFailure | Error): void {
    this.failures.set(method, [...(this.failures.get(method) ?? []), failure]);
  }

  beforeNext(method: SwarmMethod, fn: () => void | Promise<void>): void {
    this.hooks.set(method, [...(this.hooks.get(method) ?? []), fn]);
  }

  setTaskStates(service: string, outcome: TaskOutcome): void {
    const svc = this.find(this.services, service, (s) => s.Spec.Name);
    if (!svc) throw engineError('set task states', service, engine.notFound('service', service));
    if (this.tasks.setStates(svc, outcome)) this.bump(svc);
    this.createMountedVolumes(svc);
  }

  clearWriteLog(): void {
    this.log.length = 0;
  }

  async info(): Promise<EngineInfo> {
    await this.enter('info', 'engine', 'engine');
    return { serverVersion: '20.10.24', apiVersion: '1.41', swarmActive: true, isManager: true, nodeId: this.node.ID };
  }

  // ── services ────────────────────────────────────────────────────────────────────────────────

  async listServices(f?: LabelFilter): Promise<Service[]> {
    await this.enter('listServices', 'list services', '');
    return this.select(
      [...this.services.values()],
      f,
      (s) => s.Spec.Name,
      (s) => s.Spec.Labels,
    );
  }

  async createService(spec: ServiceSpec): Promise<string> {
    await this.enter('createService', 'create service', spec.Name);
    const fail = (e: EngineFailure) => engineError('create service', spec.Name, e);
    if ([...this.services.values()].some((s) => s.Spec.Name === spec.Name)) throw fail(engine.serviceNameConflict(spec.Name));
    const stored = this.normaliseService(spec, fail);
    const now = this.now();
    const svc: Service = {
      ID: this.ids.next(),
      Version: { Index: ++this.version },
      CreatedAt: now,
      UpdatedAt: now,
      Spec: stored,
      Endpoint: {},
    };
    this.services.set(svc.ID, svc);
    this.tasks.converge(svc);
    this.createMountedVolumes(svc);
    return svc.ID;
  }

  async updateService(id: string, version: number, spec: ServiceSpec): Promise<void> {
    await this.enter('updateService', 'update service', spec.Name, spec.Name);
    const fail = (e: EngineFailure) => engineError('update service', spec.Name, e);
    const svc = this.find(this.services, id, (s) => s.Spec.Name);
    if (!svc) throw fail(engine.notFound('service', id));
    if (version !== svc.Version.Index) throw fail(engine.outOfSequence());
    if (spec.Name !== svc.Spec.Name) throw fail(engine.noRename());
    const stored = this.normaliseService(spec, fail);
    const templateChanged = stableStringify(stored.TaskTemplate) !== stableStringify(svc.Spec.TaskTemplate);
    svc.PreviousSpec = svc.Spec;
    svc.Spec = stored;
    // Every update clears the last update's status; a new task template starts a rolling update.
    delete svc.UpdateStatus;
    if (templateChanged) svc.UpdateStatus = { State: 'updating', StartedAt: this.now(), Message: 'update in progress' };
    this.bump(svc);
    this.tasks.converge(svc);
    this.createMountedVolumes(svc);
  }

  async removeService(id: string): Promise<void> {
    await this.enter(
      'removeService',
      'remove service',
      id,
      this.nameOf(this.services, id, (s) => s.Spec.Name),
    );
    const svc = this.find(this.services, id, (s) => s.Spec.Name);
    if (!svc) throw engineError('remove service', id, engine.notFound('service', id));
    this.services.delete(svc.ID);
    this.tasks.removeService(svc.ID);
    this.version++;
  }

  async listTasks(f: { services?: string[]; labels?: string[] }): Promise<Task[]> {
    await this.enter('listTasks', 'list tasks', '');
    // The engine's `service` filter takes IDs or names; its `label` filter matches the service's labels.
    const wanted = f.services?.length
      ? new Set(f.services.map((s) => this.find(this.services, s, (x) => x.Spec.Name)?.ID).filter((x): x is string => !!x))
      : undefined;
    return this.tasks.list((t) => {
      if (wanted && !wanted.has(t.ServiceID)) return false;
      return matchesLabels(this.services.get(t.ServiceID)?.Spec.Labels, f.labels);
    });
  }

  async listNodes(): Promise<SwarmNode[]> {
    await this.enter('listNodes', 'list nodes', '');
    return [structuredClone(this.node)];
  }

  // ── secrets ─────────────────────────────────────────────────────────────────────────────────

  async listSecrets(f?: LabelFilter): Promise<Secret[]> {
    await this.enter('listSecrets', 'list secrets', '');
    // The engine never returns a secret's data.
    return this.select(
      [...this.secrets.values()],
      f,
      (s) => s.Spec.Name,
      (s) => s.Spec.Labels,
    ).map(withoutData);
  }

  async createSecret(spec: SecretSpec): Promise<string> {
    await this.enter('createSecret', 'create secret', spec.Name);
    if ([...this.secrets.values()].some((s) => s.Spec.Name === spec.Name))
      throw engineError('create secret', spec.Name, engine.alreadyExists('secret', spec.Name));
    const secret: Secret = { ID: this.ids.next(), Version: { Index: ++this.version }, CreatedAt: this.now(), Spec: cloneLabelled(spec) };
    this.secrets.set(secret.ID, secret);
    return secret.ID;
  }

  async removeSecret(id: string): Promise<void> {
    await this.enter(
      'removeSecret',
      'remove secret',
      id,
      this.nameOf(this.secrets, id, (s) => s.Spec.Name),
    );
    const secret = this.find(this.secrets, id, (s) => s.Spec.Name);
    if (!secret) throw engineError('remove secret', id, engine.notFound('secret', id));
    const users = this.servicesUsing((c) => c.Secrets?.some((r) => r.SecretID === secret.ID));
    if (users.length) throw engineError('remove secret', id, engine.inUseByService('secret', secret.Spec.Name, users));
    this.secrets.delete(secret.ID);
    this.version++;
  }

  // ── configs ─────────────────────────────────────────────────────────────────────────────────

  async listConfigs(f?: LabelFilter): Promise<Config[]> {
    await this.enter('listConfigs', 'list configs', '');
    return this.select(
      [...this.configs.values()],
      f,
      (c) => c.Spec.Name,
      (c) => c.Spec.Labels,
    );
  }

  async inspectConfig(id: string): Promise<Config> {
    await this.enter('inspectConfig', 'inspect config', id);
    const config = this.find(this.configs, id, (c) => c.Spec.Name);
    if (!config) throw engineError('inspect config', id, engine.notFound('config', id));
    return structuredClone(config);
  }

  async createConfig(spec: ConfigSpec): Promise<string> {
    await this.enter('createConfig', 'create config', spec.Name);
    if ([...this.configs.values()].some((c) => c.Spec.Name === spec.Name))
      throw engineError('create config', spec.Name, engine.alreadyExists('config', spec.Name));
    const now = this.now();
    const config: Config = {
      ID: this.ids.next(),
      Version: { Index: ++this.version },
      CreatedAt: now,
      UpdatedAt: now,
      Spec: cloneLabelled(spec),
    };
    this.configs.set(config.ID, config);
    return config.ID;
  }

  async updateConfig(id: string, version: number, spec: ConfigSpec): Promise<void> {
    await this.enter('updateConfig', 'update config', spec.Name, spec.Name);
    const fail = (e: EngineFailure) => engineError('update config', spec.Name, e);
    const config = this.find(this.configs, id, (c) => c.Spec.Name);
    if (!config) throw fail(engine.notFound('config', id));
    if (version !== config.Version.Index) throw fail(engine.outOfSequence());
    // The engine takes an update without data (it keeps its own), but refuses other data or another name.
    if (spec.Name !== config.Spec.Name || (spec.Data !== undefined && spec.Data !== config.Spec.Data)) throw fail(engine.onlyLabels());
    // Labels are replaced as a whole, not merged.
    config.Spec = { ...config.Spec, Labels: { ...(spec.Labels ?? {}) } };
    this.bump(config);
  }

  async removeConfig(id: string): Promise<void> {
    await this.enter(
      'removeConfig',
      'remove config',
      id,
      this.nameOf(this.configs, id, (c) => c.Spec.Name),
    );
    const config = this.find(this.configs, id, (c) => c.Spec.Name);
    if (!config) throw engineError('remove config', id, engine.notFound('config', id));
    const users = this.servicesUsing((c) => c.Configs?.some((r) => r.ConfigID === config.ID));
    if (users.length) throw engineError('remove config', id, engine.inUseByService('config', config.Spec.Name, users));
    this.configs.delete(config.ID);
    this.version++;
  }

  // ── networks and volumes ────────────────────────────────────────────────────────────────────

  async listNetworks(f?: LabelFilter): Promise<Network[]> {
    await this.enter('listNetworks', 'list networks', '');
    return this.select(
      [...this.networks.values()],
      f,
      (n) => n.Name,
      (n) => n.Labels,
    );
  }

  async createNetwork(spec: NetworkCreate): Promise<string> {
    await this.enter('createNetwork', 'create network', spec.Name);
    if ([...this.networks.values()].some((n) => n.Name === spec.Name))
      throw engineError('create network', spec.Name, engine.networkNameConflict(spec.Name));
    return this.addNetwork({
      Name: spec.Name,
      Driver: spec.Driver,
      Scope: spec.Driver === 'overlay' ? 'swarm' : 'local',
      Internal: spec.Internal ?? false,
      Attachable: spec.Attachable ?? false,
      Options: { ...(spec.Options ?? {}) },
      Labels: { ...(spec.Labels ?? {}) },
    });
  }

  async removeNetwork(id: string): Promise<void> {
    await this.enter(
      'removeNetwork',
      'remove network',
      id,
      this.nameOf(this.networks, id, (n) => n.Name),
    );
    const network = this.find(this.networks, id, (n) => n.Name);
    if (!network) throw engineError('remove network', id, engine.notFound('network', id));
    const user = [...this.services.values()].find((s) => s.Spec.TaskTemplate.Networks?.some((n) => n.Target === network.Id));
    if (user) throw engineError('remove network', id, engine.networkInUse(network.Id, user.ID));
    this.networks.delete(network.Id);
    this.version++;
  }

  async listVolumes(f?: LabelFilter): Promise<Volume[]> {
    await this.enter('listVolumes', 'list volumes', '');
    return this.select(
      [...this.volumes.values()],
      f,
      (v) => v.Name,
      (v) => v.Labels,
    );
  }

  async removeVolume(name: string): Promise<void> {
    await this.enter('removeVolume', 'remove volume', name, name);
    if (!this.volumes.has(name)) throw engineError('remove volume', name, engine.volumeNotFound(name));
    const users = this.tasks.containersUsingVolume(name);
    if (users.length) throw engineError('remove volume', name, engine.volumeInUse(name, users));
    this.volumes.delete(name);
  }

  // ── the engine's bookkeeping ────────────────────────────────────────────────────────────────

  /**
   * The start of every call: logs a write (before it can fail, as countingPort does), yields
   * once so parallel calls interleave as they do over HTTP, runs a test's interleaved writer,
   * and throws an injected failure.
   */
  private async enter(method: SwarmMethod, call: string, target: string, logName = target): Promise<void> {
    if (WRITE_METHODS.has(method)) this.log.push(`${method} ${logName}`);
    await Promise.resolve();
    const hook = this.hooks.get(method)?.shift();
    if (hook) await hook();
    const failure = this.failures.get(method)?.shift();
    if (failure) throw failure instanceof Error ? failure : engineError(call, target, failure);
  }

  private now(): string {
    return this.clock().toISOString();
  }

  private bump(o: { Version: { Index: number }; UpdatedAt?: string }): void {
    o.Version = { Index: ++this.version };
    o.UpdatedAt = this.now();
  }

  private find<T>(map: Map<string, T>, ref: string, nameOf: (t: T) => string): T | undefined {
    return map.get(ref) ?? [...map.values()].find((x) => nameOf(x) === ref);
  }

  /** The object's name for the write log (a remove names its target by ID; a test reads names). */
  private nameOf<T>(map: Map<string, T>, ref: string, nameOf: (t: T) => string): string {
    const found = this.find(map, ref, nameOf);
    return found ? nameOf(found) : ref;
  }

  /** The port's LabelFilter: labels as the engine filters them, names exactly (as the docker port post-filters). */
  private select<T>(items: T[], f: LabelFilter | undefined, nameOf: (t: T) => string, labelsOf: (t: T) => Labels | null | undefined): T[] {
    const names = f?.names?.length ? new Set(f.names) : undefined;
    return items.filter((i) => (!names || names.has(nameOf(i))) && matchesLabels(labelsOf(i), f?.labels)).map((i) => structuredClone(i));
  }

  private servicesUsing(uses: (c: ServiceSpec['TaskTemplate']['ContainerSpec']) => boolean | undefined): string[] {
    return [...this.services.values()]
      .filter((s) => uses(s.Spec.TaskTemplate.ContainerSpec))
      .map((s) => s.Spec.Name)
      .sort();
  }

  /**
   * The spec as the engine stores it, or its refusal: a valid image; secrets and configs that
   * exist by ID under the name given; networks by name or ID, stored by ID; the defaults the
   * engine fills in (so a reconciler's projection has to see past them, as on the real engine).
   */
  private normaliseService(input: ServiceSpec, fail: (e: EngineFailure) => Error): ServiceSpec {
    const spec = structuredClone(input);
    const c = spec.TaskTemplate.ContainerSpec;
    if (!isValidImageReference(c.Image ?? '')) throw fail(engine.invalidImage(c.Image ?? ''));
    const badSecrets = (c.Secrets ?? []).filter((r) => this.secrets.get(r.SecretID)?.Spec.Name !== r.SecretName).map((r) => r.SecretName);
    if (badSecrets.length) throw fail(engine.refNotFound('secret', badSecrets));
    const badConfigs = (c.Configs ?? []).filter((r) => this.configs.get(r.ConfigID)?.Spec.Name !== r.ConfigName).map((r) => r.ConfigName);
    if (badConfigs.length) throw fail(engine.refNotFound('config', badConfigs));
    for (const n of spec.TaskTemplate.Networks ?? []) {
      const network = this.find(this.networks, n.Target, (x) => x.Name);
      if (!network) throw fail(engine.networkNotFoundForService(n.Target));
      n.Target = network.Id;
    }
    spec.Labels ??= {};
    c.Isolation ??= 'default';
    spec.TaskTemplate.ForceUpdate ??= 0;
    spec.TaskTemplate.Runtime ??= 'container';
    spec.Mode ??= { Replicated: { Replicas: 1 } };
    return spec;
  }

  private addNetwork(n: Omit<Network, 'Id'>, id = this.ids.next()): string {
    this.networks.set(id, { ...n, Id: id });
    this.version++;
    return id;
  }

  /** The engine creates a named volume when a task that mounts it starts, labelled from the mount's VolumeOptions. */
  private createMountedVolumes(svc: Service): void {
    if (!this.tasks.current(svc.ID).some((t) => t.Status.State === 'running')) return;
    for (const m of svc.Spec.TaskTemplate.ContainerSpec.Mounts ?? []) {
      if (m.Type !== 'volume' || !m.Source || this.volumes.has(m.Source)) continue;
      this.volumes.set(m.Source, { Name: m.Source, Driver: 'local', Scope: 'local', Labels: { ...(m.VolumeOptions?.Labels ?? {}) } });
    }
  }
}

function withoutData(s: Secret): Secret {
  const { Data: _, ...spec } = s.Spec;
  return { ...s, Spec: spec };
}

function cloneLabelled<T extends { Labels?: Labels }>(spec: T): T {
  return { ...structuredClone(spec), Labels: { ...(spec.Labels ?? {}) } };
}
