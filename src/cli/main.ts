// bzzzctl: verbs and flags are declared here (cheap); each verb's implementation is imported
// only when it runs, so `bzzzctl validate` does not load libp2p and `bzzzctl agent run` does not
// load the Docker client. Exit codes: 0 ok, 1 invalid input / differences found (diff), 2 error.
import { Command, Option } from 'commander';
import { VERSION } from '../version.js';
import { EXIT_INVALID, EXIT_OK } from '../util/exit-codes.js';

function run<A extends unknown[]>(load: () => Promise<(...args: A) => Promise<number | undefined>>) {
  return async (...args: A): Promise<void> => {
    const fn = await load();
    const code = await fn(...args);
    if (typeof code === 'number') process.exitCode = code;
  };
}

const outputOption = () => new Option('-o, --output <format>', 'output format').choices(['text', 'json', 'yaml']).default('text');

export function buildProgram(): Command {
  const program = new Command('bzzzctl')
    .description('Run a BZZZ v2 cluster on Docker Swarm from one declarative BzzzCluster spec, and run BZZZ agents.')
    .version(VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .configureHelp({ sortSubcommands: false });

  program
    .command('validate')
    .description(
      'Check a BzzzCluster spec (schema and semantic checks). Exit 0 when valid, 1 with every problem listed when not. Writes nothing.',
    )
    .requiredOption('-f, --filename <file>', 'spec file (YAML or JSON)')
    .addOption(outputOption())
    .action(run(() => import('./commands/validate.js').then((m) => m.validateCommand)));

  program
    .command('apply')
    .description(
      'Store the spec in the swarm as a new generation and converge the swarm to it. With a running controller it is a rollout: apply waits for the rollout to succeed (analysis and its watch window included) and exits 0, 2 when it is rolled back or fails, 3 when it pauses, 4 when it still runs undecided at --timeout. With no controller it reconciles in-process (no analysis) and exits 0 once Ready.',
    )
    .requiredOption('-f, --filename <file>', 'spec file (YAML or JSON)')
    .option('--timeout <duration>', 'how long to wait for convergence', '120s')
    .option('--no-wait', 'return once the spec is stored (and written, when reconciling in-process) without waiting for tasks to run')
    .addOption(outputOption())
    .action(run(() => import('./commands/apply.js').then((m) => m.applyCommand)));

  program
    .command('diff')
    .description(
      'Show, per object and field, what apply would create, change or remove. Writes nothing. Exit 0: no changes, 1: changes, 2: error.',
    )
    .requiredOption('-f, --filename <file>', 'spec file (YAML or JSON)')
    .addOption(outputOption())
    .action(run(() => import('./commands/diff.js').then((m) => m.diffCommand)));

  program
    .command('status')
    .description("Show generation, observedGeneration, conditions and each component's desired and running tasks.")
    .argument('[name]', 'cluster name (all clusters when omitted)')
    .addOption(outputOption())
    .action(run(() => import('./commands/status.js').then((m) => m.statusCommand)));

  program
    .command('api-token')
    .description(
      "Print a bearer token for the agents' HTTP API that acts with --role (derived from the cluster's ownership key; anyone who can reach the swarm's managers can get one). Use: curl -H \"Authorization: Bearer $(bzzzctl api-token NAME)\" …",
    )
    .argument('<name>', 'cluster name')
    .option('--role <role>', 'role the token acts with: observer, backend_developer, senior_software_architect, admin', 'observer')
    .addOption(outputOption())
    .action(run(() => import('./commands/api-token.js').then((m) => m.apiTokenCommand)));

  program
    .command('delete')
    .description('Remove everything the cluster owns (services, secrets, configs, networks, stored spec) and nothing else.')
    .argument('<name>', 'cluster name')
    .option('--timeout <duration>', 'how long to wait for removal', '60s')
    .action(run(() => import('./commands/delete.js').then((m) => m.deleteCommand)));

  program
    .command('up')
    .description(
      'Start a BZZZ cluster on this swarm: check the engine, build the images offline if missing, store and reconcile the spec, deploy the controller as a swarm service, and show progress until every agent is healthy with an elected admin. Running it again changes nothing.',
    )
    .option('-f, --filename <file>', 'spec file (default: stacks/examples/dev.yaml of this package)')
    .option('--install', 'install and start a Docker engine in swarm mode on Debian when none is reachable')
    .option('--timeout <duration>', 'how long to wait for the cluster to be ready', '300s')
    .option('--metrics-port <port>', "host port for the controller's /metrics and /healthz (0: none)", '9464')
    .addOption(outputOption())
    .action(run(() => import('./commands/up.js').then((m) => m.upCommand)));

  program
    .command('down')
    .description(
      'Remove what up made: the cluster (everything it owns) and, when no other cluster is left, the controller service. Images stay.',
    )
    .option('-f, --filename <file>', 'spec file (default: stacks/examples/dev.yaml of this package)')
    .option('--timeout <duration>', 'how long to wait for removal', '120s')
    .action(run(() => import('./commands/down.js').then((m) => m.downCommand)));

  const rollout = program
    .command('rollout')
    .description(
      'Rollouts of the whole stack: follow one, list revisions, bring an earlier revision back, pause, resume or abort. Exit codes of status: 0 succeeded, 2 rolled back or aborted, 3 paused, 4 in progress.',
    );
  rollout
    .command('status')
    .description(
      'The current rollout: phase, each service, each analysis rule (measurements, baseline, last value), the cause of a pause or rollback.',
    )
    .argument('<name>', 'cluster name')
    .option('-w, --watch', 'follow it until it succeeds, pauses or is rolled back')
    .option('--timeout <duration>', 'how long --watch follows it', '30m')
    .addOption(outputOption())
    .action(run(() => import('./commands/rollout.js').then((m) => m.rolloutStatusCommand)));
  rollout
    .command('history')
    .description('Revisions kept: generation, when and by whom applied, outcome and reason, images, secret and config versions (-o json).')
    .argument('<name>', 'cluster name')
    .addOption(outputOption())
    .action(run(() => import('./commands/rollout.js').then((m) => m.rolloutHistoryCommand)));
  rollout
    .command('undo')
    .description(
      'Bring back the whole stack at an earlier revision (every service, config version and secret version) as one new generation, rolled out like an apply.',
    )
    .argument('<name>', 'cluster name')
    .option('--to-revision <n>', 'the revision (default: the last known good one)')
    .option('--timeout <duration>', 'how long to wait for convergence', '300s')
    .option('--no-wait', 'return once the generation is stored')
    .addOption(outputOption())
    .action(run(() => import('./commands/rollout.js').then((m) => m.rolloutUndoCommand)));
  for (const [verb, what] of [
    ['pause', 'Hold the current rollout: no further service is updated and analysis stops until resume or abort.'],
    ['resume', 'Go on with a paused rollout; its analysis starts counting afresh.'],
    ['abort', 'Roll the whole stack back to the stable revision now; the generation is not rolled forward again until the spec changes.'],
  ] as const) {
    rollout
      .command(verb)
      .description(what)
      .argument('<name>', 'cluster name')
      .addOption(outputOption())
      .action(
        run(() =>
          import('./commands/rollout.js').then(
            (m) => (name: string, opts: { output: 'text' | 'json' | 'yaml' }) => m.rolloutVerbCommand(verb, name, opts),
          ),
        ),
      );
  }

  program
    .command('rollback')
    .description(
      'Switch the cluster between v2 and the v1 systemd services (spec.v1). --to v1: record v2, start the v1 units on every host in parallel, verify the v1 mesh, switch the proxy, park the v2 services at zero replicas (nothing deleted), tell Slack. --to v2: the way back. Each step is journaled in the swarm: run by the controller when one runs (else here), resumed after a crash, done once. Exit 0 done (or nothing to do), 2 failed (the side that served goes on serving), 4 still running at --timeout.',
    )
    .argument('<name>', 'cluster name')
    .requiredOption('--to <side>', 'v1 (the systemd services) or v2 (the swarm stack)')
    .option('--dry-run', 'print the plan with the hosts, units and proxy commands; change nothing')
    .option('--min-hosts <n>', 'go on when this many v1 hosts come up (default spec.v1.minHosts, else all)')
    .option('-i, --identity <file>', 'SSH private key of spec.v1.ssh.privateKeySecret (when no controller runs the plan)')
    .option('--secrets-dir <dir>', 'where <cluster>_<secret> key files are mounted', '/run/secrets')
    .option('--timeout <duration>', 'how long to wait for the plan', '10m')
    .option('--no-wait', 'return once the plan is recorded (a controller runs it)')
    .addOption(outputOption())
    .action(run(() => import('./commands/v1.js').then((m) => m.rollbackCommand)));
  const v1 = program.command('v1').description('The v1 hosts of a cluster (spec.v1).');
  v1.command('status')
    .description(
      "Each v1 host's unit state, since when, its last log lines, its health and peers; the proxy's view of v1 and v2; the last plan.",
    )
    .argument('<name>', 'cluster name')
    .option('-i, --identity <file>', 'SSH private key of spec.v1.ssh.privateKeySecret')
    .option('--secrets-dir <dir>', 'where <cluster>_<secret> key files are mounted', '/run/secrets')
    .option('--log-lines <n>', 'log lines per host (at most 50)', '5')
    .addOption(outputOption())
    .action(run(() => import('./commands/v1.js').then((m) => m.v1StatusCommand)));

  // ---- migrate: the v1 → v2 migration (spec.migration) ----
  const migrate = program
    .command('migrate')
    .description(
      'The v1 → v2 migration the controller drives toward spec.migration.targetPhase (v1-only, parallel, content-migrated, cutover, complete), one phase at a time behind entry gates and exit checks. Lower targetPhase and apply to walk back.',
    );
  migrate
    .command('status')
    .description(
      "Phase, target, the transition with every gate, step and exit check (value, pass or fail), each host's content import. Exit 0 at the target, 3 paused, 4 on its way.",
    )
    .argument('<name>', 'cluster name')
    .option('-w, --watch', 'follow it (a progress line) until it reaches the target or pauses')
    .option('--timeout <duration>', 'how long --watch follows it', '60m')
    .addOption(outputOption())
    .action(run(() => import('./commands/migrate.js').then((m) => m.migrateStatusCommand)));
  migrate
    .command('plan')
    .description('What the next transition will check and do, concretely; changes nothing.')
    .argument('<name>', 'cluster name')
    .addOption(outputOption())
    .action(run(() => import('./commands/migrate.js').then((m) => m.migratePlanCommand)));
  for (const [verb, what] of [
    ['pause', 'Hold the migration: no further step starts until resume.'],
    ['resume', 'Go on with a paused migration; a failed step runs again.'],
  ] as const) {
    migrate
      .command(verb)
      .description(what)
      .argument('<name>', 'cluster name')
      .addOption(outputOption())
      .action(
        run(() =>
          import('./commands/migrate.js').then(
            (m) => (name: string, opts: { output: 'text' | 'json' | 'yaml' }) => m.migrateVerbCommand(verb, name, opts),
          ),
        ),
      );
  }
  // -- migrate verify-log: the v1 logs' chain, offline.
  migrate
    .command('verify-log')
    .description(
      'Check exported v1 conversation logs (JSON lines of {index, timestamp, author, type, data, hash, prev_hash, signature}) offline, as the content-migrated phase does before importing: each hash is the SHA-256 of its entry, each prev_hash the hash of the entry before (the first one empty), indexes from 0 with no gap or repeat. Exit 0 when every log is intact, 1 with every break listed (file, line, index, reason), 2 when a file cannot be read.',
    )
    .argument('<file...>', 'exported log files (JSON lines)')
    .option('--max-line-bytes <n>', 'longest line accepted; a longer one is a break', String(1024 * 1024))
    .addOption(outputOption())
    .action(run(() => import('./commands/migrate-log.js').then((m) => m.verifyLogCommand)));
  // -- end of migrate verify-log

  // ---- backup: spec.backups run by hand (the controller runs them on schedule) ----
  const backup = program
    .command('backup')
    .description(
      "Encrypted, deduplicated backups of a cluster (spec.backups: swarm state, PostgreSQL, content) in its repository, run here under the repository's lock (no controller needed). The cluster is given by NAME (stored in the swarm) or -f FILE. The repository's age identity comes from -i FILE or <secrets-dir>/<cluster>_<identitySecret>. Progress: a bar on a terminal; with -o json, JSON lines on stderr and one result document on stdout. Exit 0 ok, 1 invalid input, 2 failed (a failed step, a verify that found problems, a drill that did not match).",
    );
  const common = (c: Command, argument = '[name]') =>
    c
      .argument(argument, 'cluster name (as stored in the swarm)')
      .option('-f, --filename <file>', 'the cluster from a spec file instead of the swarm')
      .option('-i, --identity <file>', "the repository's age identity (AGE-SECRET-KEY-1…) of spec.backups.identitySecret")
      .option('--secrets-dir <dir>', 'where <cluster>_<identitySecret> is mounted (without -i)', '/run/secrets')
      .addOption(outputOption());
  common(
    backup
      .command('create')
      .description(
        'Take a snapshot now (made on first use in spec.backups.repository), then verify and forget/prune as spec.backups says. Refused, naming the path, when the repository is not writable.',
      ),
  ).action(run(() => import('./commands/backup.js').then((m) => m.backupCreateCommand)));
  common(
    backup.command('list').description("The cluster's snapshots, oldest first: id, time, reason, parts, files, size, bytes added."),
  ).action(run(() => import('./commands/backup.js').then((m) => m.backupListCommand)));
  common(
    backup
      .command('verify')
      .description(
        'Check the repository: index, manifests, pack headers; with --read-data every pack decrypted and every chunk hashed (a bad one is named), or a share of them.',
      ),
  )
    .option('--read-data', 'read, decrypt and hash every pack')
    .option('--read-data-subset <percent>', 'read this share of the packs, e.g. 5%')
    .action(run(() => import('./commands/backup.js').then((m) => m.backupVerifyCommand)));
  common(
    backup
      .command('restore')
      .description(
        'Restore a snapshot: the whole cluster (swarm objects, secrets, PostgreSQL, content) or some parts of it, under the same name or a new one.',
      ),
  )
    .option('--snapshot <id>', 'snapshot id (or a unique prefix), or latest', 'latest')
    .option('--as <name>', 'restore as a new cluster of this name')
    .option('--only <parts>', 'restore only these parts, comma-separated: swarm, postgres, content')
    .action(run(() => import('./commands/backup.js').then((m) => m.backupRestoreCommand)));
  common(backup.command('prune').description('Forget snapshots spec.backups.retention does not keep, then remove the data only they used.'))
    .option('--dry-run', 'list what would be forgotten; change nothing')
    .action(run(() => import('./commands/backup.js').then((m) => m.backupPruneCommand)));
  common(
    backup
      .command('drill')
      .description(
        'Restore drill: the latest snapshot restored into a scratch stack, row counts and checksums compared with the live cluster, the scratch stack removed. Exit 0 when everything matches, 2 when not.',
      ),
    '<name>',
  ).action(run(() => import('./commands/backup.js').then((m) => m.backupDrillCommand)));

  const controller = program.command('controller').description('The reconciling controller.');
  controller
    .command('run')
    .description(
      'Run the controller: watch Docker events, spec changes and a periodic resync; undo drift; run rollouts (analysis, automatic rollback); serve /metrics, /healthz and POST /webhooks/alertmanager/<cluster>. Only the holder of the controller lease reconciles; a second controller stands by and takes over when the first stops renewing it.',
    )
    .option('--listen <addr>', 'HTTP address for /metrics and /healthz', '0.0.0.0:9464')
    .option('--resync <duration>', 'periodic full resync interval', '30s')
    .option('--workers <n>', 'concurrent reconciles (different clusters)', '2')
    .option('--no-probe-agents', "do not ask the agents for their health (when the controller is not on the clusters' networks)")
    .option(
      '--lease-ttl <duration>',
      'leader election: a controller that has not renewed the lease for this long is replaced by a standby one (renewed every third of it)',
      '15s',
    )
    .option('--secrets-dir <dir>', 'where mounted Docker secrets are (the Slack webhook URL, as <cluster>_<secret>)', '/run/secrets')
    .addOption(
      new Option(
        '--agents-via <how>',
        "how rollout analysis reaches the agents' /metrics without a Prometheus: network (service names on the cluster network, the controller runs in the swarm) or published-ports (127.0.0.1:<published health port>)",
      )
        .choices(['network', 'published-ports'])
        .default('network'),
    )
    .option(
      '--clusters <names>',
      "reconcile only these clusters, comma-separated (default: all): a controller of one's own on a swarm shared with others' clusters; the lease is still the swarm's one",
    )
    .action(run(() => import('./commands/controller.js').then((m) => m.controllerRunCommand)));

  const keys = program.command('keys').description('Role keys, the Shamir-split admin key and rotated secrets.');
  keys
    .command('generate')
    .description(
      'Generate age X25519 key pairs for the four roles and a 3-of-5 Shamir split of the admin key, as files under DIR. Nothing secret is printed.',
    )
    .requiredOption('--out <dir>', 'directory to write the keys to (created with mode 0700)')
    .option('--threshold <n>', 'shares needed to rebuild the admin key', '3')
    .option('--shares <n>', 'number of shares', '5')
    .option('--force', 'overwrite existing keys in DIR')
    .action(run(() => import('../agent/cli/keys.js').then((m) => m.keysGenerateCommand)));
  keys
    .command('status')
    .description(
      'Rotations of a cluster: age of each key and rotated secret, next rotation, last result, the run under way. No value is shown.',
    )
    .argument('<name>', 'cluster name')
    .addOption(outputOption())
    .action(run(() => import('./commands/keys.js').then((m) => m.keysStatusCommand)));
  keys
    .command('rotate')
    .description(
      'Ask the controller to rotate now: a secret with a rotate section (--secret NAME), a role key (--role R) or the admin key (--admin).',
    )
    .argument('<name>', 'cluster name')
    .option('--secret <name>', 'a secret of spec.secrets with rotate')
    .option('--role <role>', 'a role whose key to rotate')
    .option('--admin', 'the admin key and its Shamir split')
    .addOption(outputOption())
    .action(run(() => import('./commands/keys.js').then((m) => m.keysRotateCommand)));

  const agent = program.command('agent').description('The BZZZ agent runtime.');
  agent
    .command('run')
    .description(
      'Run a BZZZ agent: libp2p DHT + GossipSub, BLAKE3 content store, admin election, role crypto, HTTP API, health and metrics.',
    )
    .addOption(new Option('--data-dir <dir>', 'data directory (peer identity, content store)').env('BZZZ_DATA_DIR').default('./data'))
    .addOption(new Option('--p2p-port <port>', 'libp2p TCP port').env('BZZZ_P2P_PORT').default('9000'))
    .addOption(new Option('--api-port <port>', 'HTTP API port').env('BZZZ_API_PORT').default('8080'))
    .addOption(new Option('--health-port <port>', 'health and metrics port').env('BZZZ_HEALTH_PORT').default('8081'))
    .addOption(new Option('--host <addr>', 'address to listen on').env('BZZZ_HOST').default('0.0.0.0'))
    .addOption(new Option('--bootstrap <peers>', 'bootstrap peers: multiaddrs or host:port, comma-separated').env('BZZZ_BOOTSTRAP_PEERS'))
    .addOption(
      new Option('--cluster-size <n>', 'open clusters: number of agents (election quorum); a closed cluster counts its member list')
        .env('BZZZ_CLUSTER_SIZE')
        .default('1'),
    )
    .addOption(new Option('--role <role>', 'role this agent acts with').env('BZZZ_ROLE').default('observer'))
    .addOption(new Option('--keys-dir <dir>', 'directory with role keys (bzzzctl keys generate)').env('BZZZ_KEYS_DIR'))
    .addOption(new Option('--share-file <file>', "this agent's Shamir share of the admin key").env('BZZZ_SHAMIR_SHARE'))
    .addOption(
      new Option('--members <file>', 'member list (JSON written by the operator): only these peers may join, vote or hold content').env(
        'BZZZ_MEMBERS_FILE',
      ),
    )
    .addOption(
      new Option('--peer-key <file>', "this agent's libp2p Ed25519 private key (protobuf); default <data-dir>/peer.key").env(
        'BZZZ_PEER_KEY_FILE',
      ),
    )
    .addOption(new Option('--heartbeat-ms <ms>', 'admin heartbeat interval').env('BZZZ_HEARTBEAT_MS').default('5000'))
    .addOption(
      new Option('--election-timeout-ms <ms>', 'heartbeat silence that starts an election')
        .env('BZZZ_ELECTION_TIMEOUT_MS')
        .default('15000'),
    )
    .addOption(new Option('--replication-factor <n>', 'target replicas per blob').env('BZZZ_REPLICATION_FACTOR').default('3'))
    .addOption(new Option('--grace-ms <ms>', 'shutdown grace period on SIGTERM').env('BZZZ_SHUTDOWN_GRACE_MS').default('10000'))
    .addOption(
      new Option('--api-callers <file>', 'API callers file: SHA-256 of each caller token and its role (the operator writes it)').env(
        'BZZZ_API_CALLERS_FILE',
      ),
    )
    .addOption(
      new Option(
        '--insecure-open-cluster',
        'INSECURE: run without a member list and without API callers: ANY peer that reaches the P2P port joins, anyone reaching the API acts with the agent role (logged as a warning)',
      ).env('BZZZ_INSECURE_OPEN_CLUSTER'),
    )
    .addOption(
      new Option('--store-quota <size>', 'most bytes the content store holds, e.g. 20GiB (default: no quota)').env('BZZZ_STORE_QUOTA'),
    )
    .addOption(
      new Option('--store-reserve <size>', "free space always kept on the data disk (for the agent's own state)")
        .env('BZZZ_STORE_RESERVE')
        .default('256MiB'),
    )
    .addOption(
      new Option(
        '--fault <faults>',
        'TEST / CHAOS AID, off by default: make this agent a bad release, comma-separated: unhealthy (a failing critical health check: /health answers 503), errors or errors=PERCENT% (API requests answer 500 and count in bzzz_errors_total{component="http"}), slow=DURATION (API requests wait e.g. 300ms or 2s first), e.g. --fault unhealthy,slow=300ms',
      ).env('BZZZ_FAULT'),
    )
    .action(run(() => import('../agent/cli/run.js').then((m) => m.agentRunCommand)));

  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  program.exitOverride();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT_OK;
  } catch (err) {
    const e = err as { code?: string; exitCode?: number; message?: string };
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return EXIT_OK;
    if (typeof e.code === 'string' && e.code.startsWith('commander.')) return EXIT_INVALID;
    const { reportError } = await import('./report-error.js');
    return reportError(err);
  }
}
