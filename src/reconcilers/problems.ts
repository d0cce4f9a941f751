// Turns the settled results of parallel writes into Problems that name each failed object.
import type { Problem } from './types.js';

export function failures(results: PromiseSettledResult<unknown>[], objects: string[], reason: string): Problem[] {
  const out: Problem[] = [];
  results.forEach((r, i) => {
    if (r.status === 'rejected') out.push({ object: objects[i], reason, message: (r.reason as Error)?.message ?? String(r.reason) });
  });
  return out;
}
