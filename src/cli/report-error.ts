// One place that turns an error into a message for people and an exit code.
import { BzzzError, errorMessage } from '../util/errors.js';
import { EXIT_ERROR } from '../util/exit-codes.js';

export function reportError(err: unknown): number {
  const msg = errorMessage(err);
  process.stderr.write(`error: ${msg}\n`);
  if (process.env.BZZZ_DEBUG && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
  return err instanceof BzzzError ? err.exitCode : EXIT_ERROR;
}
