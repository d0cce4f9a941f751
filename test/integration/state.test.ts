// The operator's durable state in the real swarm: stored spec generations and the cluster record
// (src/swarm/state.ts), read and written the way apply and the controller do.
import { afterAll, describe, expect, it } from 'vitest';
import { storeFixtures } from '../support/specs.js';
import { ClusterStore, SPECS_KEPT, stateFromConfigs } from '../../src/store/cluster-store.js';
import { L, ownedBy } from '../../src/swarm/labels.js';
import { countingPort, type SwarmPort } from '../../src/swarm/port.js';
import { cleanup, port, uniqueName } from './harness.js';

const name = uniqueName('it-state');
const { doc, status } = storeFixtures(name);
const specGenerations = async () =>
  (await port.listConfigs({ labels: [...ownedBy(name), `${L.kind}=spec`] }))
    .map((c) => Number(c.Spec.Labels?.[L.generation]))
    .sort((a, b) => a - b);

describe('the cluster store', () => {
  const store = new ClusterStore(port);
  afterAll(() => cleanup(name));

  it(`keeps the last ${SPECS_KEPT} spec generations, and an unchanged spec makes none`, async () => {
    for (let n = 1; n <= SPECS_KEPT + 2; n++) {
      expect(await store.putSpec(doc(n))).toEqual({ generation: n, changed: true });
    }
    expect(await store.putSpec(doc(SPECS_KEPT + 2))).toEqual({ generation: SPECS_KEPT + 2, changed: false });
    expect(await specGenerations()).toEqual(Array.from({ length: SPECS_KEPT }, (_, i) => i + 3));
    expect((await store.get(name))?.generation).toBe(SPECS_KEPT + 2);
    expect((await store.getSpec(name, SPECS_KEPT + 2)).configContents).toEqual({ n: String(SPECS_KEPT + 2) });
  });

  it('finds the record and the stored specs in a list of the configs the cluster owns', async () => {
    const listed = await port.listConfigs({ labels: ownedBy(name) });
    const state = stateFromConfigs(name, listed);
    expect(state.record?.generation).toBe(SPECS_KEPT + 2);
    expect(state.spec(SPECS_KEPT + 2)?.specHash).toBe(`hash-${SPECS_KEPT + 2}`);
    expect(state.spec(1)).toBeUndefined(); // pruned
  });

  it('a status write from a stale record conflicts instead of overwriting, then succeeds on fresh state', async () => {
    const stale = (await store.get(name))!;
    expect(await store.writeStatus(name, status(SPECS_KEPT + 2, 'First'), stale)).toBe(true);
    // `stale` still carries the version before that write: the engine must refuse it, and the
    // store retries from a fresh read rather than overwrite blindly: two update calls.
    const counted = countingPort(port);
    expect(await new ClusterStore(counted).writeStatus(name, status(SPECS_KEPT + 2, 'Second'), stale)).toBe(true);
    expect(counted.writeLog).toEqual([`updateConfig ${name}_bzzz-cluster`, `updateConfig ${name}_bzzz-cluster`]);
    expect((await store.get(name))?.status?.conditions[0]?.reason).toBe('Second');
    // An equal status writes nothing, whether compared with a record passed in or one read.
    const now = (await store.get(name))!;
    expect(await store.writeStatus(name, status(SPECS_KEPT + 2, 'Second'), now)).toBe(false);
    expect(await store.writeStatus(name, status(SPECS_KEPT + 2, 'Second'))).toBe(false);
  });

  it('a spec stored while a controller writes status is reported as a new generation, and neither write is lost', async () => {
    // The engine refuses apply's record update because a controller's status write came between
    // apply's read and its write: made to happen here, every time, by writing status right
    // before the record update goes out.
    let raced = false;
    const racing = new Proxy(port, {
      get(target, prop) {
        if (prop === 'updateConfig') {
          return async (...args: Parameters<SwarmPort['updateConfig']>) => {
            if (!raced && args[2].Name === `${name}_bzzz-cluster`) {
              raced = true;
              await new ClusterStore(port).writeStatus(name, status(SPECS_KEPT + 2, 'Controller'));
            }
            return target.updateConfig(...args);
          };
        }
        const value: unknown = Reflect.get(target, prop, target);
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const before = (await store.get(name))!.generation;
    expect(await new ClusterStore(racing).putSpec(doc(100))).toEqual({ generation: before + 1, changed: true });
    expect(raced).toBe(true);
    const rec = (await store.get(name))!;
    expect(rec.generation).toBe(before + 1);
    expect(rec.status?.conditions[0]?.reason).toBe('Controller');
  });
});
