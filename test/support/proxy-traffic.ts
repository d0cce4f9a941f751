// Requests through a proxy while something switches behind it (the rollback to v1): every ~50 ms a
// GET with a 1 s timeout, each recorded with who answered (HAProxy's X-Served-By), and the longest
// run of failed requests — what a user of the cluster would have seen. Shared by the e2e test and
// the benchmark (test/e2e/rollback-v1.test.ts, test/bench/rollback-v1.ts).

export interface Sample {
  at: number;
  ok: boolean;
  by?: string;
}

export interface Traffic {
  samples: Sample[];
  stop(): Promise<void>;
}

/** GET `${url}/health/live` every 50 ms until stop(); `now` stamps each request's start. */
export function startTraffic(url: string, now: () => number = Date.now): Traffic {
  const samples: Sample[] = [];
  const pending = new Set<Promise<void>>();
  const timer = setInterval(() => {
    const at = now();
    const p = fetch(`${url}/health/live`, { signal: AbortSignal.timeout(1000) })
      .then(async (r) => {
        await r.arrayBuffer();
        samples.push({ at, ok: r.ok, by: r.headers.get('x-served-by') ?? undefined });
      })
      .catch(() => {
        samples.push({ at, ok: false });
      })
      .finally(() => pending.delete(p));
    pending.add(p);
  }, 50);
  return {
    samples,
    async stop() {
      clearInterval(timer);
      await Promise.all([...pending]);
    },
  };
}

/** The longest run of failed requests in [from, to]: first failure's start to the next success's start (ms). */
export function longestOutage(samples: Sample[], from = 0, to = Number.POSITIVE_INFINITY): { ms: number; failed: number; total: number } {
  const s = samples.filter((x) => x.at >= from && x.at <= to).sort((a, b) => a.at - b.at);
  let longest = 0;
  let start: number | undefined;
  for (const x of s) {
    if (!x.ok) start ??= x.at;
    else if (start !== undefined) {
      longest = Math.max(longest, x.at - start);
      start = undefined;
    }
  }
  if (start !== undefined) longest = Math.max(longest, (s.at(-1)?.at ?? start) - start + 50);
  return { ms: longest, failed: s.filter((x) => !x.ok).length, total: s.length };
}
