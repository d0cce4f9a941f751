// Finding the task a command can be exec'd in: on this engine's node, running. The other-node
// refusal needs a second node, which this machine's one-node swarm has not: the in-memory
// swarm's single node is presented as another one by answering `info` as a second node would.
import { describe, expect, it } from 'vitest';
import { createMemorySwarmPort } from '../../../src/swarm/memory-port.js';
import { findRunningTask, TaskOnOtherNodeError } from '../../../src/swarm/exec.js';
import type { SwarmPort } from '../../../src/swarm/port.js';
import { NotFoundError } from '../../../src/util/errors.js';

function service(port: SwarmPort, name: string) {
  return port.createService({ Name: name, TaskTemplate: { ContainerSpec: { Image: 'busybox:1' } }, Mode: { Replicated: { Replicas: 1 } } });
}

describe('findRunningTask', () => {
  it('returns the running task and its container on this node', async () => {
    const port = createMemorySwarmPort({ hostname: 'walnut' });
    await service(port, 'c_postgres');
    const task = await findRunningTask(port, 'c_postgres');
    expect(task.service).toBe('c_postgres');
    expect(task.containerId).not.toBe('');
    expect(task.nodeId).toBe((await port.info()).nodeId);
  });

  it('says when the service does not exist, or runs no task yet', async () => {
    const port = createMemorySwarmPort();
    await expect(findRunningTask(port, 'c_nope')).rejects.toThrow(/service c_nope does not exist/);
    await service(port, 'c_agent-a');
    port.setTaskStates('c_agent-a', { state: 'failed', err: 'no such image' });
    const err = await findRunningTask(port, 'c_agent-a').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect((err as Error).message).toMatch(
      /service c_agent-a has no running task \(newest task: failed: no such image\): wait for it to start \(docker service ps c_agent-a\)/,
    );
  });

  it('refuses a task on another node, naming the service, the nodes and what to do', async () => {
    const memory = createMemorySwarmPort({ hostname: 'ironwood' });
    await service(memory, 'c_postgres');
    const elsewhere: SwarmPort = Object.assign(Object.create(memory) as SwarmPort, {
      info: async () => ({ ...(await memory.info()), nodeId: 'acacia-id' }),
      listNodes: async () => [
        ...(await memory.listNodes()),
        {
          ID: 'acacia-id',
          Description: { Hostname: 'acacia' },
          Spec: { Role: 'manager', Availability: 'active' },
          Status: { State: 'ready' },
        },
      ],
    });
    const err = await findRunningTask(elsewhere, 'c_postgres').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TaskOnOtherNodeError);
    expect((err as Error).message).toBe(
      "service c_postgres runs on node ironwood, not on acacia (the node this Docker engine is): run the command against that node's engine (DOCKER_HOST=ssh://ironwood), or pin the service to this node",
    );
  });
});
