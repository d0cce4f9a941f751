// One BZZZ agent: the parts built from the config, started in dependency order and stopped in
// reverse, under one lifecycle and one AbortSignal.
//
//   start: data dir + member list + peer identity → content store → role keys / share → libp2p node → blob
//          transfer, share service, pubsub → election → replication → HTTP API + health
//   stop:  API and readiness answer 503 → the admin hands off → in-flight requests finish (up to
//          the grace period) → replication, election, p2p and store close
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { errorMessage } from '../util/errors.js';
import { logger, type Logger } from '../util/log.js';
import { createAdminKeyHolder, type AdminKeyHolder } from './admin-key.js';
import { createContentStore, type ContentStore } from './cas/index.js';
import { systemClock, type Clock, type Timer } from '../util/clock.js';
import type { AgentConfig } from './config.js';
import type { MemberList } from '../crypto/membership.js';
import { loadRoleKeys, loadShare, type AdminKeyShare, type LoadedRoleKeys } from '../crypto/index.js';
import { createAdminShareService, type AdminShareService } from './share-exchange.js';
import { createDecisionService, type DecisionService } from './decisions.js';
import type { MemberRoles } from './decision-signature.js';
import { apiAccessFor } from './api-access.js';
import { apiGuard } from './http/auth.js';
import { DEFAULT_VERIFY_FIRST_BYTES } from './http/blob-routes.js';
import { createLimiter } from './http/limiter.js';
import type { HttpLimits } from './http/limits.js';
import { createSharedFetch } from './http/shared-fetch.js';
import {
  createBallots,
  createElection,
  createGossipsubElectionTransport,
  systemScoreProvider,
  type Ballots,
  type Election,
  type ElectionProof,
} from './election/index.js';
import { createHealthMonitor, type HealthMonitor } from './health/monitor.js';
import { diskCheck, dhtCheck, electionCheck, memoryCheck, peersCheck, pubsubCheck, storeCheck } from './health/checks.js';
import { healthRoutes } from './health/routes.js';
import { readMemory } from './health/memory.js';
import { apiFault, faultBegun, faultCheck } from './fault.js';
import { describeFault, faultActive } from './fault-spec.js';
import { blobRoutes } from './http/blob-routes.js';
import { decisionRoutes } from './http/decision-routes.js';
import { electionRoutes } from './http/election-routes.js';
import { createHttpServer, type HttpServer } from './http/server.js';
import { createAgentMetrics, type AgentMetrics } from './metrics.js';
import {
  COORDINATION_TOPIC,
  createAgentPubSub,
  createBlobFetcher,
  createBlobTransfer,
  createContentRouting,
  createP2PNode,
  createReplicator,
  loadOrCreatePeerKey,
  loadPeerKeyFile,
  loadMemberListFile,
  MembershipError,
  type AgentPubSub,
  type BlobFetcher,
  type BlobTransfer,
  type ContentRouting,
  type P2PNode,
  type Replicator,
} from './p2p/index.js';

export const AGENT_VERSION = '0.1.0';
/** Longest an upload's answer waits for its DHT announcement. */
const PROVIDE_WAIT_MS = 5_000;

/** Settings that are not flags of `bzzzctl agent run`: limits, and knobs tests turn down. */
export interface AgentOptions {
  clock?: Clock;
  log?: Logger;
  /** Time between replication rounds. Default 30 s. */
  replicationIntervalMs?: number;
  /** Largest blob accepted (HTTP upload or from a peer). Default 1 GiB. */
  maxBlobBytes?: number;
  /** Largest decision body. Default 1 MiB. */
  maxDecisionBytes?: number;
  bootstrapBackoffMs?: { min: number; max: number };
  /** Node.js process metrics (bzzz_process_*, bzzz_nodejs_*) in /metrics. Default true. */
  processMetrics?: boolean;
  /** Time between full re-hashes of the store (corrupted blobs are quarantined and fetched again). Default 6 h; 0 turns it off. */
  scrubIntervalMs?: number;
  /** Shares needed to rebuild the admin key when this agent holds no share to read it from. Default 3. */
  adminKeyThreshold?: number;
  /**
   * A member list given in code (src/crypto/membership.ts MemberList fits), used for decision
   * signers when the config names no member list file; the file (--members) wins when both are
   * given. Without either, only the insecure open mode runs (signers' claimed roles are taken).
   */
  members?: MemberRoles;
  /** HTTP timeouts and connection cap of the API and health servers. Defaults: DEFAULT_HTTP_LIMITS. */
  httpLimits?: Partial<HttpLimits>;
  /** Blob streams served at once, waiting requests, and how long one waits. Default 16, 256, 10 s. */
  blobDownloads?: { max?: number; maxQueued?: number; queueTimeoutMs?: number };
  /** Blob uploads at once (each holds a temp file) and waiting requests. Default 32, 64. */
  blobUploads?: { max?: number; maxQueued?: number; queueTimeoutMs?: number };
  /** Blobs up to this size are verified whole before they are sent. Default 1 MiB. */
  verifyFirstBytes?: number;
}

export interface Agent {
  readonly peerId: string;
  readonly config: AgentConfig;
  /** Aborted when the agent stops. */
  readonly signal: AbortSignal;
  start(): Promise<void>;
  /** Graceful stop: 503 for new requests, hand off admin, finish in-flight work within graceMs, close. */
  stop(opts?: { graceMs?: number; reason?: string }): Promise<void>;
  multiaddrs(): string[];
  apiUrl(): string;
  healthUrl(): string;
  /** Parts, for in-process use (tests, benchmarks, embedding). Valid after start(). */
  readonly parts: AgentParts;
}

export interface AgentParts {
  readonly node: P2PNode;
  readonly store: ContentStore;
  readonly routing: ContentRouting;
  readonly transfer: BlobTransfer;
  readonly fetcher: BlobFetcher;
  readonly replicator: Replicator;
  readonly pubsub: AgentPubSub;
  readonly election: Election;
  readonly decisions: DecisionService;
  readonly health: HealthMonitor;
  readonly metrics: AgentMetrics;
  readonly adminKey: AdminKeyHolder | undefined;
}

/** Builds an agent (nothing runs until start()). The peer identity is read or created here. */
export async function createAgent(givenConfig: AgentConfig, options: AgentOptions = {}): Promise<Agent> {
  let config = givenConfig;
  const clock = options.clock ?? systemClock;
  const log = options.log ?? logger('agent');
  const now = () => clock.now();
  const lifecycle = new AbortController();

  // Before anything else: an API nobody may call (or anyone may) is refused here, with the reason.
  const apiAccess = await apiAccessFor(config, log.child({ part: 'api' }));
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  // Closed membership: the member list decides who may connect, vote, publish and hold content.
  const members: MemberList | null = config.membersFile === undefined ? null : await loadMemberListFile(config.membersFile);
  const { privateKey, created } =
    config.peerKeyFile === undefined
      ? await loadOrCreatePeerKey(config.dataDir)
      : { privateKey: await loadPeerKeyFile(config.peerKeyFile), created: false };
  const selfMember = members?.get(peerIdFromPrivateKey(privateKey).toString());
  if (members !== null && selfMember === undefined) {
    throw new MembershipError(
      `this agent's peer ID ${peerIdFromPrivateKey(privateKey).toString()} is not on the member list ${config.membersFile} (cluster ${members.cluster}): give it its own key with --peer-key, or add it to the list`,
    );
  }
  if (selfMember !== undefined && selfMember.role !== config.role) {
    // The list is the operator's word on roles: an agent never acts with a role it was not given there.
    log.warn(
      { flagRole: config.role, listRole: selfMember.role },
      'the member list gives this agent another role than --role: the list wins',
    );
    config = { ...config, role: selfMember.role };
  }
  if (members === null && !config.insecureOpenCluster) {
    // parseAgentConfig refuses this; a config built in code must not open the cluster by omission.
    throw new MembershipError(
      'no member list (membersFile) and not --insecure-open-cluster: give the agent the member list, or open the cluster explicitly',
    );
  }
  // Decision signers are looked up in the same list (options.members: a list given in code).
  const decisionMembers: MemberRoles | undefined = members ?? options.members;
  if (members === null) {
    log.warn(
      { insecureOpenCluster: true },
      'cluster is OPEN (--insecure-open-cluster): any peer that reaches the P2P port can join, vote, publish and ask for content; give --members to close it',
    );
  }
  const isMember = members === null ? undefined : (peer: string) => members.has(peer);
  const clusterSize = members === null ? config.clusterSize : members.members.length;
  const ballots: Ballots | undefined = members === null ? undefined : createBallots(privateKey, members);
  const metrics = createAgentMetrics({ defaultMetrics: options.processMetrics ?? true });
  const faultBegins = faultBegun(config.fault, now(), now);
  if (faultActive(config.fault)) {
    log.warn(
      { fault: describeFault(config.fault) },
      'FAULT INJECTED (--fault / BZZZ_FAULT): this agent misbehaves on purpose, as a test or chaos aid',
    );
  }

  const node = await createP2PNode(
    {
      privateKey,
      host: config.host,
      port: config.p2pPort,
      bootstrap: config.bootstrap,
      members: members === null ? null : members.members.map((m) => m.peerId),
      bootstrapBackoffMs: options.bootstrapBackoffMs,
    },
    { clock, log: log.child({ part: 'p2p' }) },
  );
  const peerId = node.peerId;
  const libp2p = node.libp2p;
  log.info(
    { peerId, newIdentity: created, cluster: members?.cluster ?? null, members: members?.members.length ?? null, role: config.role },
    'agent identity',
  );

  const store = await createContentStore({
    root: join(config.dataDir, 'store'),
    log: log.child({ part: 'cas' }),
    clock,
    quotaBytes: config.storeQuotaBytes,
    reserveBytes: config.storeReserveBytes,
    onRefused: (reason) => metrics.storeRefusedTotal.inc({ reason }),
    onOperation: ({ op, outcome, ioErrors }) => {
      metrics.storeOperationsTotal.inc({ op, outcome });
      if (ioErrors === undefined) return;
      metrics.storeIoErrorsTotal.inc({ op, kind: ioErrors.kind }, ioErrors.count);
      // Corruption is counted there already, by the replicator's corruption listener.
      if (ioErrors.kind === 'errno') metrics.errorsTotal.inc({ component: 'store' }, ioErrors.count);
    },
  });
  let roleKeys: LoadedRoleKeys | undefined;
  let share: AdminKeyShare | undefined;
  try {
    roleKeys = config.keysDir === undefined ? undefined : await loadRoleKeys(config.keysDir, config.role);
    share = config.shareFile === undefined ? undefined : await loadShare(config.shareFile);
  } catch (err) {
    await store.close();
    throw err;
  }

  const maxBlobBytes = options.maxBlobBytes ?? 1024 ** 3;
  const routing = createContentRouting({
    dht: libp2p.services.dht,
    privateKey,
    selfPeerId: peerId,
    isMember,
    connectedPeerCount: () => libp2p.getPeers().length,
    metrics,
    log: log.child({ part: 'dht' }),
    now,
  });
  const pubsub = createAgentPubSub({ pubsub: libp2p.services.pubsub, isMember, metrics, log: log.child({ part: 'pubsub' }), now });
  const transfer = createBlobTransfer(
    {
      libp2p,
      store,
      metrics,
      log: log.child({ part: 'blob' }),
      isMember,
      onReplicated: (address) => routing.provide(address).catch(() => undefined),
    },
    { maxBlobBytes },
  );
  const fetcher = createBlobFetcher({
    store,
    routing,
    transfer,
    connectedPeers: () => node.connectedPeers(),
    metrics,
    log: log.child({ part: 'fetch' }),
  });
  const replicator = createReplicator(
    {
      store,
      routing,
      transfer,
      fetcher,
      selfPeerId: peerId,
      connectedPeers: () => node.connectedPeers(),
      isConnected: (p) => node.isConnected(p),
      metrics,
      clock,
      log: log.child({ part: 'replication' }),
    },
    { factor: config.replicationFactor, intervalMs: options.replicationIntervalMs ?? 30_000 },
  );
  const startedAt = now();
  // With the node, one-peer answers (acks, votes) go over a direct stream instead of GossipSub.
  const transport = createGossipsubElectionTransport({
    pubsub: libp2p.services.pubsub,
    libp2p,
    selfId: peerId,
    isMember,
    log: log.child({ part: 'election-transport' }),
  });
  const election = createElection({
    transport,
    selfId: peerId,
    clusterSize,
    heartbeatMs: config.heartbeatMs,
    timeoutMs: config.electionTimeoutMs,
    dataDir: config.dataDir,
    ballots,
    scoreProvider: systemScoreProvider({
      startedAt,
      now,
      capabilities: ['dht-server', ...(share ? ['shamir-share'] : []), ...(config.role === 'admin' ? ['admin'] : [])],
      connectedPeers: () => libp2p.getPeers().length,
    }),
    log: log.child({ part: 'election' }),
    onRefused: (reason) => metrics.p2pRejectedTotal.inc({ reason: `election_${reason}` }),
  });

  // A share goes only to the admin this agent follows now, and (closed cluster) only against the
  // signed votes of a majority of the member list for it in this agent's current term.
  const authorizeShareRequest = (peer: string, proof: ElectionProof | undefined): string | null => {
    if (!election.isAdmin(peer)) return 'the requester is not the admin this holder follows now';
    if (ballots === undefined) return null;
    if (proof === undefined) return 'the request carries no proof of election';
    const verdict = ballots.verifyProof(proof, peer, election.status().term);
    return verdict.ok ? null : verdict.reason;
  };

  const adminRecipient = share?.adminRecipient ?? roleKeys?.publicKeys.admin;
  const adminKey =
    adminRecipient === undefined
      ? undefined
      : createAdminKeyHolder(
          {
            libp2p,
            peers: () => node.connectedPeers(),
            isAdmin: () => election.isAdmin(),
            proof: () => election.proof(),
            clock,
            log: log.child({ part: 'admin-key' }),
          },
          {
            ownShare: share,
            adminRecipient,
            threshold: share?.threshold ?? options.adminKeyThreshold ?? 3,
            retryMs: config.heartbeatMs,
            roundTimeoutMs: Math.max(2_000, config.electionTimeoutMs),
          },
        );
  const shareService: AdminShareService | undefined =
    share === undefined
      ? undefined
      : createAdminShareService({
          libp2p,
          share,
          authorizeRequester: (peer, proof) => authorizeShareRequest(peer, proof),
          log: log.child({ part: 'admin-share' }),
        });

  const announce = async (address: string): Promise<void> => {
    // Bounded: an HTTP answer must not wait on a DHT query with nobody (or nobody responsive) to
    // ask; the replication round announces again.
    const provideSignal = AbortSignal.any([lifecycle.signal, AbortSignal.timeout(PROVIDE_WAIT_MS)]);
    const provided = libp2p.getPeers().length === 0 ? Promise.resolve() : routing.provide(address, provideSignal);
    await provided.catch((err: unknown) => {
      metrics.errorsTotal.inc({ component: 'dht' });
      log.debug({ address, err: errorMessage(err) }, 'provide failed; the replication round tries again');
    });
    replicator
      .ensure(address, lifecycle.signal)
      .catch((err: unknown) => log.debug({ address, err: errorMessage(err) }, 'replication after put failed; the next round tries again'));
  };
  // HTTP callers get their own abort signals; the peer fetch runs under the agent's lifecycle.
  const httpFetcher = createSharedFetch(fetcher, { lifecycle: lifecycle.signal, maxInflight: 64 });
  const decisions = createDecisionService({
    store,
    fetcher: httpFetcher,
    announce,
    notify: async (body) => {
      await pubsub.publish(COORDINATION_TOPIC, 'decision-published', body);
    },
    keys: () =>
      roleKeys === undefined
        ? undefined
        : { publicKeys: roleKeys.publicKeys, own: roleKeys.identity, admin: adminKey?.identity() ?? undefined },
    role: config.role,
    selfPeerId: peerId,
    privateKey,
    members: decisionMembers,
    metrics,
    log: log.child({ part: 'decisions' }),
    now,
  });

  const expectedPeers = clusterSize - 1;
  const health = createHealthMonitor(
    { metrics, log: log.child({ part: 'health' }), now },
    {
      checks: [
        peersCheck({ connected: () => libp2p.getPeers().length, expected: expectedPeers }),
        pubsubCheck({
          topic: COORDINATION_TOPIC,
          subscribers: () => pubsub.topicPeers(COORDINATION_TOPIC).length,
          expected: expectedPeers,
          received: () => pubsub.received()[COORDINATION_TOPIC] ?? 0,
        }),
        dhtCheck({
          routingTableSize: () => node.dhtRoutingTableSize(),
          expected: expectedPeers,
          lastRound: () => replicator.lastRound(),
          factor: config.replicationFactor,
        }),
        electionCheck({ status: () => election.status() }),
        storeCheck({ stats: () => store.stats(), repairs: () => replicator.repairs() }),
        diskCheck({ dir: config.dataDir }),
        memoryCheck({
          read: async () => {
            const m = await readMemory();
            metrics.memoryUsageBytes.set(m.usageBytes);
            metrics.memoryLimitBytes.set(m.limitBytes);
            metrics.memoryUsageRatio.set(m.limitBytes > 0 ? m.usageBytes / m.limitBytes : 0);
            return m;
          },
        }),
        ...(config.fault.unhealthy ? [faultCheck(config.fault, faultBegins)] : []),
      ],
    },
  );
  metrics.onCollect(async () => {
    metrics.connectedPeers.set(libp2p.getPeers().length);
    metrics.electionState.set(election.stateAsNumber());
    metrics.electionTerm.set(election.status().term);
    await health.report();
  });

  let started = false;
  let stopping: Promise<void> | undefined;
  const api: HttpServer = createHttpServer(
    { metrics, log: log.child({ part: 'api' }) },
    {
      name: 'api',
      host: config.host,
      port: config.apiPort,
      limits: options.httpLimits,
      guard: apiGuard(apiAccess, {
        onFailure: (reason, req) => {
          metrics.apiAuthFailuresTotal.inc({ reason });
          log.debug({ reason, remote: req.socket.remoteAddress, method: req.method }, 'API request refused before routing');
        },
      }),
      routes: [
        ...blobRoutes({
          store,
          fetcher: httpFetcher,
          announce,
          maxBlobBytes,
          verifyFirstBytes: options.verifyFirstBytes ?? DEFAULT_VERIFY_FIRST_BYTES,
          downloads: createLimiter({ what: 'blob downloads', max: 16, maxQueued: 256, queueTimeoutMs: 10_000, ...options.blobDownloads }),
          uploads: createLimiter({ what: 'blob uploads', max: 32, maxQueued: 64, queueTimeoutMs: 10_000, ...options.blobUploads }),
        }),
        ...decisionRoutes({ decisions, maxDecisionBytes: options.maxDecisionBytes ?? 1024 * 1024 }),
        ...electionRoutes({ election, role: config.role }),
      ],
      beforeHandler: apiFault(config.fault, faultBegins),
    },
  );
  const healthServer: HttpServer = createHttpServer(
    { metrics, log: log.child({ part: 'health-http' }) },
    {
      name: 'health',
      host: config.host,
      port: config.healthPort,
      limits: options.httpLimits,
      routes: healthRoutes({
        monitor: health,
        registry: metrics.registry,
        refresh: () => metrics.refresh(),
        peerId,
        startedAt,
        now,
        ready: () =>
          stopping ? { ready: false, reason: 'shutting down' } : started ? { ready: true } : { ready: false, reason: 'starting' },
      }),
    },
  );

  const offAdmin = election.on('admin-changed', (e) => {
    log.info({ admin: e.admin, previous: e.previous, term: e.term, self: e.isSelf }, 'admin changed');
    if (e.admin === peerId) adminKey?.becameAdmin();
    else if (e.previous === peerId) adminKey?.lostAdmin();
  });
  const offState = election.on('state-changed', (e) =>
    metrics.electionState.set(e.state === 'admin' ? 2 : e.state === 'candidate' ? 1 : 0),
  );

  // Agents publish who they are under /bzzz/<peer id>/agent once the DHT has someone to store it.
  let recordPublished = false;
  const publishRecord = (): void => {
    if (recordPublished || !started) return;
    recordPublished = true;
    const value = new TextEncoder().encode(
      JSON.stringify({
        role: config.role,
        version: AGENT_VERSION,
        apiPort: api.port(),
        healthPort: healthServer.port(),
        startedAt: new Date(startedAt).toISOString(),
      }),
    );
    routing.putRecord('agent', value, lifecycle.signal).catch((err: unknown) => {
      recordPublished = false;
      log.debug({ err: errorMessage(err) }, 'agent record not stored yet; retried on the next connection');
    });
  };
  const onConnect = (): void => publishRecord();

  // Integrity: a full re-hash now and then finds corruption in blobs nobody reads; the store
  // reports each one and the replicator fetches it again.
  const scrubIntervalMs = options.scrubIntervalMs ?? 6 * 60 * 60 * 1000;
  let scrubTimer: Timer | undefined;
  const scheduleScrub = (): void => {
    if (scrubIntervalMs <= 0 || lifecycle.signal.aborted) return;
    scrubTimer = clock.setTimeout(() => {
      store
        .scrub({ signal: lifecycle.signal })
        .then((r) => log.info({ checked: r.checked, corrupted: r.corrupted, bytes: r.bytes }, 'store scrub finished'))
        .catch((err: unknown) => log.warn({ err: errorMessage(err) }, 'store scrub failed'))
        .finally(scheduleScrub);
    }, scrubIntervalMs);
  };

  const parts: AgentParts = { node, store, routing, transfer, fetcher, replicator, pubsub, election, decisions, health, metrics, adminKey };

  async function closeAll(): Promise<void> {
    const steps: Array<[string, () => Promise<void> | void]> = [
      ['scrub', () => scrubTimer?.cancel()],
      ['replication', () => replicator.stop()],
      ['admin key', () => adminKey?.stop()],
      ['election', () => election.stop()],
      ['share service', () => shareService?.stop()],
      ['blob transfer', () => transfer.stop()],
      ['pubsub', () => pubsub.stop()],
      ['p2p', () => node.stop()],
      ['store', () => store.close()],
    ];
    for (const [name, step] of steps) {
      try {
        await step();
      } catch (err) {
        log.warn({ step: name, err: errorMessage(err) }, 'error while stopping');
      }
    }
  }

  const agent: Agent = {
    peerId,
    config,
    signal: lifecycle.signal,
    parts,
    async start() {
      try {
        await node.start();
        await transfer.start();
        await shareService?.start();
        pubsub.start();
        await election.start();
        replicator.start();
        scheduleScrub();
        libp2p.addEventListener('peer:connect', onConnect);
        await api.start();
        await healthServer.start();
        started = true;
        if (libp2p.getPeers().length > 0) publishRecord();
        log.info({ peerId, role: config.role, addrs: node.multiaddrs(), api: agent.apiUrl(), health: agent.healthUrl() }, 'agent started');
      } catch (err) {
        lifecycle.abort();
        await Promise.all([api.stop(0), healthServer.stop(0)]).catch(() => undefined);
        await closeAll();
        throw err;
      }
    },
    stop(opts = {}) {
      stopping ??= (async () => {
        const graceMs = opts.graceMs ?? config.graceMs;
        const deadline = now() + graceMs;
        log.info({ reason: opts.reason ?? 'stop', graceMs }, 'agent stopping: no new requests');
        api.drain();
        healthServer.drain();
        if (started && election.isAdmin()) {
          try {
            // Wait for the successor to be heard (at most half the grace period); alone, nobody can be.
            const waitMs = libp2p.getPeers().length === 0 ? 0 : Math.max(0, Math.min(graceMs / 2, config.electionTimeoutMs));
            const r = await election.stepDown({ waitMs });
            log.info({ handedOffTo: r.handedOffTo, newAdmin: r.newAdmin }, 'admin role handed off');
          } catch (err) {
            log.warn({ err: errorMessage(err) }, 'admin hand-off failed; the cluster elects a new admin by timeout');
          }
        }
        libp2p.removeEventListener('peer:connect', onConnect);
        await api.stop(Math.max(0, deadline - now()));
        lifecycle.abort();
        offAdmin();
        offState();
        await closeAll();
        await healthServer.stop(0);
        started = false;
        log.info('agent stopped');
      })();
      return stopping;
    },
    multiaddrs: () => node.multiaddrs(),
    apiUrl: () => `http://${urlHost(config.host)}:${api.port()}`,
    healthUrl: () => `http://${urlHost(config.host)}:${healthServer.port()}`,
  };
  return agent;
}

function urlHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}
