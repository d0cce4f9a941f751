// The contract between a reconciler and the controller that runs it (controller-runtime's
// Reconciler): a request is only a key; the result may ask for a requeue; a TerminalError is
// recorded, not retried. Defined here, below the controller, so reconcilers never import it.
import { BzzzError } from '../util/errors.js';

/** What one reconcile pass reports back to the manager. */
export interface ReconcileResult {
  /** Reconcile this cluster again after this long even if no event arrives (e.g. a rollout in progress). */
  requeueAfterMs?: number;
  /** Hand-made changes this pass undid (counted in bzzz_operator_drift_corrections_total). */
  driftCorrected?: number;
  /** Engine write calls this pass made (counted in bzzz_operator_engine_writes_total). */
  writes?: number;
}

export interface Reconciler {
  reconcile(cluster: string, signal: AbortSignal): Promise<ReconcileResult>;
}

/**
 * A failure that retrying cannot fix (e.g. a spec the engine refuses): logged and recorded, not
 * retried until the next event, resync or spec change enqueues the cluster again.
 */
export class TerminalError extends BzzzError {}
