// The one polling loop of the CLI and one-off operations (wait for a controller to observe a
// generation, for agents to elect an admin, for removed objects to go): read, check, sleep,
// until the condition holds or the deadline passes. Controllers never poll: they requeue.

export interface PollOptions<T> {
  /** Stop once this holds for a value read. */
  until(value: T): boolean;
  /** Clock time (Date.now() scale) after which the last value is returned with `met: false`. */
  deadline: number;
  /** Pause between reads; may depend on the value (e.g. slower while something is failing). */
  everyMs: number | ((value: T) => number);
  /** Each value read, e.g. to update a progress line. */
  onValue?(value: T): void;
  /** Stops polling at the next read, returning `met: false`. */
  signal?: AbortSignal;
  now?: () => number;
}

export async function poll<T>(read: () => Promise<T>, opts: PollOptions<T>): Promise<{ value: T; met: boolean }> {
  const now = opts.now ?? Date.now;
  for (;;) {
    const value = await read();
    opts.onValue?.(value);
    if (opts.until(value)) return { value, met: true };
    if (now() > opts.deadline || opts.signal?.aborted) return { value, met: false };
    const ms = typeof opts.everyMs === 'function' ? opts.everyMs(value) : opts.everyMs;
    await new Promise((r) => setTimeout(r, ms));
  }
}
