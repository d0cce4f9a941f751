// What any SwarmPort must do the way Docker Engine 20.10 in swarm mode does it, as scenarios run
// against the in-memory port (test/unit/swarm/memory-port.test.ts, every `npm test`) and against
// the real engine through the docker port (test/integration/port-contract.test.ts). The fake is
// trusted for decision tests only as far as these pass on both.
import { afterAll, describe, expect, it } from 'vitest';
import type { ServiceSpec } from '../../src/swarm/api-types.js';
import { EngineCallError } from '../../src/swarm/errors.js';
import type { SwarmPort } from '../../src/swarm/port.js';
import { ConflictError, NotFoundError } from '../../src/util/errors.js';
import { rejectionOf } from './rejection.js';

export interface ContractSubject {
  port: SwarmPort;
  /** Unique per run: every object a scenario makes is named with it (and removed afterwards). */
  prefix: string;
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

const refusal = (p: Promise<unknown>) => rejectionOf(p, 'expected the engine to refuse, but the call succeeded');

export function describePortContract(label: string, subject: () => ContractSubject): void {
  describe(`SwarmPort contract (${label})`, () => {
    const made = { services: [] as string[], secrets: [] as string[], configs: [] as string[], networks: [] as string[] };
    const s = () => subject();
    const name = (n: string) => `${s().prefix}_${n}`;
    const config = async (n: string, data: string, labels: Record<string, string> = {}) => {
      const id = await s().port.createConfig({ Name: name(n), Labels: labels, Data: b64(data) });
      made.configs.push(id);
      return id;
    };
    const secret = async (n: string, data: string, labels: Record<string, string> = {}) => {
      const id = await s().port.createSecret({ Name: name(n), Labels: labels, Data: b64(data) });
      made.secrets.push(id);
      return id;
    };
    // No replicas: the scenarios are about the objects, not about running containers (and no image is needed).
    const serviceSpec = (n: string, extra: Partial<ServiceSpec['TaskTemplate']['ContainerSpec']> = {}): ServiceSpec => ({
      Name: name(n),
      Labels: { 'io.bzzz.test': s().prefix },
      TaskTemplate: { ContainerSpec: { Image: 'bzzz-contract/none:1', ...extra } },
      Mode: { Replicated: { Replicas: 0 } },
    });
    const service = async (spec: ServiceSpec) => {
      const id = await s().port.createService(spec);
      made.services.push(id);
      return id;
    };
    const configNamed = async (n: string) => (await s().port.listConfigs({ names: [name(n)] }))[0];
    const serviceNamed = async (n: string) => (await s().port.listServices({ names: [name(n)] }))[0];

    afterAll(async () => {
      const { port } = s();
      // Services first: the engine refuses to remove what a service uses.
      for (const id of made.services) await port.removeService(id).catch(() => undefined);
      for (const id of made.secrets) await port.removeSecret(id).catch(() => undefined);
      for (const id of made.configs) await port.removeConfig(id).catch(() => undefined);
      for (const id of made.networks) await port.removeNetwork(id).catch(() => undefined);
    });

    it('GIVEN two writes WHEN read back THEN each raised the one version index of the swarm', async () => {
      await config('ver-a', 'a');
      const first = await configNamed('ver-a');
      await config('ver-b', 'b');
      const second = await configNamed('ver-b');
      expect(second.Version.Index).toBeGreaterThan(first.Version.Index);
      await s().port.updateConfig(first.ID, first.Version.Index, { ...first.Spec, Labels: { touched: '1' } });
      const updated = await configNamed('ver-a');
      expect(updated.Version.Index).toBeGreaterThan(second.Version.Index);
      expect(updated.CreatedAt).toBe(first.CreatedAt);
    });

    it('GIVEN a config updated since it was read WHEN updated with the old version THEN it is refused as a conflict and keeps the newer labels', async () => {
      await config('cas', 'record', { holder: 'nobody' });
      const read = await configNamed('cas');
      await s().port.updateConfig(read.ID, read.Version.Index, { ...read.Spec, Labels: { holder: 'first' } });
      const err = await refusal(s().port.updateConfig(read.ID, read.Version.Index, { ...read.Spec, Labels: { holder: 'second' } }));
      expect(err).toBeInstanceOf(ConflictError);
      expect(err.message).toContain(`update config ${name('cas')}`);
      expect((await configNamed('cas')).Spec.Labels).toEqual({ holder: 'first' });
    });

    it('GIVEN a service updated since it was read WHEN updated with the old version THEN it is refused as a conflict', async () => {
      const id = await service(serviceSpec('svc-cas'));
      const read = await serviceNamed('svc-cas');
      await s().port.updateService(id, read.Version.Index, { ...serviceSpec('svc-cas'), Labels: { v: '2' } });
      const err = await refusal(s().port.updateService(id, read.Version.Index, { ...serviceSpec('svc-cas'), Labels: { v: '3' } }));
      expect(err).toBeInstanceOf(ConflictError);
      const now = await serviceNamed('svc-cas');
      expect(now.Spec.Labels).toEqual({ v: '2' });
      expect(now.Version.Index).toBeGreaterThan(read.Version.Index);
      // The engine keeps the spec before the last update (what `docker service rollback` goes back to).
      expect(now.PreviousSpec?.Labels).toEqual(read.Spec.Labels);
    });

    it('GIVEN a config WHEN an update changes its data or name THEN it is refused; its labels can change, replaced as a whole', async () => {
      await config('immutable', 'v1', { a: '1', b: '2' });
      const read = await configNamed('immutable');
      const changed = await refusal(s().port.updateConfig(read.ID, read.Version.Index, { ...read.Spec, Data: b64('v2') }));
      expect(changed).toBeInstanceOf(EngineCallError);
      expect((changed as EngineCallError).statusCode).toBe(400);
      expect(changed.message).toMatch(/only updates to Labels are allowed/);
      const renamed = await refusal(s().port.updateConfig(read.ID, read.Version.Index, { ...read.Spec, Name: name('other') }));
      expect(renamed.message).toMatch(/only updates to Labels are allowed/);
      await s().port.updateConfig(read.ID, read.Version.Index, { ...read.Spec, Labels: { b: '3' } });
      const now = await s().port.inspectConfig(read.ID);
      expect(now.Spec.Labels).toEqual({ b: '3' });
      expect(Buffer.from(now.Spec.Data ?? '', 'base64').toString()).toBe('v1');
    });

    it('GIVEN a secret WHEN listed THEN its labels are there and its data is not', async () => {
      await secret('hidden', 'p4ssw0rd', { kind: 'password' });
      const [listed] = await s().port.listSecrets({ names: [name('hidden')] });
      expect(listed.Spec).toEqual({ Name: name('hidden'), Labels: { kind: 'password' } });
    });

    it('GIVEN a secret and a config a service uses WHEN removed THEN the engine refuses, naming the service; once the service is gone they go', async () => {
      const secretId = await secret('used-secret', 's');
      const configId = await config('used-config', 'c');
      const file = (n: string) => ({ Name: n, UID: '0', GID: '0', Mode: 0o444 });
      const svc = await service(
        serviceSpec('user', {
          Secrets: [{ File: file('s'), SecretID: secretId, SecretName: name('used-secret') }],
          Configs: [{ File: file('/c'), ConfigID: configId, ConfigName: name('used-config') }],
        }),
      );
      const secretErr = await refusal(s().port.removeSecret(secretId));
      expect(secretErr).toBeInstanceOf(EngineCallError);
      expect(secretErr.message).toContain(`secret '${name('used-secret')}' is in use by the following service: ${name('user')}`);
      const configErr = await refusal(s().port.removeConfig(configId));
      expect(configErr.message).toContain(`config '${name('used-config')}' is in use by the following service: ${name('user')}`);
      await s().port.removeService(svc);
      await s().port.removeSecret(secretId);
      await s().port.removeConfig(configId);
      expect(await s().port.listSecrets({ names: [name('used-secret')] })).toEqual([]);
      expect(await s().port.listConfigs({ names: [name('used-config')] })).toEqual([]);
    });

    it('GIVEN a service WHEN it refers to a secret by an ID that does not exist THEN it is refused', async () => {
      const spec = serviceSpec('dangling', {
        Secrets: [
          { File: { Name: 's', UID: '0', GID: '0', Mode: 0o444 }, SecretID: 'nosuchsecretid0000000000a', SecretName: name('gone') },
        ],
      });
      const err = await refusal(service(spec));
      expect((err as EngineCallError).statusCode).toBe(400);
      expect(err.message).toContain(`secret not found: ${name('gone')}`);
    });

    it('GIVEN labels k=abc and k=abcd and names x and x2 WHEN filtered THEN labels and names match exactly, a bare key by presence, keys ANDed', async () => {
      const key = `io.bzzz.contract-${s().prefix}`;
      const other = `${key}.other`;
      await config('flt', '1', { [key]: 'abc', [other]: 'x' });
      await config('flt2', '2', { [key]: 'abcd' });
      const names = async (f: Parameters<SwarmPort['listConfigs']>[0]) => (await s().port.listConfigs(f)).map((c) => c.Spec.Name).sort();
      expect(await names({ labels: [`${key}=abc`] })).toEqual([name('flt')]);
      expect(await names({ labels: [key] })).toEqual([name('flt'), name('flt2')]);
      // Filters on different keys are ANDed. (Two filters on the same key are not: the engine keeps
      // one of them in a map, which one varies from call to call; the operator never sends that.)
      expect(await names({ labels: [key, `${other}=x`] })).toEqual([name('flt')]);
      expect(await names({ labels: [`${key}=ab`] })).toEqual([]);
      expect(await names({ names: [name('flt')] })).toEqual([name('flt')]);
      expect(await names({ names: [name('flt')], labels: [`${key}=abcd`] })).toEqual([]);
    });

    it('GIVEN an object of a name WHEN another of the same kind and name is created THEN the engine refuses with 409', async () => {
      await config('dup', 'x');
      const dupConfig = await refusal(config('dup', 'y'));
      expect(dupConfig.message).toMatch(/already exists/);
      expect((dupConfig as EngineCallError).statusCode).toBe(409);
      await service(serviceSpec('dup-svc'));
      const dupService = await refusal(service(serviceSpec('dup-svc')));
      expect((dupService as EngineCallError).statusCode).toBe(409);
      expect(dupService.message).toMatch(/already exists/);
    });

    it('GIVEN an image reference the engine cannot parse WHEN a service is created with it THEN it is refused with 400, naming the image', async () => {
      const err = await refusal(service({ ...serviceSpec('bad-image'), TaskTemplate: { ContainerSpec: { Image: 'Bzzz/Agent:1' } } }));
      expect(err).toBeInstanceOf(EngineCallError);
      expect((err as EngineCallError).statusCode).toBe(400);
      expect(err.message).toContain('"Bzzz/Agent:1" is not a valid repository/tag');
    });

    it('GIVEN a network a service is attached to by name WHEN read back THEN the service refers to it by ID, and the network cannot be removed', async () => {
      const netId = await s().port.createNetwork({
        Name: name('net'),
        Driver: 'overlay',
        Attachable: true,
        Labels: { 'io.bzzz.test': '1' },
      });
      made.networks.push(netId);
      const dup = await refusal(s().port.createNetwork({ Name: name('net'), Driver: 'overlay', CheckDuplicate: true }));
      expect((dup as EngineCallError).statusCode).toBe(409);
      const spec = serviceSpec('on-net');
      const svc = await service({ ...spec, TaskTemplate: { ...spec.TaskTemplate, Networks: [{ Target: name('net'), Aliases: ['x'] }] } });
      expect((await serviceNamed('on-net')).Spec.TaskTemplate.Networks).toEqual([{ Target: netId, Aliases: ['x'] }]);
      const inUse = await refusal(s().port.removeNetwork(netId));
      expect(inUse.message).toMatch(/is in use by service/);
      await s().port.removeService(svc);
      await s().port.removeNetwork(netId);
      expect(await s().port.listNetworks({ names: [name('net')] })).toEqual([]);
    });

    it('GIVEN objects that do not exist WHEN removed or updated THEN NotFoundError', async () => {
      const missing = 'nosuchobject0000000000000';
      const { port, prefix } = s();
      for (const call of [
        () => port.removeService(missing),
        () => port.removeSecret(missing),
        () => port.removeConfig(missing),
        () => port.removeNetwork(missing),
        () => port.removeVolume(`${prefix}-no-volume`),
        () => port.updateConfig(missing, 1, { Name: name('x'), Labels: {} }),
      ])
        expect(await refusal(call())).toBeInstanceOf(NotFoundError);
    });
  });
}
