// Shared shapes of a reconcile pass: what was observed, what is planned, what went wrong.
import type { Config, Network, Secret, Service } from '../swarm/api-types.js';
import type { FieldChange } from '../convert/project.js';

export type ObjectKind = 'network' | 'secret' | 'config' | 'service';

/** One planned write, as `bzzzctl diff` shows it and the act step performs it. */
export interface Change {
  action: 'create' | 'update' | 'remove';
  kind: ObjectKind;
  name: string;
  fields?: FieldChange[];
  /** Why, when not obvious (drift, pruned, content changed). */
  reason?: string;
}

/** Something that blocks convergence: names the object, what is wrong and what to do. Never holds a secret value. */
export interface Problem {
  object: string;
  reason: string;
  message: string;
  /** The engine refused the spec itself: retrying cannot help, the generation has failed. */
  terminal?: boolean;
}

/** Everything the cluster owns (by label), plus the external objects its spec names. */
export interface Observed {
  networks: Network[];
  secrets: Secret[];
  configs: Config[];
  /** The operator's own state configs of the cluster (its record and stored specs). */
  state: Config[];
  services: Service[];
  /** Objects labelled as the cluster's that do not carry its ownership proof: left alone (`<kind> <name>`). */
  lookAlikes: string[];
  external: { networks: Network[]; secrets: Secret[]; configs: Config[] };
}

/** Name → ID for secrets and configs, filled from observed objects and those created in this pass. */
export interface IdIndex {
  secrets: Map<string, string>;
  configs: Map<string, string>;
}
