// The checks a JSON Schema cannot express, run on the spec with defaults applied (so defaults
// that point nowhere are caught too): references between parts of the spec, Docker's rules for
// what the operator will create, values that must parse, published port collisions. Each
// problem names the path the user can change; every check runs, none stops the others.
import { ProblemReporter, type Locate } from './report.js';
import type { BzzzCluster } from './types.js';
import {
  checkIngress,
  checkInstances,
  checkNetworks,
  checkNodes,
  checkPublishedPortsReachable,
  checkSecretsAndConfigs,
  checkApiCallers,
} from './checks/references.js';
import { checkDockerNames, checkImages, checkReservedLabels, checkVolumeMounts } from './checks/docker-rules.js';
import { checkRotation } from './checks/rotation.js';
import { checkDurationsAndSizes, checkElection, checkPolicies, checkReserved } from './checks/values.js';
import { checkPortCollisions } from './checks/ports.js';
import { checkAnalysis, checkRollbackTriggers } from './checks/rollouts.js';
import { checkMigration, checkV1 } from './checks/v1.js';
import { checkBackups } from './checks/backups.js';

export type SemanticCheck = (cluster: BzzzCluster, report: ProblemReporter) => void;

export const SEMANTIC_CHECKS: readonly SemanticCheck[] = [
  checkNodes,
  checkInstances,
  checkElection,
  checkNetworks,
  checkSecretsAndConfigs,
  checkApiCallers,
  checkDockerNames,
  checkReservedLabels,
  checkImages,
  checkDurationsAndSizes,
  checkPolicies,
  checkVolumeMounts,
  checkIngress,
  checkReserved,
  checkPortCollisions,
  checkPublishedPortsReachable,
  checkAnalysis,
  checkRollbackTriggers,
  checkV1,
  checkMigration,
  checkRotation,
  checkBackups,
];

/**
 * Runs every semantic check on `cluster` (defaults applied). `schemaValid` false means the
 * schema already found problems: a check that trips over a malformed part is skipped, since
 * that part has been reported.
 */
export function semanticProblems(cluster: BzzzCluster, raw: unknown, locate: Locate, schemaValid: boolean): ProblemReporter {
  const report = new ProblemReporter(locate, raw);
  for (const check of SEMANTIC_CHECKS) {
    try {
      check(cluster, report);
    } catch (err) {
      if (schemaValid) throw err;
    }
  }
  return report;
}
