// Mapping Docker events to clusters. The event shapes are copied from what Docker 20.10 sent on
// this machine (`docker events --format '{{json .}}'`): swarm-scoped events carry only the name.
import { describe, expect, it } from 'vitest';
import { mapDockerEvent, type DockerEvent } from '../../../../src/controller/sources/docker-events.js';

const swarmEvent = (Type: string, Action: string, name: string): DockerEvent => ({
  Type,
  Action,
  Actor: { ID: 'mezcodwn36hzywatw5v6nb3w8', Attributes: { name } },
  scope: 'swarm',
});

describe('mapDockerEvent', () => {
  const known = ['prod', 'prod_eu', 'dev'];

  it('maps a service, secret, config or network named <cluster>_x to that cluster', () => {
    expect(mapDockerEvent(swarmEvent('service', 'update', 'dev_agent-a'), known)).toEqual({ kind: 'cluster', cluster: 'dev' });
    expect(mapDockerEvent(swarmEvent('secret', 'remove', 'dev_openai_api_key-0a1b2c3d'), known)).toEqual({
      kind: 'cluster',
      cluster: 'dev',
    });
    expect(mapDockerEvent(swarmEvent('network', 'create', 'prod_internal'), known)).toEqual({ kind: 'cluster', cluster: 'prod' });
    expect(mapDockerEvent(swarmEvent('config', 'remove', 'prod_app-12345678'), known)).toEqual({ kind: 'cluster', cluster: 'prod' });
  });

  it('picks the longest known cluster name that prefixes the object', () => {
    expect(mapDockerEvent(swarmEvent('service', 'update', 'prod_eu_redis'), known)).toEqual({ kind: 'cluster', cluster: 'prod_eu' });
  });

  it('ignores objects of no known cluster, and names that only look alike', () => {
    expect(mapDockerEvent(swarmEvent('service', 'update', 'devx_agent'), known)).toEqual({ kind: 'none' });
    expect(mapDockerEvent(swarmEvent('service', 'create', 'dev'), known)).toEqual({ kind: 'none' });
    expect(mapDockerEvent(swarmEvent('network', 'remove', 'other_net'), known)).toEqual({ kind: 'none' });
  });

  it('treats a state config <cluster>_bzzz-... as a change of that cluster, even a new one', () => {
    expect(mapDockerEvent(swarmEvent('config', 'create', 'newcomer_bzzz-spec-3'), known)).toEqual({ kind: 'cluster', cluster: 'newcomer' });
    expect(mapDockerEvent(swarmEvent('config', 'create', 'dev_bzzz-cluster'), known)).toEqual({ kind: 'cluster', cluster: 'dev' });
    expect(mapDockerEvent(swarmEvent('config', 'remove', 'dev_bzzz-spec-g1'), known)).toEqual({ kind: 'cluster', cluster: 'dev' });
  });

  it('has an update of the cluster record checked for a new generation (status writes update it too)', () => {
    expect(mapDockerEvent(swarmEvent('config', 'update', 'dev_bzzz-cluster'), known)).toEqual({
      kind: 'record-update',
      cluster: 'dev',
      id: 'mezcodwn36hzywatw5v6nb3w8',
    });
  });

  it('asks to inspect an unmatched config being created (its labels may name a cluster), not one updated or removed', () => {
    expect(mapDockerEvent(swarmEvent('config', 'create', 'odd-name'), known)).toEqual({
      kind: 'inspect-config',
      id: 'mezcodwn36hzywatw5v6nb3w8',
    });
    expect(mapDockerEvent(swarmEvent('config', 'update', 'bzzz-operator_controller-lease'), known)).toEqual({ kind: 'none' });
    expect(mapDockerEvent(swarmEvent('config', 'remove', 'odd-name'), known)).toEqual({ kind: 'none' });
    expect(mapDockerEvent(swarmEvent('service', 'create', 'odd-name'), known)).toEqual({ kind: 'none' });
  });

  it('maps a task container dying to its service cluster, and ignores other container actions', () => {
    const die: DockerEvent = {
      Type: 'container',
      Action: 'die',
      Actor: {
        ID: '59aa3c0a1ccec09039b49ec83d584b77ad29de4ab64cd6025b965dfdede3e33d',
        Attributes: {
          'com.docker.swarm.service.name': 'dev_agent-a',
          'com.docker.swarm.task.name': 'dev_agent-a.1.m9m7lbpud4w5b5wobx6h9eu24',
          name: 'dev_agent-a.1.m9m7lbpud4w5b5wobx6h9eu24',
          exitCode: '137',
        },
      },
      scope: 'local',
    };
    expect(mapDockerEvent(die, known)).toEqual({ kind: 'cluster', cluster: 'dev' });
    expect(mapDockerEvent({ ...die, Action: 'create' }, known)).toEqual({ kind: 'none' });
    const plain: DockerEvent = { Type: 'container', Action: 'die', Actor: { ID: 'x', Attributes: { name: 'dev_agent-a' } } };
    expect(mapDockerEvent(plain, known)).toEqual({ kind: 'none' });
  });

  it('prefers the cluster or stack label when an event carries labels', () => {
    const labelled: DockerEvent = {
      Type: 'container',
      Action: 'die',
      Actor: { ID: 'x', Attributes: { 'com.docker.stack.namespace': 'fresh', 'com.docker.swarm.service.name': 'fresh_web' } },
    };
    expect(mapDockerEvent(labelled, known)).toEqual({ kind: 'cluster', cluster: 'fresh' });
  });

  it('maps a node change to every known cluster (tasks may move)', () => {
    expect(mapDockerEvent(swarmEvent('node', 'update', 'walnut'), known)).toEqual({ kind: 'all-known' });
  });

  it('ignores other event types', () => {
    expect(mapDockerEvent(swarmEvent('image', 'tag', 'dev_agent'), known)).toEqual({ kind: 'none' });
  });
});
