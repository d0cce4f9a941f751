// spec.backups: what the schema cannot say. The schedules parse as node-cron reads them, the time
// zone exists, the identity is a secret the controller can have mounted (file, env or external:
// a generated value is random text, not an age identity), a part asked for exists, the retention
// keeps something, the verify share is a share. Whether the repository is writable is a fact of
// the controller's node, checked when a job starts (`bzzzctl backup`, the controller).
import type { ProblemReporter } from '../report.js';
import type { BzzzCluster } from '../types.js';
import { cronProblem, isTimeZone } from '../../util/cron.js';

export function checkBackups(cluster: BzzzCluster, report: ProblemReporter): void {
  const b = cluster.spec.backups;
  if (!b) return;
  const schedules: Array<[string, string[]]> = [[b.schedule, ['spec', 'backups', 'schedule']]];
  if (b.drill) schedules.push([b.drill.schedule, ['spec', 'backups', 'drill', 'schedule']]);
  for (const [expr, path] of schedules) {
    const problem = cronProblem(expr);
    if (problem)
      report.add(
        path,
        JSON.stringify(expr),
        'a cron expression such as "0 3 * * *" (minute hour day-of-month month day-of-week)',
        `schedule ${JSON.stringify(expr)} does not parse: ${problem}; write five fields (or six with seconds first)`,
      );
  }
  if (b.timeZone !== undefined && !isTimeZone(b.timeZone))
    report.add(
      ['spec', 'backups', 'timeZone'],
      JSON.stringify(b.timeZone),
      'an IANA time zone such as UTC or Europe/Berlin',
      `time zone ${JSON.stringify(b.timeZone)} is not known here: use a name from the IANA database (e.g. Europe/Berlin), or leave it out for UTC`,
    );
  const key = cluster.spec.secrets?.[b.identitySecret];
  if (!key)
    report.add(
      ['spec', 'backups', 'identitySecret'],
      `secret ${b.identitySecret}`,
      'a secret of spec.secrets',
      `the backup identity secret \`${b.identitySecret}\` is not declared in spec.secrets: add it with a file, env or external source holding an age identity (age-keygen); the controller reads it as <cluster>_${b.identitySecret} from its secrets directory`,
    );
  else if (key.generate !== undefined)
    report.add(
      ['spec', 'backups', 'identitySecret'],
      `generated secret ${b.identitySecret}`,
      'a secret whose source is file, env or external',
      `the backup identity secret \`${b.identitySecret}\` is generated, which makes random text, not an age identity: give one made by age-keygen (file, env or external), and keep a copy outside the cluster`,
    );
  const pg = cluster.spec.services?.postgres;
  if (b.include?.postgres === true && (!pg || pg.enabled === false))
    report.add(
      ['spec', 'backups', 'include', 'postgres'],
      'true',
      'spec.services.postgres enabled, or include.postgres false',
      'backups include PostgreSQL but the cluster runs none: enable spec.services.postgres or set include.postgres to false',
    );
  const r = b.retention;
  if (r && !((r.keepLast ?? 0) + (r.keepDaily ?? 0) + (r.keepWeekly ?? 0) + (r.keepMonthly ?? 0)))
    report.add(
      ['spec', 'backups', 'retention'],
      JSON.stringify(r),
      'at least one keep rule above 0',
      'this retention keeps no snapshot, so every backup would be forgotten right after it is taken: set keepLast (or keepDaily/Weekly/Monthly) to 1 or more, or leave retention out to keep all',
    );
  const subset = b.verify?.readDataSubset;
  if (subset !== undefined && !(Number.parseFloat(subset) > 0))
    report.add(
      ['spec', 'backups', 'verify', 'readDataSubset'],
      JSON.stringify(subset),
      'a share above 0%, e.g. "5%"',
      'a 0% read-data subset reads nothing: give a share such as "5%", or leave readDataSubset out for a structure-only check',
    );
}

/** The share of packs "5%" names, as a percentage (0–100), or undefined when not a share. */
export function parseSubsetPercent(text: string): number | undefined {
  const m = /^(\d{1,3}(?:\.\d+)?)%$/.exec(text.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  return n > 0 && n <= 100 ? n : undefined;
}
