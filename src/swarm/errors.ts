// Errors of the engine adapter that callers above it tell apart (the in-memory port throws the
// same ones, through the same translation).
import { BzzzError } from '../util/errors.js';

/** A Docker API call failed: names the call and the object; keeps the engine's message. */
export class EngineCallError extends BzzzError {
  constructor(
    readonly call: string,
    readonly target: string,
    readonly statusCode: number | undefined,
    message: string,
    cause: unknown,
  ) {
    super(`${call} ${target}: ${message}`, { cause });
  }
}

/**
 * The engine refused an object's spec as invalid (HTTP 400: a malformed image reference, a
 * mount it cannot make) — not because of another object (a port or name in use, a reference not
 * created yet). Retrying the same spec cannot succeed: the generation has failed.
 */
export class SpecRefusedError extends EngineCallError {
  constructor(call: string, target: string, statusCode: number | undefined, engineMsg: string, cause: unknown) {
    super(call, target, statusCode, `the engine refused it: ${engineMsg}`, cause);
  }
}
