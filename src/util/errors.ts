// Named error classes, one per condition (js-libp2p style). Messages are written for people:
// they name the object or field, say what was wrong and what to do. `cause` is kept.

export class BzzzError extends Error {
  /** Process exit code a CLI command should use for this error. */
  readonly exitCode: number = 2;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The user's input is wrong (spec, flags). Exit code 1 for validate-like commands. */
export class InvalidInputError extends BzzzError {
  override readonly exitCode: number = 1;
}

/** A Docker object changed under us (version mismatch): retry after re-reading. */
export class ConflictError extends BzzzError {}

/** Something the command needs is missing (engine not reachable, cluster not found). */
export class NotFoundError extends BzzzError {}

/** The Docker engine is not reachable or not in swarm mode. */
export class EngineUnavailableError extends BzzzError {}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
