// How the agent decides who may call its API, from its settings: the callers file when given
// (read with a size limit before parsing — a callers file is small, a path to /dev/zero is not),
// otherwise the insecure open mode when asked for explicitly, otherwise the API does not start.
import { open } from 'node:fs/promises';
import { InvalidInputError } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import { MAX_CALLERS_BYTES, parseApiCallers, type ApiCallerList } from '../crypto/api-callers.js';
import type { AgentConfig } from './config.js';
import type { ApiAccess } from './http/auth.js';

/** Neither a callers file nor the explicit insecure mode: the API would be open to anyone. */
export class ApiAccessNotConfiguredError extends InvalidInputError {}

export async function loadApiCallersFile(path: string): Promise<ApiCallerList> {
  let text: string;
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(path, 'r');
    const buf = Buffer.alloc(MAX_CALLERS_BYTES + 1);
    let filled = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buf, filled, buf.byteLength - filled, null);
      if (bytesRead === 0) break;
      filled += bytesRead;
      if (filled > MAX_CALLERS_BYTES) break;
    }
    text = buf.subarray(0, filled).toString('utf8');
  } catch (err) {
    throw new InvalidInputError(
      `--api-callers (BZZZ_API_CALLERS_FILE) ${path} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): give the callers file the operator wrote`,
      { cause: err },
    );
  } finally {
    await handle?.close().catch(() => undefined);
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
