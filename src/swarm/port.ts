// The narrow door to the Docker Engine: everything above src/swarm talks to a SwarmPort, so
// reconcilers can be unit-tested against a recording fake while integration tests use the
// dockerode-backed implementation. Writes carry the object's version where the API allows it.
import type {
  Config,
  ConfigSpec,
  EngineInfo,
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

export interface LabelFilter {
  /** `key` (present) or `key=value` entries, ANDed. */
  labels?: string[];
  /** Exact name match (the engine matches name prefixes; implementations filter exactly). */
  names?: string[];
}

export interface SwarmPort {
  info(): Promise<EngineInfo>;

  listServices(filter?: LabelFilter): Promise<Service[]>;
  createService(spec: ServiceSpec): Promise<string>;
  /** Version-checked: throws ConflictError when `version` is stale. */
  updateService(id: string, version: number, spec: ServiceSpec): Promise<void>;
  removeService(id: string): Promise<void>;

  listTasks(filter: { services?: string[]; labels?: string[] }): Promise<Task[]>;
  listNodes(): Promise<SwarmNode[]>;

  listSecrets(filter?: LabelFilter): Promise<Secret[]>;
  createSecret(spec: SecretSpec): Promise<string>;
  removeSecret(id: string): Promise<void>;

  listConfigs(filter?: LabelFilter): Promise<Config[]>;
  /** Includes Spec.Data (base64), which list responses may omit. */
  inspectConfig(id: string): Promise<Config>;
  createConfig(spec: ConfigSpec): Promise<string>;
  /** Only labels can change; version-checked (this is the compare-and-swap of the state store). */
  updateConfig(id: string, version: number, spec: ConfigSpec): Promise<void>;
  removeConfig(id: string): Promise<void>;

  listNetworks(filter?: LabelFilter): Promise<Network[]>;
  createNetwork(spec: NetworkCreate): Promise<string>;
  removeNetwork(id: string): Promise<void>;

  /** Volumes of this node (volumes are node-local; the engine creates them for service mounts). */
  listVolumes(filter?: LabelFilter): Promise<Volume[]>;
  removeVolume(name: string): Promise<void>;
}

/** Counts the write calls that went through a port (tests and metrics: a no-op reconcile makes none). */
export interface WriteCounter {
  readonly writes: number;
  readonly writeLog: readonly string[];
}

/** The port's write calls (everything else only reads). */
export const WRITE_METHODS: ReadonlySet<string> = new Set<keyof SwarmPort>([
  'createService',
  'updateService',
  'removeService',
  'createSecret',
  'removeSecret',
  'createConfig',
  'updateConfig',
  'removeConfig',
  'createNetwork',
  'removeNetwork',
  'removeVolume',
]);

/** Wraps a port so every write is counted and named (`createService <name>`); reads pass through. */
export function countingPort(inner: SwarmPort): SwarmPort & WriteCounter {
  const log: string[] = [];
  return new Proxy(inner, {
    get(target, prop) {
      if (prop === 'writes') return log.length;
      if (prop === 'writeLog') return log;
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof value !== 'function') return value;
      const fn = value as (...a: unknown[]) => unknown;
      if (typeof prop === 'string' && WRITE_METHODS.has(prop)) {
        return (...args: unknown[]) => {
          log.push(`${prop} ${describeTarget(args)}`);
          return fn.apply(target, args);
        };
      }
      return fn.bind(target);
    },
  }) as SwarmPort & WriteCounter;
}

function describeTarget(args: unknown[]): string {
  const named = args.find((a): a is { Name: unknown } => !!a && typeof a === 'object' && 'Name' in a);
  return named ? String(named.Name) : String(args[0]);
}

/**
 * `port` for a pass that must not write: every write method (WRITE_METHODS) throws before it
 * reaches the engine, and `refused()` tells whether one was tried.
 */
export function refusingWrites(port: SwarmPort): { port: SwarmPort; refused: () => boolean } {
  let refused = false;
  const guarded = new Proxy(port, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof value !== 'function') return value;
      if (typeof prop === 'string' && WRITE_METHODS.has(prop)) {
        return () => {
          refused = true;
          return Promise.reject(new Error(`${prop}: this pass may not write (no lease held)`));
        };
      }
      return (value as (...a: unknown[]) => unknown).bind(target);
    },
  });
  return { port: guarded, refused: () => refused };
}
