// bzzzctl api-token NAME [--role R]: a bearer token for the agents' API, acting with role R
// (caller `bzzzctl-<R>`). Derived from the cluster's ownership key, so whoever can reach the
// swarm's managers can get one and nobody stores it. It is printed on stdout only — for a
// script or `curl -H "Authorization: Bearer $(bzzzctl api-token dev)"` — and never logged.
import { isRole, ROLES, type Role } from '../../crypto/roles.js';
import { cliCaller, deriveApiToken } from '../../crypto/derive.js';
import { BzzzError, InvalidInputError, NotFoundError } from '../../util/errors.js';
import { EXIT_OK } from '../../util/exit-codes.js';
import { cliContext } from '../context.js';
import { printDocument, type OutputFormat } from '../output.js';

export async function apiTokenCommand(name: string, opts: { role: string; output: OutputFormat }): Promise<number> {
  if (!isRole(opts.role)) throw new InvalidInputError(`--role ${opts.role}: not a role; use one of ${ROLES.join(', ')}`);
  const role: Role = opts.role;
  const rec = await cliContext().store.get(name);
  if (!rec) throw new NotFoundError(`cluster ${name} not found: apply it first (bzzzctl apply -f FILE)`);
  if (!rec.ownerKey) {
    throw new BzzzError(`cluster ${name} was stored before ownership keys: its agents have no built-in callers; delete and apply it again`);
  }
  const token = deriveApiToken(rec.ownerKey, cliCaller(role));
  if (opts.output === 'text') process.stdout.write(`${token}\n`);
  else printDocument({ cluster: name, caller: cliCaller(role), role, token }, opts.output);
  return EXIT_OK;
}
