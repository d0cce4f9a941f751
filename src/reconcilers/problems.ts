// Turns the settled results of parallel writes into Problems that name each failed object. A spec
// the engine refused is terminal: the generation has failed and is not retried.
import { SpecRefusedError } from '../swarm/errors.js';
import type { Problem } from './types.js';

export function failures(results: PromiseSettledResult<unknown>[], objects: string[], reason: string): Problem[] {
  const out: Problem[] = [];
  results.forEach((r, i) => {
    if (r.status !== 'rejected') return;
    const message = (r.reason as Error)?.message ?? String(r.reason);
    if (r.reason instanceof SpecRefusedError) out.push({ object: objects[i], reason: 'EngineRefused', message, terminal: true });
    else out.push({ object: objects[i], reason, message });
  });
  return out;
}
