// What the analysis asks of a source of measurements: one number for one query, now or at a past
// moment (the baseline is measured as it was just before the rollout started). Providers differ
// (Prometheus, the agents' own /metrics) but fail the same way: a MeasurementError, which the run
// counts as a measurement error (consecutiveErrorLimit), never as a failed or passed measurement.
import { BzzzError } from '../../util/errors.js';

export type Measurement = { value: number } | { noData: true };

export interface MetricsProvider {
  /** One number for `query` at `at` (default: now). `{ noData: true }` when the query matched nothing. Throws MeasurementError. */
  measure(query: string, at?: Date): Promise<Measurement>;
}

/** The measurement could not be taken (unreachable, timed out, too large, malformed or ambiguous answer). The message says which. */
export class MeasurementError extends BzzzError {}
