// How the agent decides who may call its API, from its settings: the callers file when given
// (read with a size limit before parsing — a callers file is small, a path to /dev/zero is not),
// otherwise the insecure open mode when asked for explicitly, otherwise the API does not start.
import { readUpTo } from '../util/read-up-to.js';
import { InvalidInputError } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import { MAX_CALLERS_BYTES, parseApiCallers, type ApiCallerList } from '../crypto/api-callers.js';
import type { AgentConfig } from './config.js';
import type { ApiAccess } from './http/auth.js';

/** Neither a callers file nor the explicit insecure mode: the API would be open to anyone. */
export class ApiAccessNotConfiguredError extends InvalidInputError {}

export async function loadApiCallersFile(path: string): Promise<ApiCallerList> {
  let text: string;
  try {
    // One byte over the limit is enough for the parser to refuse the file as too large.
    text = (await readUpTo(path, MAX_CALLERS_BYTES + 1)).toString('utf8');
  } catch (err) {
    throw new InvalidInputError(
      `--api-callers (BZZZ_API_CALLERS_FILE) ${path} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): give the callers file the operator wrote`,
      { cause: err },
    );
  }
  return parseApiCallers(text, `--api-callers ${path}`);
}

export async function apiAccessFor(config: AgentConfig, log: Logger): Promise<ApiAccess> {
  if (config.apiCallersFile !== undefined) {
    const callers = await loadApiCallersFile(config.apiCallersFile);
    log.info({ callers: callers.callers.length, roles: [...new Set(callers.callers.map((c) => c.role))] }, 'API callers loaded');
    return { mode: 'callers', callers };
  }
  if (config.insecureOpenCluster) {
    log.warn(
      { role: config.role },
      'INSECURE: the API runs without callers (--insecure-open-cluster): anyone who reaches the API port acts with this agent role',
    );
    return { mode: 'open', role: config.role };
  }
  throw new ApiAccessNotConfiguredError(
    'the agent API has no callers: give it --api-callers FILE (BZZZ_API_CALLERS_FILE; the operator writes it, with one token hash and role per caller), or run a laboratory cluster with --insecure-open-cluster, where anyone reaching the API acts with the agent role',
  );
}
