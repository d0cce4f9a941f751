// The Docker Engine's (20.10, swarm mode) answers that the in-memory port reproduces, in one
// place: its error messages and status codes as the engine sends them (checked against the real
// engine by test/integration/port-contract.test.ts), its label filter, its image reference check
// and its ID shape. Errors are thrown through the docker port's own translate(), so the fake
// throws exactly the classes and messages the real port throws for the same engine answer.
import { createHash } from 'node:crypto';
import type { Labels } from '../api-types.js';
import { translate } from '../docker-port.js';

/** An answer of the engine's HTTP API that is not a success: what the engine would send. */
export interface EngineFailure {
  statusCode: number;
  /** The engine's `message` field, verbatim. */
  message: string;
}

/** The engine's refusals, worded as Docker 20.10 words them. */
export const engine = {
  outOfSequence: (): EngineFailure => ({ statusCode: 500, message: 'rpc error: code = Unknown desc = update out of sequence' }),
  notFound: (kind: string, ref: string): EngineFailure => ({ statusCode: 404, message: `${kind} ${ref} not found` }),
  volumeNotFound: (name: string): EngineFailure => ({ statusCode: 404, message: `get ${name}: no such volume` }),
  alreadyExists: (kind: 'config' | 'secret', name: string): EngineFailure => ({
    statusCode: 409,
    message: `rpc error: code = AlreadyExists desc = ${kind} ${name} already exists`,
  }),
  serviceNameConflict: (name: string): EngineFailure => ({
    statusCode: 409,
    message: `rpc error: code = AlreadyExists desc = name conflicts with an existing object: service ${name} already exists`,
  }),
  networkNameConflict: (name: string): EngineFailure => ({ statusCode: 409, message: `network with name ${name} already exists` }),
  onlyLabels: (): EngineFailure => ({
    statusCode: 400,
    message: 'rpc error: code = InvalidArgument desc = only updates to Labels are allowed',
  }),
  noRename: (): EngineFailure => ({
    statusCode: 501,
    message: 'rpc error: code = Unimplemented desc = renaming services is not supported',
  }),
  invalidImage: (image: string): EngineFailure => ({
    statusCode: 400,
    message: `rpc error: code = InvalidArgument desc = ContainerSpec: ${JSON.stringify(image)} is not a valid repository/tag`,
  }),
  refNotFound: (kind: 'secret' | 'config', names: string[]): EngineFailure => ({
    statusCode: 400,
    message: `rpc error: code = InvalidArgument desc = ${kind} not found: ${names.join(', ')}`,
  }),
  inUseByService: (kind: 'secret' | 'config', name: string, services: string[]): EngineFailure => ({
    statusCode: 400,
    message: `rpc error: code = InvalidArgument desc = ${kind} '${name}' is in use by the following service${services.length > 1 ? 's' : ''}: ${services.join(', ')}`,
  }),
  networkInUse: (networkId: string, serviceId: string): EngineFailure => ({
    statusCode: 400,
    message: `rpc error: code = FailedPrecondition desc = network ${networkId} is in use by service ${serviceId}`,
  }),
  networkNotFoundForService: (ref: string): EngineFailure => ({ statusCode: 500, message: `network ${ref} not found` }),
  volumeInUse: (name: string, containers: string[]): EngineFailure => ({
    statusCode: 409,
    message: `remove ${name}: volume is in use - [${containers.join(', ')}]`,
  }),
};

/** The error the docker port throws for this engine answer (same class, same message). */
export function engineError(call: string, target: string, f: EngineFailure): Error {
  // The shape docker-modem gives a failed request: translate() reads statusCode and json.message.
  return translate(call, target, { statusCode: f.statusCode, json: { message: f.message }, message: `(HTTP code ${f.statusCode})` });
}

/** The engine's label filter: every `key` must be present and every `key=value` must match exactly. */
export function matchesLabels(labels: Labels | null | undefined, filter: readonly string[] | undefined): boolean {
  if (!filter?.length) return true;
  const have = labels ?? {};
  return filter.every((f) => {
    const eq = f.indexOf('=');
    if (eq === -1) return Object.hasOwn(have, f);
    return Object.hasOwn(have, f.slice(0, eq)) && have[f.slice(0, eq)] === f.slice(eq + 1);
  });
}

// docker/distribution's reference grammar, reduced to what the engine's check refuses in practice:
// path components are lowercase, a domain may carry a port, a tag is at most 128 word characters,
// a digest is algorithm:hex.
const COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const DOMAIN = '(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?/)?';
const REFERENCE = new RegExp(
  `^${DOMAIN}${COMPONENT}(?:/${COMPONENT})*(?::[\\w][\\w.-]{0,127})?(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?$`,
);

export function isValidImageReference(image: string): boolean {
  return image.length > 0 && image.length <= 255 && REFERENCE.test(image);
}

/** Deterministic IDs shaped like swarmkit's (25 lowercase alphanumerics), or 64 hex for containers. */
export function idMaker(seed: string): { next(): string; container(): string } {
  let n = 0;
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const digest = () => createHash('sha256').update(`${seed}/${++n}`).digest();
  return {
    next: () =>
      Array.from(digest().subarray(0, 25))
        .map((b) => alphabet[b % alphabet.length])
        .join(''),
    container: () => digest().toString('hex'),
  };
}
