// The BzzzCluster spec: load a file, validate it (schema + semantic checks, every problem with
// its path and line), fill defaults, read secret/config sources, convert units.
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { InvalidInputError, errorMessage } from '../util/errors.js';
import { SpecInvalidError } from './problems.js';
import { validateSpecText } from './validate.js';
import type { BzzzCluster } from './types.js';

export type * from './types.js';
export { API_VERSION, KIND } from './types.js';
export { validateSpecText, type ValidationResult } from './validate.js';
export { formatProblems, formatPath, SpecInvalidError, type SpecProblem, type PathSegment } from './problems.js';
export { parseDurationMs, parseDurationNs, parseMemoryBytes, cpusToNano } from './units.js';
export {
  withDefaults,
  COMPANIONS,
  COMPANION_NAMES,
  COMPANION_COMPONENT,
  DEFAULT_AGENT_PORTS,
  DEFAULT_UPDATE_POLICY,
  DEFAULT_ROLLBACK_POLICY,
  DEFAULT_NETWORKS,
} from './defaults.js';
export { enabledComponents, agentServiceName, companionServiceName, type ComponentRef } from './components.js';
export { parseImageRef, withDefaultTag, type ImageRef } from './image-ref.js';
export { readSecretValues, readConfigValues, MAX_SECRET_BYTES, MAX_CONFIG_BYTES } from './sources.js';

export interface LoadedSpec {
  /** The spec with every default filled in. */
  cluster: BzzzCluster;
  /** The spec as written. */
  raw: BzzzCluster;
  /** Absolute path of the file. */
  file: string;
  /** Directory of the file: secret and config `file` sources are relative to it. */
  baseDir: string;
  /** The file's text, as read. */
  text: string;
}

/** Reads and validates a spec file; throws SpecInvalidError (with every problem) when invalid. */
export async function loadSpecFile(path: string): Promise<LoadedSpec> {
  const file = resolve(path);
  const text = await readSpecText(file, path);
  const result = validateSpecText(text, file);
  if (!result.ok) throw new SpecInvalidError(path, result.problems);
  return { cluster: result.cluster, raw: result.raw, file, baseDir: dirname(file), text };
}

/** Reads a spec file with an error for people when it cannot be read. */
export async function readSpecText(file: string, shown = file): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist' : code === 'EISDIR' ? 'is a directory' : `cannot be read (${errorMessage(err)})`;
    throw new InvalidInputError(`spec file ${shown} ${why}; pass the path of a BzzzCluster YAML or JSON file with -f`, { cause: err });
  }
}
