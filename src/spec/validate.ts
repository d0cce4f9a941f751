// Validation of a spec's text: syntax, then the ahead-of-time compiled JSON Schema, then the
// semantic checks — every problem from every stage is collected, each with its path and line.
import { validate as validateSchema } from './generated/validate-schema.js';
import { parseSpecText } from './load.js';
import { withDefaults } from './defaults.js';
import { semanticProblems } from './semantic.js';
import { schemaProblems } from './schema-problems.js';
import { sortProblems, type SpecProblem } from './problems.js';
import type { BzzzCluster } from './types.js';

export type ValidationResult =
  | { ok: true /** Defaults applied. */; cluster: BzzzCluster /** As written. */; raw: BzzzCluster }
  | { ok: false; problems: SpecProblem[] };

/** Validates a spec's text; `filename` only tells YAML from JSON in messages. */
export function validateSpecText(text: string, filename: string): ValidationResult {
  const parsed = parseSpecText(text);
  if (parsed.value === undefined) {
    const json = filename.toLowerCase().endsWith('.json');
    return { ok: false, problems: parsed.problems.map((p) => (json ? { ...p, expected: 'valid JSON' } : p)) };
  }
  const value = parsed.value;
  const schemaValid = validateSchema(value);
  const problems = schemaValid ? [] : schemaProblems(validateSchema.errors ?? [], value, parsed);

  const resolved = schemaValid ? withDefaults(value) : tryDefaults(value);
  if (resolved) {
    const semantic = semanticProblems(resolved, value, parsed.locate, schemaValid).problems;
    // A part the schema refused is reported once, by the schema.
    const refused = problems.map((p) => p.path);
    problems.push(
      ...semantic.filter((s) => !refused.some((r) => s.path === r || s.path.startsWith(`${r}.`) || s.path.startsWith(`${r}[`))),
    );
  }
  if (problems.length > 0) return { ok: false, problems: sortProblems(problems) };
  return { ok: true, cluster: resolved!, raw: value as BzzzCluster };
}

/** Defaults of a spec the schema refused: only when its skeleton is there, else nothing to check. */
function tryDefaults(value: unknown): BzzzCluster | undefined {
  const v = value as Partial<BzzzCluster> | null;
  if (!v || typeof v !== 'object' || typeof v.metadata?.name !== 'string' || typeof v.spec !== 'object' || v.spec === null)
    return undefined;
  if (!v.spec.agent || typeof v.spec.agent !== 'object' || !Array.isArray(v.spec.agent.instances)) return undefined;
  try {
    return withDefaults(v as BzzzCluster);
  } catch {
    return undefined;
  }
}
