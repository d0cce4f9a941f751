// The secret rotation's decisions (pure), and which tasks still count as using the old value.
import { describe, expect, it } from 'vitest';
import { decideSecretRotation, nextLogin, type SecretObservation } from '../../../src/reconcilers/rotation-decide.js';
import { consumersOf } from '../../../src/reconcilers/rotation-consumers.js';
import type { RotationItemState, SecretRotationRun } from '../../../src/spec/rotation.js';
import type { Secret, Service, Task } from '../../../src/swarm/api-types.js';

const T = Date.UTC(2026, 0, 1);
const DAY = 86_400_000;
const item = {
  id: 'secret:app' as const,
  periodMs: 30 * DAY,
  graceMs: 3_600_000,
  secret: { logical: 'app', rotate: { period: '30d', consumer: { type: 'postgres' as const } } },
};
const run = (step: SecretRotationRun['step'], extra: Partial<SecretRotationRun> = {}): SecretRotationRun => ({
  id: 'r1',
  step,
  startedAt: new Date(T).toISOString(),
  stepStartedAt: new Date(T).toISOString(),
  cause: 'schedule',
  attempts: 0,
  previous: { secret: 'c_app-old', login: 'app_a' },
  next: { secret: 'c_app-new', login: 'app_b' },
  ...extra,
});
const obs = (state: RotationItemState | undefined, o: Partial<SecretObservation> = {}): SecretObservation => ({
  now: T,
  cluster: 'c',
  item,
  state,
  mounted: { name: 'c_app-old', createdAt: new Date(T - DAY).toISOString() },
  versions: new Set(['c_app-old', 'c_app-new']),
  consumers: [],
  ...o,
});
const since = new Date(T).toISOString();

describe('decideSecretRotation', () => {
  it.each<[string, SecretObservation, string]>([
    ['first sight: record it', obs(undefined), 'init'],
    ['postgres without a login yet: rotate at once', obs({ since, current: 'c_app-old' }), 'start'],
    ['within the period: idle', obs({ since, current: 'c_app-old', login: 'app_a' }), 'idle'],
    ['past the period: start', obs({ since, current: 'c_app-old', login: 'app_a' }, { now: T + 32 * DAY }), 'start'],
    ['asked for: start', obs({ since, current: 'c_app-old', login: 'app_a', requested: { at: since, by: 'x' } }), 'start'],
    ['stage', obs({ since, run: run('stage') }), 'stage'],
    [
      'roll: a consumer still runs the old value',
      obs(
        { since, run: run('roll') },
        { consumers: [{ service: 's', specVersion: 'c_app-new', taskVersions: ['c_app-new', 'c_app-old'] }] },
      ),
      'wait',
    ],
    [
      'roll: every consumer on the new value',
      obs({ since, run: run('roll') }, { consumers: [{ service: 's', specVersion: 'c_app-new', taskVersions: ['c_app-new'] }] }),
      'advance',
    ],
    ['retire the old login', obs({ since, run: run('retire-login') }), 'retire-login'],
    ['grace: not over', obs({ since, run: run('grace', { rolledAt: since }) }, { now: T + 60_000 }), 'wait'],
    ['grace: over', obs({ since, run: run('grace', { rolledAt: since }) }, { now: T + 2 * 3_600_000 }), 'advance'],
    ['remove the old version', obs({ since, run: run('remove-old') }), 'remove-old'],
  ])('%s', (_what, o, kind) => expect(decideSecretRotation(o).kind).toBe(kind));

  it('a first rotation has no old login to retire', () => {
    const d = decideSecretRotation(obs({ since, run: run('retire-login', { previous: { secret: 'c_app-old' } }) }));
    expect(d).toMatchObject({ kind: 'advance', to: 'grace' });
  });

  it('alternates the logins', () => {
    expect(nextLogin('app', undefined)).toBe('app_a');
    expect(nextLogin('app', 'app_a')).toBe('app_b');
    expect(nextLogin('app', 'app_b')).toBe('app_a');
  });
});

describe('consumersOf', () => {
  const secret = (name: string): Secret => ({ ID: name, Version: { Index: 1 }, CreatedAt: '', Spec: { Name: name, Labels: {} } });
  const ref = (name: string) => ({ SecretName: name, SecretID: name, File: { Name: 'app', UID: '0', GID: '0', Mode: 0o444 } });
  const service = {
    ID: 's1',
    Spec: { Name: 'c_consumer', TaskTemplate: { ContainerSpec: { Image: 'x', Secrets: [ref('c_app-new')] } } },
  } as unknown as Service;
  const task = (desired: Task['DesiredState'], state: Task['Status']['State'], version: string): Task => ({
    ID: `${desired}-${state}-${version}`,
    ServiceID: 's1',
    DesiredState: desired,
    Status: { Timestamp: '', State: state },
    Spec: { ContainerSpec: { Secrets: [ref(version)] } },
    CreatedAt: '',
    UpdatedAt: '',
  });

  it('counts a task told to shut down until its container has stopped (it still connects)', () => {
    const c = consumersOf(
      'app',
      [secret('c_app-old'), secret('c_app-new')],
      [service],
      [
        task('running', 'running', 'c_app-new'),
        task('shutdown', 'running', 'c_app-old'),
        task('shutdown', 'shutdown', 'c_app-old'),
        task('shutdown', 'pending', 'c_app-old'),
      ],
    );
    expect(c).toEqual([{ service: 'c_consumer', specVersion: 'c_app-new', taskVersions: ['c_app-new', 'c_app-old'] }]);
  });
});

describe('planSecrets with a rotation journal', () => {
  it('never makes a competing version of a secret whose journal names one it cannot see', async () => {
    const { planSecrets } = await import('../../../src/reconcilers/secrets.js');
    const journal = { version: 1, items: { 'secret:app': { since: new Date(T).toISOString(), current: 'c_app-gone', login: 'app_a' } } };
    const plan = planSecrets(
      {
        apiVersion: 'bzzz.io/v2',
        kind: 'BzzzCluster',
        metadata: { name: 'c' },
        spec: {
          version: '1',
          agent: { instances: [] },
          secrets: { app: { generate: {}, rotate: { period: '30d', consumer: { type: 'roll' } } } },
        },
      },
      {},
      {
        networks: [],
        secrets: [],
        configs: [],
        services: [],
        lookAlikes: [],
        external: { networks: [], secrets: [], configs: [] },
        state: [
          {
            ID: 'r',
            Version: { Index: 1 },
            CreatedAt: '',
            Spec: { Name: 'c_bzzz-rotation', Labels: { 'io.bzzz.kind': 'rotation', 'io.bzzz.rotation': JSON.stringify(journal) } },
          },
        ],
      },
    );
    expect(plan.generate).toEqual([]);
    expect(plan.names.get('app')).toBe('c_app-gone');
    expect(plan.problems.map((p) => p.reason)).toEqual(['SecretMissing']);
  });
});
