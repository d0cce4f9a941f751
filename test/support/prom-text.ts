// Reads the Prometheus text exposition format as a scraper would (the sample lines only), for
// tests that assert on what an agent's /metrics shows.
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export function parsePromText(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)/.exec(line);
    if (m === null) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

/** Sum of the samples named `name` whose labels include `labels` (undefined when none matches). */
export function sumOf(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const hits = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  return hits.length === 0 ? undefined : hits.reduce((a, s) => a + s.value, 0);
}

/** Scrapes `<healthUrl>/metrics` and returns a reader of sums. */
export async function scrape(healthUrl: string): Promise<(name: string, labels?: Record<string, string>) => number | undefined> {
  const res = await fetch(`${healthUrl}/metrics`, { signal: AbortSignal.timeout(10_000) });
  if (res.status !== 200) throw new Error(`GET ${healthUrl}/metrics answered ${res.status}`);
  const samples = parsePromText(await res.text());
  return (name, labels) => sumOf(samples, name, labels);
}
