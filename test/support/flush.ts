// Let promise callbacks and I/O callbacks queued so far run (no wall-clock waiting): tests that
// drive a ManualClock (src/util/clock.ts) call it after advancing time.
export async function flush(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}
