// bzzzctl validate -f FILE [-o text|json|yaml]: schema and semantic checks, every problem with
// its path and line. Exit 0 when valid, 1 when not. Reads the file; writes nothing anywhere.
import { resolve } from 'node:path';
import { errorMessage } from '../../util/errors.js';
import { readSpecText } from '../../spec/index.js';
import { formatProblems, type SpecProblem } from '../../spec/problems.js';
import { validateSpecText } from '../../spec/validate.js';
import { COMPANION_NAMES } from '../../spec/defaults.js';
import type { BzzzCluster } from '../../spec/types.js';

export interface ValidateOptions {
  filename: string;
  output: 'text' | 'json' | 'yaml';
}

interface ValidateReport {
  valid: boolean;
  file: string;
  cluster?: { name: string; version: string; instances: string[]; services: string[] };
  problems: SpecProblem[];
}

export async function validateCommand(opts: ValidateOptions): Promise<number> {
  const report = await validateFile(opts.filename);
  const out =
    opts.output === 'json'
      ? `${JSON.stringify(report, null, 2)}\n`
      : opts.output === 'yaml'
        ? (await import('yaml')).stringify(report)
        : renderText(report);
  process.stdout.write(out);
  return report.valid ? 0 : 1;
}

async function validateFile(filename: string): Promise<ValidateReport> {
  let text: string;
  try {
    text = await readSpecText(resolve(filename), filename);
  } catch (err) {
    return {
      valid: false,
      file: filename,
      problems: [{ path: '', found: 'no readable file', expected: 'a BzzzCluster YAML or JSON file', message: errorMessage(err) }],
    };
  }
  const result = validateSpecText(text, filename);
  if (!result.ok) return { valid: false, file: filename, problems: result.problems };
  return { valid: true, file: filename, cluster: summary(result.cluster), problems: [] };
}

function summary(cluster: BzzzCluster): NonNullable<ValidateReport['cluster']> {
  return {
    name: cluster.metadata.name,
    version: cluster.spec.version,
    instances: cluster.spec.agent.instances.map((i) => i.name),
    services: COMPANION_NAMES.filter((n) => cluster.spec.services?.[n]?.enabled !== false),
  };
}

function renderText(report: ValidateReport): string {
  if (report.valid && report.cluster) {
    const c = report.cluster;
    const services = c.services.length ? c.services.join(', ') : 'none';
    return `${report.file}: valid — cluster ${c.name} (BZZZ ${c.version}): ${c.instances.length} agent instance${c.instances.length === 1 ? '' : 's'} (${c.instances.join(', ')}); services: ${services}\n`;
  }
  const n = report.problems.length;
  return `${report.file}: invalid — ${n} problem${n === 1 ? '' : 's'}\n${formatProblems(report.problems, report.file)}\n`;
}
