// schemas/bzzzcluster.schema.json is the schema of src/spec/types.ts. The type-level checks below
// fail `npm run typecheck` when a field is added to one and not the other; the runtime checks
// hold the schema to its own rules (closed objects, a description on every field).
import { describe, expect, it } from 'vitest';
import schemaJson from '../../../schemas/bzzzcluster.schema.json' with { type: 'json' };
import type * as T from '../../../src/spec/types.js';

type Defs = typeof schemaJson.definitions;
type Props<D extends keyof Defs> = Defs[D] extends { properties: infer P } ? keyof P : never;
/** Keys of T without index signatures (the reserved sections have one). */
type Known<X> = keyof { [K in keyof X as string extends K ? never : number extends K ? never : K]: X[K] };
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const same = <A, B>(ok: Same<A, B>): Same<A, B> => ok;

// Each line fails to compile when the schema and the type disagree on a field name.
const typeChecks = [
  same<Props<'ObjectMeta'>, keyof T.ObjectMeta>(true),
  same<Props<'ClusterSpec'>, keyof T.ClusterSpec>(true),
  same<Props<'NodeSpec'>, keyof T.NodeSpec>(true),
  same<Props<'NetworkSpec'>, keyof T.NetworkSpec>(true),
  same<Props<'SecretSpec'>, keyof T.SecretSpec>(true),
  same<Props<'ConfigSpec'>, keyof T.ConfigSpec>(true),
  same<Props<'SecretMount'>, keyof T.SecretMount>(true),
  same<Props<'ConfigMount'>, keyof T.ConfigMount>(true),
  same<Props<'PortSpec'>, keyof T.PortSpec>(true),
  same<Props<'MountSpec'>, keyof T.MountSpec>(true),
  same<Props<'PlacementSpec'>, keyof T.PlacementSpec>(true),
  same<Props<'ResourceAmounts'>, keyof T.ResourceAmounts>(true),
  same<Props<'ResourcesSpec'>, keyof T.ResourcesSpec>(true),
  same<Props<'UpdatePolicy'>, keyof T.UpdatePolicy>(true),
  same<Props<'HealthcheckSpec'>, keyof T.HealthcheckSpec>(true),
  same<Props<'ServiceIngress'>, keyof T.ServiceIngress>(true),
  same<Props<'AgentInstance'>, keyof T.AgentInstance>(true),
  same<Props<'AgentSpec'>, keyof T.AgentSpec>(true),
  same<Props<'CompanionServices'>, keyof T.CompanionServices>(true),
  same<Props<'McpServer'>, keyof T.ReplicatedComponentSpec>(true),
  same<Props<'ContentResolver'>, keyof T.ReplicatedComponentSpec>(true),
  same<Props<'Redis'>, keyof T.ReplicatedComponentSpec>(true),
  same<Props<'OpenaiProxy'>, keyof NonNullable<T.CompanionServices['openaiProxy']>>(true),
  same<Props<'Postgres'>, keyof NonNullable<T.CompanionServices['postgres']>>(true),
  same<Props<'IngressSpec'>, keyof T.IngressSpec>(true),
  same<Props<'BackupsSpec'>, Known<T.BackupsSpec>>(true),
  same<Props<'KeysSpec'>, Known<T.KeysSpec>>(true),
  same<Props<'MigrationSpec'>, Known<T.MigrationSpec>>(true),
  same<Props<'RollbackTriggersSpec'>, keyof T.RollbackTriggersSpec>(true),
  same<Props<'RollbackTrigger'>, keyof T.RollbackTrigger>(true),
  same<Props<'NotificationsSpec'>, keyof T.NotificationsSpec>(true),
  same<Props<'UpgradeSpec'>, keyof T.UpgradeSpec>(true),
  same<Props<'AnalysisSpec'>, keyof T.AnalysisSpec>(true),
  same<Props<'AnalysisRule'>, keyof T.AnalysisRule>(true),
  same<Props<'AnalysisCondition'>, keyof T.AnalysisCondition>(true),
];

type Node = { [k: string]: unknown };

function walk(node: unknown, path: string, visit: (n: Node, path: string) => void): void {
  if (Array.isArray(node)) node.forEach((n, i) => walk(n, `${path}/${i}`, visit));
  else if (node && typeof node === 'object') {
    visit(node as Node, path);
    for (const [k, v] of Object.entries(node)) walk(v, `${path}/${k}`, visit);
  }
}

describe('bzzzcluster.schema.json', () => {
  it('type checks compiled (see npm run typecheck)', () => {
    expect(typeChecks.every(Boolean)).toBe(true);
  });

  it('closes every object that lists its properties: unknown keys are errors', () => {
    const open: string[] = [];
    walk(schemaJson, '#', (n, path) => {
      if (n.properties && !path.endsWith('/properties') && n.additionalProperties !== false) open.push(path);
    });
    expect(open).toEqual([]);
  });

  it('describes every field, for editors', () => {
    const missing: string[] = [];
    walk(schemaJson, '#', (n, path) => {
      if (!n.properties || path.endsWith('/properties')) return;
      for (const [key, prop] of Object.entries(n.properties as Record<string, Node>)) {
        if (typeof prop.description !== 'string' || prop.description.length < 3) missing.push(`${path}/properties/${key}`);
      }
    });
    expect(missing).toEqual([]);
  });

  it("gives every companion the agent's component fields", () => {
    const agentKeys = Object.keys(schemaJson.definitions.AgentSpec.properties);
    const componentKeys = agentKeys.filter(
      (k) => !['instances', 'agentPorts', 'bootstrap', 'role', 'election', 'replicationFactor', 'api'].includes(k),
    );
    for (const def of ['McpServer', 'OpenaiProxy', 'ContentResolver', 'Postgres', 'Redis'] as const) {
      expect(Object.keys(schemaJson.definitions[def].properties)).toEqual(
        expect.arrayContaining([...componentKeys, 'enabled', 'replicas']),
      );
    }
  });
});
