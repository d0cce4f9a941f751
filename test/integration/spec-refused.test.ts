// The real engine's refusal of a spec is told apart from conditions that clear up: a malformed
// image reference is terminal (SpecRefusedError: the generation fails, no retry), a published
// port held by another service is not (it converges once the port is freed).
import { afterAll, describe, expect, it } from 'vitest';
import { DockerSwarmPort } from '../../src/swarm/docker-port.js';
import { SpecRefusedError } from '../../src/swarm/errors.js';
import { uniqueName } from './harness.js';

const port = new DockerSwarmPort();
const made: string[] = [];

afterAll(async () => {
  for (const id of made) await port.removeService(id).catch(() => undefined);
});

describe('engine refusals', () => {
  it('an image reference the engine refuses is a SpecRefusedError naming the service and the engine reason', async () => {
    const name = uniqueName('refused');
    const err = await port
      .createService({ Name: name, TaskTemplate: { ContainerSpec: { Image: 'Walnut/bzzz:1' } } })
      .then((id) => {
        made.push(id);
        return undefined;
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SpecRefusedError);
    expect((err as Error).message).toMatch(new RegExp(`create service ${name}: the engine refused it: .*not a valid repository/tag`));
  });

  it('a published port already taken is not terminal', async () => {
    const a = uniqueName('porta');
    const id = await port.createService({
      Name: a,
      TaskTemplate: { ContainerSpec: { Image: 'bzzz-test/busybox:1', Command: ['sleep', '3600'] } },
      EndpointSpec: { Ports: [{ TargetPort: 80, PublishedPort: 18197, Protocol: 'tcp', PublishMode: 'ingress' }] },
    });
    made.push(id);
    const err = await port
      .createService({
        Name: uniqueName('portb'),
        TaskTemplate: { ContainerSpec: { Image: 'bzzz-test/busybox:1', Command: ['sleep', '3600'] } },
        EndpointSpec: { Ports: [{ TargetPort: 80, PublishedPort: 18197, Protocol: 'tcp', PublishMode: 'ingress' }] },
      })
      .then((id2) => {
        made.push(id2);
        return undefined;
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(err).not.toBeInstanceOf(SpecRefusedError);
    expect((err as Error).message).toMatch(/already in use/);
  });
});
