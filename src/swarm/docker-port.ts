// SwarmPort over dockerode: the only code that calls the Docker Engine API (with events.ts).
import Docker from 'dockerode';
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
import type { LabelFilter, SwarmPort } from './port.js';
import { ConflictError, EngineUnavailableError, NotFoundError } from '../util/errors.js';
import { EngineCallError, SpecRefusedError } from './errors.js';

interface ModemError {
  statusCode?: number;
  json?: { message?: string } | null;
  reason?: string;
  message?: string;
  code?: string;
}

/** Creates the dockerode client from DOCKER_HOST or the default socket. */
export function createDockerClient(): Docker {
  return new Docker();
}

function filters(f: LabelFilter | undefined): string | undefined {
  const out: Record<string, string[]> = {};
  if (f?.labels?.length) out.label = f.labels;
  if (f?.names?.length) out.name = f.names;
  return Object.keys(out).length ? JSON.stringify(out) : undefined;
}

function exactNames<T>(items: T[], f: LabelFilter | undefined, nameOf: (t: T) => string): T[] {
  if (!f?.names?.length) return items;
  const want = new Set(f.names);
  return items.filter((i) => want.has(nameOf(i)));
}

export class DockerSwarmPort implements SwarmPort {
  constructor(readonly docker: Docker = createDockerClient()) {}

  private async call<T>(call: string, target: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw translate(call, target, err);
    }
  }

  async info(): Promise<EngineInfo> {
    const [info, version] = await this.call('info', 'engine', () =>
      Promise.all([
        this.docker.info() as Promise<{ Swarm?: { LocalNodeState?: string; ControlAvailable?: boolean; NodeID?: string } }>,
        this.docker.version(),
      ]),
    );
    return {
      serverVersion: version.Version,
      apiVersion: version.ApiVersion,
      swarmActive: info.Swarm?.LocalNodeState === 'active',
      isManager: info.Swarm?.ControlAvailable === true,
      nodeId: info.Swarm?.NodeID ?? '',
    };
  }

  async listServices(f?: LabelFilter): Promise<Service[]> {
    const list = await this.call('list services', '', () => this.docker.listServices({ filters: filters(f) } as Docker.ServiceListOptions));
    return exactNames(list as unknown as Service[], f, (s) => s.Spec.Name);
  }

  async createService(spec: ServiceSpec): Promise<string> {
    const res = await this.call('create service', spec.Name, () =>
      this.docker.createService(spec as unknown as Docker.CreateServiceOptions),
    );
    return (res as unknown as { id?: string; ID?: string }).id ?? (res as unknown as { ID: string }).ID;
  }

  async updateService(id: string, version: number, spec: ServiceSpec): Promise<void> {
    await this.call('update service', spec.Name, () => this.docker.getService(id).update({ _query: { version }, _body: spec } as never));
  }

  async removeService(id: string): Promise<void> {
    await this.call('remove service', id, () => this.docker.getService(id).remove());
  }

  async listTasks(f: { services?: string[]; labels?: string[] }): Promise<Task[]> {
    const fl: Record<string, string[]> = {};
    if (f.services?.length) fl.service = f.services;
    if (f.labels?.length) fl.label = f.labels;
    return this.call('list tasks', '', () => this.docker.listTasks({ filters: JSON.stringify(fl) })) as Promise<Task[]>;
  }

  async listNodes(): Promise<SwarmNode[]> {
    return this.call('list nodes', '', () => this.docker.listNodes()) as unknown as Promise<SwarmNode[]>;
  }

  async listSecrets(f?: LabelFilter): Promise<Secret[]> {
    const list = await this.call('list secrets', '', () => this.docker.listSecrets({ filters: filters(f) }));
    return exactNames(list as unknown as Secret[], f, (s) => s.Spec.Name);
  }

  async createSecret(spec: SecretSpec): Promise<string> {
    // The value is in spec.Data: translate() never includes request bodies in errors.
    const res = await this.call('create secret', spec.Name, () => this.docker.createSecret(spec));
    return (res as { id: string }).id;
  }

  async removeSecret(id: string): Promise<void> {
    await this.call('remove secret', id, () => this.docker.getSecret(id).remove());
  }

  async listConfigs(f?: LabelFilter): Promise<Config[]> {
    const list = await this.call('list configs', '', () => this.docker.listConfigs({ filters: filters(f) }));
    return exactNames(list as unknown as Config[], f, (c) => c.Spec.Name);
  }

  async inspectConfig(id: string): Promise<Config> {
    return this.call('inspect config', id, () => this.docker.getConfig(id).inspect()) as Promise<Config>;
  }

  async createConfig(spec: ConfigSpec): Promise<string> {
    const res = await this.call('create config', spec.Name, () => this.docker.createConfig(spec));
    return (res as { id: string }).id;
  }

  async updateConfig(id: string, version: number, spec: ConfigSpec): Promise<void> {
    const config = this.docker.getConfig(id);
    await this.call(
      'update config',
      spec.Name,
      () => config.update({ _query: { version }, _body: spec } as never) as unknown as Promise<unknown>,
    );
  }

  async removeConfig(id: string): Promise<void> {
    await this.call('remove config', id, () => this.docker.getConfig(id).remove());
  }

  async listNetworks(f?: LabelFilter): Promise<Network[]> {
    const list = await this.call('list networks', '', () => this.docker.listNetworks({ filters: filters(f) }));
    return exactNames(list as unknown as Network[], f, (n) => n.Name);
  }

  async createNetwork(spec: NetworkCreate): Promise<string> {
    const res = await this.call('create network', spec.Name, () => this.docker.createNetwork(spec as Docker.NetworkCreateOptions));
    return (res as unknown as { id: string }).id;
  }

  async removeNetwork(id: string): Promise<void> {
    await this.call('remove network', id, () => this.docker.getNetwork(id).remove());
  }

  async listVolumes(f?: LabelFilter): Promise<Volume[]> {
    const res: unknown = await this.call(
      'list volumes',
      '',
      () => this.docker.listVolumes({ filters: filters(f) } as Docker.VolumeListOptions) as Promise<unknown>,
    );
    return exactNames((res as { Volumes?: Volume[] | null }).Volumes ?? [], f, (v) => v.Name);
  }

  async removeVolume(name: string): Promise<void> {
    const volume = this.docker.getVolume(name);
    await this.call('remove volume', name, () => volume.remove() as unknown as Promise<unknown>);
  }
}

/** An engine call's failure as the error a user can act on (exported for its unit test). */
export function translate(call: string, target: string, err: unknown): Error {
  const e = err as ModemError;
  const engineMsg = e.json?.message ?? e.reason ?? e.message ?? String(err);
  if (e.code === 'EACCES') {
    return new EngineUnavailableError(
      'permission denied on the Docker socket: run bzzzctl as root or as a member of the docker group (in a container: run it as root with /var/run/docker.sock mounted)',
      { cause: err },
    );
  }
  if (e.code === 'ENOENT' || e.code === 'ECONNREFUSED') {
    return new EngineUnavailableError(
      `cannot reach the Docker engine (${e.code}): start dockerd and make sure DOCKER_HOST or /var/run/docker.sock points at it — \`npm run swarm:up\` installs and starts one on Debian`,
      { cause: err },
    );
  }
  if (/out of sequence|version mismatch|update conflict/i.test(engineMsg) || (e.statusCode === 409 && /version/i.test(engineMsg))) {
    return new ConflictError(`${call} ${target}: the object changed since it was read (${engineMsg}); re-read and retry`, { cause: err });
  }
  if (e.statusCode === 404) return new NotFoundError(`${call} ${target}: ${engineMsg}`, { cause: err });
  if (/This node is not a swarm manager/i.test(engineMsg)) {
    // The engine's 503 says which: a worker, or not in a swarm at all. Every command meets it on
    // its first read, so this is the preflight message too.
    return new EngineUnavailableError(
      /worker/i.test(engineMsg)
        ? 'this Docker engine is a swarm worker: run bzzzctl against a manager node (set DOCKER_HOST to one), or promote this node with `docker node promote`'
        : 'the Docker engine is not in swarm mode: run `docker swarm init` (or `npm run swarm:up`)',
      { cause: err },
    );
  }
  // A 400 is the engine refusing the spec — unless it names something another object holds or
  // that does not exist yet (a published port in use, a secret being created): those clear up.
  if (e.statusCode === 400 && !/in use|already exists|not found/i.test(engineMsg)) {
    return new SpecRefusedError(call, target, e.statusCode, engineMsg, err);
  }
  return new EngineCallError(call, target, e.statusCode, engineMsg, err);
}
